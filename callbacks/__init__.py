"""Callbacks, one module per page, mirroring ``layouts/``, plus plain HTTP routes.

``load()`` imports the page modules (which register their callbacks with
``@dash.callback``); it is called by ``app.py`` once the pages exist. Importing this package
alone registers nothing, so ``callbacks.routes`` can be used without a Dash app.
"""
import importlib

PAGE_MODULES = ("shell", "family", "data", "brief", "updates")


def load() -> None:
    for name in PAGE_MODULES:
        importlib.import_module(f"callbacks.{name}")
