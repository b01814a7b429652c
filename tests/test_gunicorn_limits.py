"""Long addresses under gunicorn (issue 11, minor finding): a page or download with every
indicator id of the store in ``ind=`` (8.4 KB) is served, as the dev server serves it;
an address past the bound of gunicorn.conf.py is refused before the app, never served."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import sqlalchemy as sa

from tests.conftest import REPO, free_port


def _get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_every_indicator_id_in_one_address_is_served_by_gunicorn(tmp_path, store, engine):
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(sa.text("SELECT indicator_id FROM indicators ORDER BY 1"))]
        total = conn.execute(sa.text("SELECT count(*) FROM observations")).scalar()
        with_values = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT indicator_id FROM observations"))}
    joined = ",".join(ids)
    assert len(joined) > 8190  # longer than gunicorn's own highest bound
    port = free_port()
    env = {**os.environ, "PKPI_HOME": str(tmp_path), "PKPI_DB": str(store), "PKPI_WATCH": "0"}
    log = tmp_path / "gunicorn.log"
    # Started as the README says, from the repository: gunicorn reads gunicorn.conf.py there.
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                               "--timeout", "120", "wsgi:server"], cwd=REPO, env=env,
                              stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while not _alive(url):
            assert time.time() < deadline and server.poll() is None, log.read_text()
            time.sleep(0.5)
        status, body = _get(f"{url}/download/observations.csv?ind={joined}")
        assert status == 200, body[:300]
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8")[1:])))
        assert len(rows) == total and {r["indicator_id"] for r in rows} == with_values
        page = f"{url}/data?ind={joined}"  # a page address as long (the id list is reported, not a 414)
        status, body = _get(f"{url}/other?ind={joined}", headers={"Referer": page})
        assert status == 200 and b"_dash-config" in body
        status, _ = _get(f"{url}/download/observations.csv?ind={joined * 5}")
        assert status in (400, 414)  # past the bound: refused by gunicorn, never read whole
    finally:
        server.terminate()
        server.wait(timeout=30)


def _alive(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/updates/status.json", timeout=2)
        return True
    except OSError:
        return False
