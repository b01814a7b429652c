"""Issue 14 in the browser: a file is withdrawn without a shell (the request the Updates page
offers, filled in and saved into the inbox), its values leave the charts and the value it
revised comes back; the Updates page lists the withdrawal in both languages, names areas
rather than ids, and says plainly when nobody reads the inbox and how to file a file."""
from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request

import pytest
import sqlalchemy as sa

from data.engine import reader
from tests.conftest import start_server
from tests.intake_helpers import COUNT, new_home, obs, wait_until as _wait, workbook

NEW_QUOTE = "截至 2024 年 2 月，17 个特派团报告了数据"


def _status(url: str) -> dict:
    with urllib.request.urlopen(url + "/updates/status.json", timeout=20) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def curated_row(store):
    with reader(store).connect() as conn:
        return conn.execute(sa.text(
            "SELECT indicator_id, area, period, value, source_id, locator, quote FROM observations "
            "WHERE indicator_id = 'fatalities_malicious_acts' AND span_class = 'partial' "
            "ORDER BY period_end DESC LIMIT 1")).one()


def _chart_values(page, url: str, row) -> list:
    page.goto(f"{url}/fatalities?ind={row.indicator_id}&sel=2023-01-01/2023-08-29")
    page.wait_for_selector(".chart-block .main-svg")
    return page.evaluate("() => document.querySelector('.chart-block .js-plotly-plot').data.flatMap(t => t.y)")


def _panel(page, url: str) -> str:
    page.goto(f"{url}/cpas?ind={COUNT['indicator_id']}&sel=2024-02-01/2024-02-29")
    page.locator(".source-panel").wait_for()
    page.wait_for_timeout(500)
    return page.inner_text(".source-panel")


def test_a_file_withdrawn_from_the_inbox_leaves_the_charts(tmp_path, store, curated_row, page, console_errors):
    row = curated_row
    home = new_home(tmp_path, store)
    proc, url, log = start_server(home, {"PKPI_WATCH": None, "PKPI_POLL_SECONDS": "1"})
    try:
        staged = workbook(tmp_path / "mixed.xlsx", [
            obs(value=17, quote=NEW_QUOTE),
            obs(indicator_id=row.indicator_id, area=row.area, period=row.period, value=row.value + 1,
                unit="count", source_id=row.source_id, locator=row.locator, quote=row.quote, revision="yes",
                period_label=None)])
        os.replace(staged, home / "dropbox" / "inbox" / "mixed.xlsx")
        assert _wait(lambda: [r["status"] for r in _status(url)["recent"]][:1] == ["accepted"], 15), \
            log.read_text()[-2000:]
        assert NEW_QUOTE in _panel(page, url)
        values = _chart_values(page, url, row)
        assert row.value + 1 in values and row.value not in values

        # The request as the Updates page offers it, filled in and saved into the inbox.
        page.goto(url + "/updates")
        link = page.locator("[id^=updates-withdraw-]")
        with page.expect_download() as download:
            link.click()
        text = open(download.value.path(), encoding="utf-8-sig").read()
        assert text.startswith("withdraw ") and "mixed.xlsx" in text.splitlines()[0]
        request = tmp_path / "withdraw.txt"
        request.write_text(text.replace("reason: ", "reason: the export was a draft", 1), encoding="utf-8")
        shutil.move(request, home / "dropbox" / "inbox" / "withdraw.txt")
        assert _wait(lambda: [r["status"] for r in _status(url)["recent"]][:1] == ["withdrawal"], 15), \
            log.read_text()[-2000:]

        assert NEW_QUOTE not in _panel(page, url)  # the new value has left the current view
        values = _chart_values(page, url, row)
        assert row.value in values and row.value + 1 not in values  # the revised value is back

        page.goto(url + "/updates")
        withdrawals = page.locator("#updates-withdrawals")
        withdrawals.wait_for()
        listed = withdrawals.inner_text()
        assert "the export was a draft" in listed and "mixed.xlsx" in listed
        assert "Values no longer shown: 1." in listed and "Values back to what they were before the file: 1." in listed
        assert "by a request saved into the inbox (accepted/" in listed
        files = page.inner_text("#updates-files")
        assert "Withdrawal request withdraw.txt" in files and "withdrawn " in files
        page.locator("summary", has_text="Accepted mixed.xlsx" if "lang=zh" not in page.url else "已接受 mixed.xlsx").click()
        table = page.inner_text("[id^=updates-values-]")
        assert "All UN peacekeeping operations" in table and "; withdrawn 20" in table
        assert "all_pko" not in page.inner_text("main")  # no raw ids
        page.screenshot(path=str(tmp_path / "updates-withdrawal-en.png"), full_page=True)

        page.goto(url + "/updates?lang=zh")
        page.locator("#updates-withdrawals").wait_for()
        listed = page.inner_text("#updates-withdrawals")
        assert "不再显示的数值：1 个。" in listed and "恢复为此文件之前数值的：1 个。" in listed
        assert "收件箱由" in page.inner_text("#updates-reading")
        page.locator("summary", has_text="Accepted mixed.xlsx" if "lang=zh" not in page.url else "已接受 mixed.xlsx").click()
        assert "所有联合国维持和平行动" in page.inner_text("[id^=updates-values-]")
        page.screenshot(path=str(tmp_path / "updates-withdrawal-zh.png"), full_page=True)
        assert not console_errors
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_with_reading_off_the_page_says_so_and_how_to_file(tmp_path, store, page):
    home = tmp_path / "off"
    home.mkdir()
    shutil.copyfile(store, home / "pkpi.duckdb")
    proc, url, log = start_server(home, {"PKPI_WATCH": "0", "PKPI_POLL_SECONDS": "1"})
    try:
        for name in ("inbox", "accepted", "rejected"):  # made by the first start, reading or not
            assert (home / "dropbox" / name).is_dir()
        workbook(home / "dropbox" / "inbox" / "waiting.xlsx", [obs()])
        page.goto(url + "/updates")
        item = page.locator("#updates-inbox li")
        item.wait_for()
        reading = page.inner_text("#updates-reading")
        assert reading.startswith("Reading is off (PKPI_WATCH=0)") and "python manage.py ingest" in reading
        assert item.get_attribute("data-reason") == "off"
        assert "waiting.xlsx: waiting: nobody is reading the inbox now" in item.inner_text()
        page.screenshot(path=str(tmp_path / "updates-off-en.png"), full_page=True)
        page.goto(url + "/updates?lang=zh")
        page.locator("#updates-inbox li").wait_for()
        assert page.inner_text("#updates-reading").startswith("自动读取已关闭（PKPI_WATCH=0）")
        page.screenshot(path=str(tmp_path / "updates-off-zh.png"), full_page=True)
        time.sleep(3)
        assert (home / "dropbox" / "inbox" / "waiting.xlsx").exists()  # nothing read it
    finally:
        proc.terminate()
        proc.wait(timeout=10)
