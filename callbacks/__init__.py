"""Callbacks, one module per page, mirroring ``layouts/``. Importing registers them."""
from callbacks import data, family  # noqa: F401
