"""Every setting is documented (the README's settings table), and the table is the truth."""
import subprocess
import sys
from pathlib import Path

from data import settings

REPO = Path(__file__).resolve().parent.parent


def test_every_setting_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [s.name for s in settings.SETTINGS if f"`{s.name}`" not in readme]
    assert not missing, f"undocumented settings: {missing}"


def test_environment_overrides_default(monkeypatch, tmp_path):
    monkeypatch.setenv("PKPI_HOME", str(tmp_path))
    monkeypatch.delenv("PKPI_DB", raising=False)
    assert settings.db_path() == tmp_path / "pkpi.duckdb"
    monkeypatch.setenv("PKPI_DB", "rel/x.duckdb")
    assert settings.db_path() == REPO / "rel" / "x.duckdb"


def test_every_manage_command_has_help():
    for command in ("build", "check", "export", "settings", "ingest", "watch", "withdraw", "template"):
        done = subprocess.run([sys.executable, "manage.py", command, "--help"], cwd=REPO,
                              capture_output=True, text=True)
        assert done.returncode == 0 and "usage: python manage.py " + command in done.stdout


def test_the_readme_gives_each_default_as_the_code_has_it():
    """The settings table's default column is the code's default (where the code has one;
    an empty default is described in words, e.g. `$PKPI_HOME/pkpi.duckdb`)."""
    import re
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `(PKPI_\w+)` \| `([^`]*)` \|", readme, re.MULTILINE))
    wrong = {s.name: (table.get(s.name), s.default) for s in settings.SETTINGS
             if s.default and table.get(s.name) != s.default}
    assert not wrong, f"README default differs from data/settings.py: {wrong}"


def test_the_inbox_is_read_unless_turned_off(monkeypatch):
    monkeypatch.delenv("PKPI_WATCH", raising=False)
    assert settings.watch_enabled()
    for off in ("0", "no", "off", "false"):
        monkeypatch.setenv("PKPI_WATCH", off)
        assert not settings.watch_enabled()
