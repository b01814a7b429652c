"""Crafted bodies to ``/_dash-update-component`` (issue 11, finding 9): against a real server,
every malformed body for each of the app's server callbacks is a 400 with a short plain
message, never a 500; the same body, well formed, still works."""
from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request

import pytest

FAMILY = "fatalities"
# A value each input or state property can hold, as a page sends it.
DEFAULTS = {"pathname": "/", "search": "", "value": None, "n_clicks": None, "n_submit": None,
            "n_intervals": 1, "data": None, "clickData": None, "selectedData": None}


def _post(server: str, data: bytes, ctype: str = "application/json") -> tuple[int, str]:
    req = urllib.request.Request(server + "/_dash-update-component", data=data, method="POST",
                                 headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def _concrete(component_id: str):
    """A declared id with its wildcards filled in as a family page fills them."""
    if not component_id.startswith("{"):
        return component_id
    parsed = json.loads(component_id)
    return {k: ({"family": FAMILY, "unit": "count"}[k] if isinstance(v, list) else v) for k, v in parsed.items()}


def _item(dep: dict):
    one = {"id": _concrete(dep["id"]), "property": dep["property"], "value": DEFAULTS[dep["property"]]}
    return [one] if '["ALL"]' in dep["id"] else one


def _bodies(server: str) -> dict[str, dict]:
    with urllib.request.urlopen(server + "/_dash-dependencies", timeout=60) as r:
        deps = json.load(r)
    bodies = {}
    for dep in deps:
        if dep.get("clientside_function"):
            continue
        output = dep["output"]
        parts = output.strip(".").split("...")
        outs = [{"id": _concrete(p.rsplit(".", 1)[0]), "property": p.rsplit(".", 1)[1]} for p in parts]
        inputs = [_item(i) for i in dep["inputs"]]
        first = inputs[0][0] if isinstance(inputs[0], list) else inputs[0]
        first_id = first["id"] if isinstance(first["id"], str) else json.dumps(first["id"], separators=(",", ":"))
        bodies[output] = {"output": output, "outputs": outs if output.startswith("..") else outs[0],
                          "inputs": inputs, "state": [_item(s) for s in dep["state"]],
                          "changedPropIds": [f"{first_id}.{first['property']}"]}
    return bodies


def _page_could_send(item: dict, value) -> bool:
    """Whether a page itself could send ``value`` for this input: a number typed into a year
    box, any text typed into a text box (these are answered with the page's own message)."""
    cid = item["id"]
    name = cid.get("role", "") if isinstance(cid, dict) else cid.rsplit("-", 1)[-1]
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if item["property"] == "value" and name in ("from", "to"):
        return number
    if item["property"] == "value" and name not in ("indicators", "areas", "families"):
        return isinstance(value, str)
    if item["property"] in ("clickData", "selectedData"):  # Plotly's (and Dash's) keys vary
        return isinstance(value, dict)
    if item["property"] == "data" and name == "point":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if item["property"] == "n_intervals" or item["property"].startswith("n_"):
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2 ** 53
    return False


def _mutations(body: dict):
    """(what, bytes) for each malformed variant of a valid body (a value the page itself
    could send is left to the page's own messages, not counted here)."""
    def dumped(b):
        return json.dumps(b).encode()

    for key in ("output", "outputs", "inputs", "changedPropIds"):
        b = copy.deepcopy(body)
        del b[key]
        yield f"no {key}", dumped(b)
        for wrong in (None, 1, "x", [1], {"a": 1}, [[1]]):
            b = copy.deepcopy(body)
            b[key] = wrong
            yield f"{key}={wrong!r}", dumped(b)
    yield "unknown output", dumped({**body, "output": "nope.children"})
    for part in ("inputs", "state"):
        for k in range(len(body[part])):
            for wrong in (True, -1, 10 ** 30, 1.5, [None], [{"a": 1}], {"id": "x"}, [[[[]]]], "x" * 20_000,
                          ["x"] * 20_000):
                b = copy.deepcopy(body)
                items = b[part][k] if isinstance(b[part][k], list) else [b[part][k]]
                if _page_could_send(items[0], wrong):
                    continue
                for item in items:
                    item["value"] = wrong
                yield f"{part}[{k}].value={str(wrong)[:20]}", dumped(b)
            for field, wrong in (("id", "nope"), ("id", 5), ("id", {"family": FAMILY, "role": "x"}),
                                 ("property", "nope"), ("property", 3)):
                b = copy.deepcopy(body)
                items = b[part][k] if isinstance(b[part][k], list) else [b[part][k]]
                for item in items:
                    item[field] = wrong
                yield f"{part}[{k}].{field}={wrong!r}", dumped(b)
            b = copy.deepcopy(body)
            del b[part][k]
            yield f"{part}[{k}] left out", dumped(b)
    for k, item in enumerate(body["inputs"]):  # Plotly event data of the wrong shape
        first = item[0] if isinstance(item, list) else item
        if first["property"] in ("clickData", "selectedData"):
            for wrong in ({"range": [1, 2]}, {"range": {"x": "2020"}}, {"points": "x"}, {"points": [1]}):
                b = copy.deepcopy(body)
                for one in (b["inputs"][k] if isinstance(b["inputs"][k], list) else [b["inputs"][k]]):
                    one["value"] = wrong
                yield f"inputs[{k}].{first['property']}={wrong}", dumped(b)
    b = copy.deepcopy(body)
    b["inputs"] = b["inputs"] * 500
    yield "inputs repeated", dumped(b)
    yield "changedPropIds huge", dumped({**body, "changedPropIds": ["x.value"] * 100_000})


def test_every_malformed_callback_body_is_a_400(server):
    for raw in (b"", b"{", b"[]", b"null", b'"text"', b"123", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000):
        status, text = _post(server, raw)
        assert status == 400, (raw[:20], status, text[:200])
        assert text.startswith("400 Bad request\n") and len(text) < 400
    bodies = _bodies(server)
    assert len(bodies) >= 6  # the shell, the page router, family x2, data, brief, updates
    failures = []
    for output, body in bodies.items():
        for what, data in _mutations(body):
            status, text = _post(server, data)
            if status != 400 or not text.startswith("400 Bad request\n"):
                failures.append((output[:50], what, status, text[:120]))
    assert not failures, failures[:40]


def test_well_formed_bodies_still_work(server):
    bodies = _bodies(server)
    for output, body in bodies.items():
        status, text = _post(server, json.dumps(body).encode())
        assert status in (200, 204), (output, status, text[:300])
    shell = next(b for o, b in bodies.items() if "site-nav" in o)
    shell["inputs"][1]["value"] = "?lang=zh"
    status, text = _post(server, json.dumps(shell).encode())
    assert status == 200 and "概览" in json.loads(text)["response"]["site-nav"]["children"][0]["props"]["children"]


def test_a_body_larger_than_a_page_sends_is_refused(server):
    status, text = _post(server, b'{"output": "' + b"x" * 2_000_000 + b'"}')
    assert status == 400 and "larger than" in text
