"""The data layer stands on its own: nothing in ``data/`` imports the packages above it.

``data/`` (the store, its schema, the intake, the exports) is what a second store, the
command line and the watcher build on; the registry, the callbacks and the pages sit above
it (issue 16). An import the other way ties the store to the pages and makes cycles, so it
is refused here: every import statement of every module under ``data/`` is read (with
``ast``, including imports inside functions), and so are ``manage.py``'s, whose commands
(build, ingest, watch, export, template, withdraw) are the data layer's too.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ABOVE_DATA = ("indicators", "callbacks", "layouts", "app", "wsgi")


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import in ``source``, wherever it stands (top level, inside a
    function, under ``if TYPE_CHECKING``), and of ``importlib.import_module("...")`` calls."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def upward(source: str, above=ABOVE_DATA) -> list[tuple[int, str]]:
    return [(line, name) for line, name in imported_modules(source) if name.split(".")[0] in above]


def test_the_check_sees_every_form_of_import():
    source = ("import indicators.query\n"
              "from indicators import vocabulary as vocab\n"
              "def f():\n    from callbacks.routes import x\n"
              "if True:\n    import layouts.data, json\n"
              "importlib.import_module('indicators.i18n')\n"
              "from data import schema\nfrom . import sibling\nimport indicatorsx\n")
    assert upward(source) == [(1, "indicators.query"), (2, "indicators"), (4, "callbacks.routes"),
                              (6, "layouts.data"), (7, "indicators.i18n")]


def _data_modules() -> list[Path]:
    return sorted(p for p in (ROOT / "data").rglob("*.py") if "__pycache__" not in p.parts)


def test_it_reads_the_whole_data_package():
    names = {p.relative_to(ROOT).as_posix() for p in _data_modules()}
    # the modules that imported indicators/ before the move, and a module of the subpackage
    assert {"data/export.py", "data/curated.py", "data/template.py", "data/withdraw.py",
            "data/intake/rules.py", "data/selection.py", "data/vocabulary.py"} <= names
    assert len(names) >= 30


@pytest.mark.parametrize("path", _data_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_data_imports_nothing_above_it(path):
    bad = upward(path.read_text(encoding="utf-8"))
    assert not bad, (f"{path.relative_to(ROOT)} imports {bad}: data/ must not depend on "
                     f"{', '.join(ABOVE_DATA)}; move what it needs into data/")


def test_manage_data_commands_import_nothing_from_the_pages():
    bad = upward((ROOT / "manage.py").read_text(encoding="utf-8"))
    assert not bad, f"manage.py imports {bad}"
