"""Servers, callbacks over HTTP and pages in Chromium, on loopback only.

The dashboard runs under gunicorn with two workers (``wsgi:server``), the way it is served in
production; the minimal one-graph page (``bench.minimal_app``) runs beside it. Callback
requests are the ones Chromium sends: the benchmark opens the page, changes a filter,
records the request body, and replays it with the year changed each time (so that no two
consecutive requests ask for the same frame). Every loop is bounded in count and time.
"""
from __future__ import annotations

import copy
import gzip
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.measure import REPO, Budget, summarize

CHROMIUM = "/usr/bin/chromium"
HOST = "127.0.0.1"  # loopback only


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Gunicorn:
    """``gunicorn -w N APP`` on a free loopback port, its log in ``log``."""

    def __init__(self, app: str, env: dict, log: Path, workers: int = 2, worker_class: str = "sync",
                 threads: int = 1):
        self.app, self.env, self.log, self.workers = app, env, log, workers
        self.worker_class, self.threads = worker_class, threads
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> "Gunicorn":
        env = {k: v for k, v in os.environ.items() if k != "PKPI_DB"}
        env.update(self.env)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-k", self.worker_class,
             "--threads", str(self.threads), "-b", f"{HOST}:{self.port}",
             "--timeout", "300", "--graceful-timeout", "5", self.app],
            cwd=REPO, env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        return self

    def wait(self, path: str = "/", timeout: float = 180) -> float:
        """Seconds from start until ``path`` answers 200."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited: {self.log.read_text()[-3000:]}")
            try:
                status, _, _ = get(self.url + path, timeout=5)
                if status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.app} did not answer in {timeout} s: {self.log.read_text()[-3000:]}")

    def settle(self, timeout: float = 90) -> float:
        """Seconds until every worker is up and idle (``wait`` returns when the first one
        answers; the others may still be importing and warming up, and a measurement started
        then would run on fewer workers): all ``workers`` children exist and none used more
        than 20 ms of CPU over the last 0.3 s."""
        t0 = time.perf_counter()

        def cpu_of_children() -> dict[int, int]:
            out = {}
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid:  # ppid
                    out[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime + stime, ticks
            return out
        tick = os.sysconf("SC_CLK_TCK")
        before = cpu_of_children()
        while time.perf_counter() - t0 < timeout:
            time.sleep(0.3)
            now = cpu_of_children()
            if len(now) >= self.workers and now.keys() == before.keys() and \
                    all((now[p] - before[p]) / tick <= 0.02 for p in now):
                break
            before = now
        return time.perf_counter() - t0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def _conn(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    assert host in ("127.0.0.1", "localhost", "::1"), "loopback only"
    return http.client.HTTPConnection(host, int(port), timeout=timeout), "/" + path


def get(url: str, timeout: float = 60) -> tuple[int, int, float]:
    conn, path = _conn(url, timeout)
    t0 = time.perf_counter()
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip, deflate, br"})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, len(body), time.perf_counter() - t0
    finally:
        conn.close()


def post_callback(base: str, payload: dict, timeout: float = 300, body_out: list | None = None
                  ) -> tuple[float, int, int]:
    """One callback request as the browser sends it: (seconds, status, bytes received); the
    body itself is appended to ``body_out`` when given."""
    conn, _ = _conn(base, timeout)
    body = json.dumps(payload).encode()
    t0 = time.perf_counter()
    try:
        conn.request("POST", "/_dash-update-component", body,
                     headers={"Content-Type": "application/json", "Accept": "application/json",
                              "Accept-Encoding": "gzip, deflate, br"})
        resp = conn.getresponse()
        data = resp.read()
        elapsed = time.perf_counter() - t0
        if body_out is not None:
            body_out.append(data)
        return elapsed, resp.status, len(data)
    finally:
        conn.close()


# -- payloads ------------------------------------------------------------------------------

def _id_of(entry) -> object:
    ident = entry.get("id")
    if isinstance(ident, str) and ident.startswith("{"):
        try:
            return json.loads(ident)
        except ValueError:
            return ident
    return ident


def with_year(payload: dict, year: int) -> dict:
    """The payload with its "from" year input set to ``year``."""
    out = copy.deepcopy(payload)
    for entry in out.get("inputs", []):
        if isinstance(entry, dict):
            ident = _id_of(entry)
            if (isinstance(ident, dict) and ident.get("role") == "from") or ident == "data-from":
                entry["value"] = year
    return out


def with_indicators(payload: dict, indicators: tuple[str, ...]) -> dict:
    """The payload with its indicators input set to ``indicators``."""
    out = copy.deepcopy(payload)
    for entry in out.get("inputs", []):
        if isinstance(entry, dict):
            ident = _id_of(entry)
            if isinstance(ident, dict) and ident.get("role") == "indicators":
                entry["value"] = list(indicators)
    return out


def indicators_of(payload: dict) -> tuple[str, ...]:
    for entry in payload.get("inputs", []):
        if isinstance(entry, dict):
            ident = _id_of(entry)
            if isinstance(ident, dict) and ident.get("role") == "indicators":
                return tuple(entry.get("value") or ())
    return ()


def ready_script(selector_blocks: str = ".chart-block") -> str:
    """True once the page has charts and every one of them is drawn, and nothing is loading."""
    return f"""() => {{
        const blocks = document.querySelectorAll('{selector_blocks}');
        const plots = document.querySelectorAll('.js-plotly-plot');
        if (!plots.length || plots.length < blocks.length) return false;
        for (const p of plots) {{ if (!(p._fullLayout && p.querySelector('.main-svg .cartesianlayer'))) return false; }}
        return !document.querySelector('._dash-loading, ._dash-loading-callback, .dash-spinner');
    }}"""


MINIMAL_READY = """() => { const p = document.querySelector('.js-plotly-plot');
    return !!(p && p._fullLayout && p.querySelector('.main-svg .cartesianlayer')); }"""


def page_ready(page, url: str, script: str, limit_s: float = 120) -> float:
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=limit_s * 1000)
    page.wait_for_function(script, timeout=max(1.0, limit_s - (time.perf_counter() - t0)) * 1000, polling=50)
    return time.perf_counter() - t0


def page_ready_bounded(page, url: str, script: str, limit_s: float, leave: bool = True) -> tuple[float, bool]:
    """(seconds, timed out): a load still not drawn after ``limit_s`` counts as ``limit_s``
    (a lower bound) and is flagged, and (``leave``) the page is left for a blank one."""
    try:
        return page_ready(page, url, script, limit_s), False
    except Exception as exc:
        if "Timeout" not in type(exc).__name__ and "Timeout" not in str(exc):
            raise
        if leave:
            page.goto("about:blank")
        return float(limit_s), True


def first_load(browser, url: str, script: str, limit_s: float) -> tuple[float, bool, dict]:
    """A first load in a fresh context: (seconds to drawn, timed out, its transfer)."""
    context = browser.new_context()
    page = context.new_page()
    responses = []
    page.on("response", lambda r: responses.append(r))
    try:
        seconds, timed_out = page_ready_bounded(page, url, script, limit_s, leave=False)
        transfer = {"seconds": round(seconds, 3), **_transfer(responses)}  # before leaving the page
        page.goto("about:blank")
        return seconds, timed_out, transfer
    finally:
        context.close()


def capture_family_payload(page, base: str, family: str, query: str = "",
                           years=(2010, 2005, 2015)) -> dict:
    """The charts callback's request, as Chromium sends it when the "from" year changes, and
    the seconds that view took to draw."""
    drawn = page_ready(page, f"{base}/{family}{query}", ready_script())
    page.wait_for_load_state("networkidle")
    box = page.locator("input[id*='\"role\":\"from\"']").first
    for year in years:  # a year equal to the current value sends nothing: try another
        try:
            with page.expect_request(lambda r: r.method == "POST" and "/_dash-update-component" in r.url
                                     and '"charts"' in (r.post_data or ""), timeout=30_000) as req:
                box.fill(str(year))
                box.press("Enter")
            return json.loads(req.value.post_data), drawn
        except Exception as exc:  # playwright's TimeoutError
            last = exc
    raise RuntimeError(f"/{family}: changing the year sent no charts callback ({last})")


def capture_data_payload(page, base: str, year: int = 2010) -> dict:
    page.goto(f"{base}/data", wait_until="commit", timeout=120_000)
    box = page.locator("#data-from")
    box.wait_for(timeout=120_000)
    page.wait_for_load_state("networkidle")
    with page.expect_request(lambda r: r.method == "POST" and "/_dash-update-component" in r.url
                             and "data-table" in (r.post_data or ""), timeout=120_000) as req:
        box.fill(str(year))
        box.press("Enter")
    return json.loads(req.value.post_data)


def transfer(browser, url: str, script: str) -> dict:
    """A first load in a fresh browser context: bytes on the wire (as sent: compressed when
    the server compresses), bytes of the bodies, and what gzip would make of them."""
    context = browser.new_context()
    page = context.new_page()
    responses = []
    page.on("response", lambda r: responses.append(r))
    try:
        seconds = page_ready(page, url, script)
        page.wait_for_timeout(300)
        return {"seconds": round(seconds, 3), **_transfer(responses)}
    finally:
        context.close()


def _transfer(responses) -> dict:
    wire = body = gz = 0
    by_type: dict[str, int] = {}
    encodings = set()
    for r in responses:
        try:
            sizes = r.request.sizes()
            raw = r.body()
        except Exception:  # redirects and aborted requests have no body
            continue
        wire += sizes.get("responseBodySize", 0) + sizes.get("responseHeadersSize", 0)
        body += len(raw)
        gz += len(gzip.compress(raw, 6))
        kind = (r.headers.get("content-type") or "?").split(";")[0]
        by_type[kind] = by_type.get(kind, 0) + len(raw)
        if r.headers.get("content-encoding"):
            encodings.add(r.headers["content-encoding"])
    return {"requests": len(responses), "wire_bytes": wire,
            "body_bytes": body, "gzip_bytes": gz, "body_bytes_by_type": by_type,
            "content_encodings": sorted(encodings)}


# -- HTTP load ------------------------------------------------------------------------------

class _Load:
    """What one load run collects from its client threads: the latency of every answered
    request and what went wrong with the others."""

    def __init__(self):
        self.lat: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def send(self, base: str, payload: dict, body_out: list | None = None) -> bool:
        """One request; True when it was answered with 200 (its latency is kept)."""
        try:
            t, status, _ = post_callback(base, payload, body_out=body_out)
        except OSError as exc:
            with self.lock:
                self.errors.append(repr(exc))
            return False
        with self.lock:
            if status == 200:
                self.lat.append(t)
                return True
            self.errors.append(f"HTTP {status}")
            return False

    def run(self, client, clients: int, join_timeout: float) -> dict:
        """``clients`` threads running ``client(k)``; latency and throughput over the whole."""
        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=join_timeout)
        wall = time.perf_counter() - t0
        return {**summarize(self.lat), "clients": clients, "errors": len(self.errors),
                "error_samples": self.errors[:3],
                "requests_per_s": round(len(self.lat) / wall, 2) if wall else None}


def concurrent(base: str, payloads: list[dict], clients: int, budget: Budget) -> dict:
    """``clients`` threads, each sending the payloads in turn (one at a time), until its
    budget is spent. Latency per request, throughput over the whole."""
    load = _Load()

    def client(k: int):
        for rep in budget.reps():
            load.send(base, payloads[(k + rep * clients) % len(payloads)])

    return load.run(client, clients, budget.seconds * 4 + 300)


def each_once(base: str, views: list[dict], clients: int, timeout_s: float = 600) -> dict:
    """``clients`` threads share the list of ``views``: each view is sent exactly once (one
    request at a time per client), in list order. Latency per request, throughput over the
    whole, and a digest of each answer (``digests[i]`` for ``views[i]``), so that answers
    given twice can be compared."""
    import hashlib
    load = _Load()
    digests: list[str | None] = [None] * len(views)
    queue = list(range(len(views)))[::-1]
    deadline = time.perf_counter() + timeout_s

    def client(_k: int):
        while time.perf_counter() < deadline:
            with load.lock:
                if not queue:
                    return
                k = queue.pop()
            body: list[bytes] = []
            if load.send(base, views[k], body_out=body):
                digests[k] = hashlib.sha256(body[0]).hexdigest()

    return {**load.run(client, clients, timeout_s + 60), "digests": digests}


def launch_browser(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"])
