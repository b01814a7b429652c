"""Callbacks, one module per page, mirroring ``layouts/``. Importing registers them."""
