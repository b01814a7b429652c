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
    for command in ("build", "check", "export", "settings"):
        done = subprocess.run([sys.executable, "manage.py", command, "--help"], cwd=REPO,
                              capture_output=True, text=True)
        assert done.returncode == 0 and "usage: python manage.py " + command in done.stdout
