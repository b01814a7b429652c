"""Dash pages: each module registers itself and defines ``layout(**query)``."""
