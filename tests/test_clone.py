"""A clone of the repository alone builds, checks and serves: the report texts (PKPI_SEEDS)
sit beside the project where it is developed, not in it."""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from data.build import build
from data.curated import CURATED
from tests.conftest import REPO, start_server


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def test_build_without_texts_says_once_that_quotes_were_not_checked(tmp_path):
    said: list[str] = []
    counts = build(tmp_path / "pkpi.duckdb", seeds=tmp_path / "nowhere", say=said.append)
    assert counts["observations"] > 250
    assert len(said) == 1
    assert "NOT re-checked" in said[0] and str(tmp_path / "nowhere") in said[0]
    assert "python manage.py check" in said[0]


def test_build_without_texts_still_checks_each_value_against_its_quote(tmp_path):
    from data.curated import CurationError
    folder = tmp_path / "curated"
    shutil.copytree(CURATED, folder, ignore=shutil.ignore_patterns("_proposed"))
    path = folder / "observations" / "s-2023-646.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows[0]["value"] = "987654"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys(), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(CurationError) as info:
        build(tmp_path / "pkpi.duckdb", folder=folder, seeds=tmp_path / "nowhere", say=lambda m: None)
    assert [i.code for i in info.value.issues] == ["value-mismatch"]
    assert not (tmp_path / "pkpi.duckdb").exists()


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The repository's files as a commit would hold them, nothing beside them: no .venv, no
    instance/, no ../shared/seeds."""
    try:
        names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                               cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: cannot list the repository's files")
    target = tmp_path_factory.mktemp("clone") / "pkpi"
    for name in filter(None, names):
        source = REPO / name
        if source.is_file() and not name.startswith(".venv"):
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not (target.parent / "shared").exists()
    return target


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PKPI_SEEDS", "PKPI_DB", "PKPI_HOME")}
    return {**env, "PKPI_HOME": str(home), **extra}


def test_clone_alone_builds_and_checks_with_the_default_setting(clone, tmp_path):
    """No PKPI_SEEDS at all: the default ../shared/seeds is not beside the clone."""
    run = subprocess.run([sys.executable, "manage.py", "build"], cwd=clone, env=_env(tmp_path),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"built {tmp_path / 'pkpi.duckdb'}: 5 sources")
    assert run.stderr.count("Quotes were NOT re-checked") == 1, run.stderr
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=clone, env=_env(tmp_path),
                           capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stderr
    assert "quotes NOT compared with the reports" in check.stdout
    assert "Quotes were NOT re-checked" in check.stderr


def test_clone_alone_serves(clone, tmp_path):
    nowhere = tmp_path / "no-such-folder"
    proc, url, log = start_server(tmp_path / "home", {"PKPI_SEEDS": str(nowhere)}, cwd=clone)
    try:
        status, html = _get(url + "/fatalities")
        assert status == 200 and "Peacekeeping Performance Indicators" in html
        status, body = _get(url + "/download/observations.csv?family=women")
        assert status == 200
        rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
        assert rows and {r["family"] for r in rows} == {"women"}
        assert all(r["quote"] and r["locator"] for r in rows)
        status, layout = _get(url + "/_dash-layout")
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    text = log.read_text()
    assert text.count("Quotes were NOT re-checked") == 1, text
    assert str(nowhere) in text
