"""Security headers on every response, and the site working under its Content-Security-Policy
in Chromium (issue 11, minor finding): a policy that allowed everything, or one that broke
the charts, would both fail here."""
from __future__ import annotations

import base64
import hashlib
import re
import urllib.error
import urllib.request

from tests.browser import click_point


def _open(url: str, data: bytes | None = None):
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        r = urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as e:
        r = e
    return r.status if hasattr(r, "status") else r.code, dict(r.headers), r.read()


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_every_kind_of_response_carries_the_headers(server):
    for path, data, status in (("/", None, 200), ("/fatalities?asof=2023-09-30", None, 200),
                               ("/download/observations.csv?family=women", None, 200),
                               ("/download/observations.json?asof=nope", None, 400),
                               ("/no-such-page", None, 404), ("/_dash-layout", None, 200),
                               ("/_dash-update-component", b"{", 400), ("/updates/status.json", None, 200)):
        got, headers, _body = _open(server + path, data)
        assert got == status, path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Referrer-Policy"] == "same-origin", path
        csp = _directives(headers["Content-Security-Policy"])
        assert csp["frame-ancestors"] == ["'none'"], path
        assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"], path
        scripts = csp["script-src"]
        assert scripts[0] == "'self'" and all(s.startswith("'sha256-") for s in scripts[1:]), path
        assert "'unsafe-eval'" not in scripts and "'unsafe-inline'" not in scripts, path


def test_each_inline_script_of_the_page_is_allowed_by_its_hash(server):
    _status, headers, body = _open(server + "/")
    allowed = set(_directives(headers["Content-Security-Policy"])["script-src"][1:])
    # (HTML comments left out: Dash's Internet Explorer notice is in one and never runs)
    inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>",
                        re.sub(r"<!--.*?-->", "", body.decode("utf-8"), flags=re.S), flags=re.S)
    assert inline  # Dash's renderer start at least
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in allowed, script[:80]
    # and a script the page does not have is not allowed
    digest = base64.b64encode(hashlib.sha256(b"alert(1)").digest()).decode()
    assert f"'sha256-{digest}'" not in allowed


def test_pages_charts_and_the_source_panel_work_under_the_policy(server, browser):
    # A context of its own: the other browser tests bypass the policy (conftest.py).
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=False)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    violations = []
    page.expose_function("pkpiViolation", lambda text: violations.append(text))
    page.add_init_script("document.addEventListener('securitypolicyviolation', "
                         "e => window.pkpiViolation(e.violatedDirective + ' ' + e.blockedURI));")
    for path in ("/", "/data", "/sources", "/brief", "/updates", "/women?lang=zh"):
        page.goto(server + path)
        page.locator("#_pages_content h1").first.wait_for()
        page.wait_for_load_state("networkidle")
    page.goto(server + "/fatalities")
    page.locator(".chart-block .main-svg").first.wait_for()
    assert page.locator(".chart-block .scatterlayer .points path").count() > 3  # Plotly drew
    click_point(page, 0, -1)
    panel = page.locator("[id*='\"role\":\"panel\"']").first
    panel.get_by_text("The value you clicked").wait_for()
    assert "para" in panel.inner_text()  # the citation is listed
    context.close()
    assert not violations, violations
    assert not problems, problems
