"""Issue 11: the inbox's folder and the names of the files in and through it were public on
the Updates page. They are for staff (``PKPI_STAFF_NETWORKS``, ``data/access.py``): every
other visitor sees counts and the accepted values with their citations, in the page, its
refresh, ``/updates/status.json`` and the withdrawal-request route."""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest
from werkzeug.datastructures import Headers

from data import access
from data.dropbox import process
from tests.conftest import start_server
from tests.intake_helpers import new_home, obs, workbook

STAFF_NET = "10.99.0.0/16"
STAFF_IP = "10.99.1.5"
SECRET_CELL = "SECRETCELL"


# --- Who is staff ----------------------------------------------------------------------------

@pytest.mark.parametrize("env, peer, headers, staff", [
    ({}, "127.0.0.1", {}, True),  # the default: this computer
    ({}, "::1", {}, True),
    ({}, "192.168.1.7", {}, False),
    ({}, "127.0.0.1", {"X-Forwarded-For": "192.168.1.7"}, False),  # behind a proxy nobody said to trust
    ({}, "127.0.0.1", {"X-Forwarded-For": "127.0.0.1"}, False),  # the header alone proves nothing
    ({"PKPI_STAFF_NETWORKS": STAFF_NET}, "127.0.0.1", {}, False),
    ({"PKPI_STAFF_NETWORKS": STAFF_NET}, "10.99.200.1", {}, True),
    ({"PKPI_STAFF_NETWORKS": f"{STAFF_NET}, 192.168.1.20"}, "192.168.1.20", {}, True),
    ({"PKPI_STAFF_NETWORKS": STAFF_NET}, "::ffff:10.99.0.3", {}, True),
    ({"PKPI_STAFF_NETWORKS": STAFF_NET, "PKPI_TRUSTED_PROXIES": "127.0.0.1"}, "127.0.0.1",
     {"X-Forwarded-For": STAFF_IP}, True),
    ({"PKPI_STAFF_NETWORKS": STAFF_NET, "PKPI_TRUSTED_PROXIES": "127.0.0.1"}, "127.0.0.1",
     {"X-Forwarded-For": f"{STAFF_IP}, 203.0.113.9"}, False),  # the client is the last untrusted hop
    ({"PKPI_STAFF_NETWORKS": STAFF_NET, "PKPI_TRUSTED_PROXIES": "127.0.0.1"}, "203.0.113.9",
     {"X-Forwarded-For": STAFF_IP}, False),  # said by someone who is not the proxy
    ({"PKPI_STAFF_NETWORKS": STAFF_NET, "PKPI_TRUSTED_PROXIES": "127.0.0.1"}, "127.0.0.1",
     {"Forwarded": f'for="{STAFF_IP}:4711";proto=https'}, True),
    ({"PKPI_STAFF_NETWORKS": STAFF_NET, "PKPI_TRUSTED_PROXIES": "127.0.0.1"}, "127.0.0.1",
     {"X-Forwarded-For": "not an address"}, False),
])
def test_who_is_staff(monkeypatch, env, peer, headers, staff):
    for name in ("PKPI_STAFF_NETWORKS", "PKPI_TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert access.is_staff(peer, Headers(headers)) is staff


def test_a_mistaken_setting_names_itself(monkeypatch):
    monkeypatch.setenv("PKPI_STAFF_NETWORKS", "10.0.0.0/8, office")
    with pytest.raises(ValueError, match="PKPI_STAFF_NETWORKS: 'office' is not an address"):
        access.is_staff("10.1.1.1", Headers())


@pytest.mark.parametrize("name", ["PKPI_STAFF_NETWORKS", "PKPI_TRUSTED_PROXIES"])
def test_a_mistaken_setting_stops_the_server_before_it_starts(tmp_path, name):
    """Not a 500 on the Updates page at its first request: the server does not start, and
    says which setting and which part of it is wrong (before building anything)."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import free_port
    env = {**os.environ, "PKPI_HOME": str(tmp_path), name: "10.0.0.0/8, office"}
    env.pop("PKPI_DB", None)
    env.pop("PKPI_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "app.py", "--port", str(free_port())], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip() == (f"not started: setting {name}: 'office' is not an address or an address range "
                                   f"(write 10.0.0.0/8 or 192.168.1.20)"), done.stderr[-2000:]
    assert not (tmp_path / "pkpi.duckdb").exists()


# --- The page and its routes, served -------------------------------------------------------

def _get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def served(tmp_path_factory, store):
    """A dashboard over a drop folder that accepted one file, refused one and has one
    waiting (reading off), whose staff are 10.99.0.0/16 behind a proxy on this computer."""
    tmp = tmp_path_factory.mktemp("staff")
    home = new_home(tmp, store)
    os.environ["PKPI_HOME"] = str(home)
    try:
        inbox = home / "dropbox" / "inbox"
        accepted = process(workbook(inbox / "cpas-accepted-draft.xlsx", [obs()]))
        rejected = process(workbook(inbox / "secret-refused.xlsx", [obs(value=SECRET_CELL)]))
        assert (accepted.status, rejected.status) == ("accepted", "rejected")
        workbook(inbox / "waiting-confidential.xlsx", [obs()])
    finally:
        del os.environ["PKPI_HOME"]
    proc, url, log = start_server(home, {"PKPI_WATCH": "0", "PKPI_STAFF_NETWORKS": STAFF_NET,
                                         "PKPI_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        yield home, url, accepted
    finally:
        proc.terminate()
        proc.wait(timeout=20)


NAMES = ("cpas-accepted-draft", "secret-refused", "waiting-confidential", SECRET_CELL)


def test_status_json_gives_the_public_counts_and_staff_the_names(served):
    home, url, accepted = served
    code, body = _get(url + "/updates/status.json")
    public = json.loads(body)
    assert code == 200 and public["inbox"] == 1
    assert public["files"] == {"accepted": 1, "rejected": 1}
    assert [r["status"] for r in public["recent"]] == ["rejected", "accepted"]
    assert public["recent"][0]["error_count"] == 1
    assert not any(name in body.decode() for name in NAMES) and str(home) not in body.decode()
    assert "pid" not in public["reading"] and "host" not in public["reading"]
    code, body = _get(url + "/updates/status.json", {"X-Forwarded-For": STAFF_IP})
    staff = json.loads(body)
    assert staff["inbox"] == ["waiting-confidential.xlsx"]
    assert [r["original_name"] for r in staff["recent"]] == ["secret-refused.xlsx", "cpas-accepted-draft.xlsx"]


def test_a_withdrawal_request_is_for_staff_only(served):
    _home, url, accepted = served
    code, body = _get(f"{url}/download/withdraw/{accepted.intake_id}.txt")
    assert code == 403 and b"cpas-accepted-draft" not in body and b"PKPI_STAFF_NETWORKS" in body
    code, body = _get(f"{url}/download/withdraw/{accepted.intake_id}.txt", {"X-Forwarded-For": STAFF_IP})
    assert code == 200 and b"cpas-accepted-draft.xlsx" in body
    # And no route serves the drop folder's files.
    for path in ("/dropbox/rejected/", "/rejected/", f"/download/rejected/{accepted.intake_id}"):
        assert _get(url + path)[0] == 404


def _updates(page, url: str, lang: str) -> str:
    page.goto(f"{url}/updates" + ("?lang=zh" if lang == "zh" else ""))
    page.locator("#updates-files").wait_for()
    page.wait_for_timeout(3500)  # one refresh of the page's content (every 3 s) has come too
    return page.inner_text("main") if page.locator("main").count() else page.inner_text("body")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_public_page_shows_counts_and_accepted_values_and_no_names(served, page, console_errors, lang):
    home, url, _accepted = served
    page.set_viewport_size({"width": 1400, "height": 1000})
    text = _updates(page, url, lang)
    for secret in (*NAMES, str(home), "Kept as", "保存为"):
        assert secret not in text, secret
    assert page.locator("#updates-inbox-path").count() == 0
    assert page.locator("[id^=updates-errors-]").count() == 0
    assert page.locator("[id^=updates-withdraw-]").count() == 0
    if lang == "en":
        assert "Files waiting to be read: 1. Their names are shown to staff only." in text
        assert "Not loaded: 1 problem found, so nothing from this file was added." in text
        assert "Accepted. New values: 1; revised values: 0." in text
    else:
        assert "等待读取的文件：1 个。文件名仅向工作人员显示。" in text
        assert "未载入：发现 1 个问题，因此此文件的内容均未添加。" in text
    # The accepted value with its citation and quote is public (the older file, opened).
    page.locator("[id^=updates-file-]").nth(1).locator("summary").click()
    values = page.locator("[id^=updates-values-]")
    assert "CPAS export, March 2024, row 2" in values.inner_text()
    assert "12 个特派团通过系统报告了数据" in values.inner_text()
    # The page keeps no name in the browser either (its refresh signature is a digest).
    assert not any(name in page.content() for name in NAMES)
    assert console_errors == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_staff_see_the_inbox_and_every_name(served, page, console_errors, lang):
    home, url, _accepted = served
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_extra_http_headers({"X-Forwarded-For": STAFF_IP})
    text = _updates(page, url, lang)
    assert page.inner_text("#updates-inbox-path") == str(home / "dropbox" / "inbox")
    assert "waiting-confidential.xlsx" in page.inner_text("#updates-inbox")
    assert "secret-refused.xlsx" in text and "cpas-accepted-draft.xlsx" in text
    # The newest file (the refused one) is open: its problems quote its cell.
    errors = page.locator("[id^=updates-errors-]").inner_text()
    assert f"'{SECRET_CELL}' is text, not a number." in errors or f"“{SECRET_CELL}”是文本，不是数字。" in errors
    assert "Kept as rejected/" in text or "保存为 rejected/" in text
    assert console_errors == []
