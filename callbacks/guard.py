"""What ``/_dash-update-component`` accepts: the body a Dash page sends for one of this app's
callbacks, and nothing else.

Dash trusts the body: a missing field, an unknown output, an input of another callback or a
list where a number belongs reached the callback code and answered 500 (issue 11, finding
9). Each body is checked here, before Dash reads it, against what the app itself declared
(``app.callback_map``): a JSON object; ``output`` naming a server callback; ``outputs``,
``inputs`` and ``state`` with the declared ids and properties, in the declared order (a
pattern-matching id must match its pattern); ``changedPropIds`` naming those inputs; and
each value of a JSON type its property can hold. Anything else is a 400 with one short line
saying what is wrong (``callbacks/errors.py``), and the callback is never called. A body
the page sends is unchanged and answered as before.
"""
from __future__ import annotations

import json

from flask import request

from callbacks import errors

MAX_BODY = 1_000_000  # bytes: the largest body a page sends here is a few kilobytes
MAX_ITEMS = 5_000     # values in one list (the store holds under a thousand indicators)

# The JSON types each property of this app's inputs and states can hold (the components
# define them: a checklist's value is a list of strings, a number box's a number, ...).
_SCALAR = (str, int, float, type(None))
_CLICKS = (int, type(None))


def _list_of_scalars(value) -> bool:
    return isinstance(value, list) and len(value) <= MAX_ITEMS and all(
        isinstance(v, _SCALAR) and not isinstance(v, bool) for v in value)


def _str(value) -> bool:
    return isinstance(value, (str, type(None))) and (value is None or len(value) <= 10_000)


def _number(value) -> bool:
    return (isinstance(value, (int, float, type(None))) and not isinstance(value, bool)) or _str(value)


def _name(component_id) -> str:
    """What a component is, from its id: ``data-areas`` -> ``areas``; a pattern id's role."""
    if isinstance(component_id, dict):
        return str(component_id.get("role", ""))
    return str(component_id).rsplit("-", 1)[-1]


# Stores and boxes by what their id ends with (their role, for a family page's pattern ids).
_CHECKLISTS = {"indicators", "areas", "families"}   # lists of ids
_NUMBERS = {"from", "to"}                            # year boxes
_STORE_TEXT = {"selection", "search", "drawn", "lang", "seen", "written"}


def _value_ok(prop: str, value, component_id) -> bool:
    name = _name(component_id)
    if prop in ("n_clicks", "n_submit", "n_intervals"):
        return isinstance(value, _CLICKS) and not isinstance(value, bool) and (value is None or 0 <= value <= 2 ** 53)
    if prop == "pathname":  # an address's path (Dash's page router fails on anything else)
        return value is None or (_str(value) and value.startswith("/"))
    if prop == "search":
        return _str(value)
    if prop == "value":
        if name in _CHECKLISTS:
            return value is None or (_list_of_scalars(value) and all(isinstance(v, str) for v in value))
        if name in _NUMBERS:
            return _number(value)
        return _str(value)  # text boxes, radio items, the date box
    if prop in ("clickData", "selectedData"):  # Plotly's event data: points, a range, a time...
        if value is None:
            return True
        if not isinstance(value, dict):
            return False
        points, ranges = value.get("points", []), value.get("range", {})
        return isinstance(points, list) and all(isinstance(p, dict) for p in points) \
            and isinstance(ranges, dict) and all(isinstance(r, list) for r in ranges.values()) \
            and len(json.dumps(value)) <= 100_000
    if prop == "data":
        if name == "context":  # a page's language and as-of date
            return value is None or (isinstance(value, dict) and set(value) <= {"lang", "asof"}
                                     and all(_str(v) for v in value.values()))
        if name == "point":  # a value's number
            return value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 63)
        if name in _STORE_TEXT:
            return _str(value)
        return len(json.dumps(value)) <= 100_000
    return False  # a property no callback of this app listens to


class Refused(Exception):
    pass


def _same_id(declared, sent) -> bool:
    """``sent`` is the id ``declared`` names: equal, or for a pattern (``{"family": MATCH,
    ...}``) a dict with the same keys, the fixed ones equal and the wildcards strings."""
    if isinstance(declared, str):
        return sent == declared
    if not isinstance(sent, dict) or set(sent) != set(declared):
        return False
    for key, want in declared.items():
        if isinstance(want, list):  # ["MATCH"], ["ALL"], ["ALLSMALLER"] as Dash serialises them
            if not isinstance(sent[key], (str, int)) or isinstance(sent[key], bool):
                return False
        elif sent[key] != want:
            return False
    return True


def _parse_id(text: str):
    return json.loads(text) if text.startswith("{") else text


def _check_items(kind: str, declared: list, sent, values: bool) -> None:
    if not isinstance(sent, list) or len(sent) != len(declared):
        raise Refused(f"'{kind}' must be a list of {len(declared)} items, as this callback declares")
    for k, (want, item) in enumerate(zip(declared, sent)):
        group = item if isinstance(item, list) else [item]
        if isinstance(item, list) and (len(item) > MAX_ITEMS or "ALL" not in json.dumps(want["id"])):
            raise Refused(f"'{kind}'[{k}] must be one item")
        for one in group:
            if not isinstance(one, dict) or not isinstance(one.get("property"), str) or "id" not in one:
                raise Refused(f"'{kind}'[{k}] must be an object with 'id' and 'property'")
            if one["property"] != want["property"] or not _same_id(_parse_id(want["id"]), one["id"]):
                raise Refused(f"'{kind}'[{k}] is not {want['id']}.{want['property']}")
            if values and not _value_ok(one["property"], one.get("value"), one["id"]):
                raise Refused(f"'{kind}'[{k}]: {one['property']} cannot be "
                              f"{type(one.get('value')).__name__} {json.dumps(one.get('value'))[:40]}")


def check(body, callback_map: dict) -> None:
    """Raise ``Refused`` saying what is wrong with ``body`` for this app's callbacks."""
    if not isinstance(body, dict):
        raise Refused("the body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str):
        raise Refused("'output' must be a string naming a callback's outputs")
    callback = callback_map.get(output)
    if callback is None:
        raise Refused("'output' names no callback of this app")
    outputs = body.get("outputs")
    declared_out = [{"id": o.rsplit(".", 1)[0].lstrip("."), "property": o.rsplit(".", 1)[1]}
                    for o in output.strip(".").split("...")]
    sent_out = outputs if isinstance(outputs, list) and output.startswith("..") else [outputs]
    try:
        _check_items("outputs", declared_out, sent_out, values=False)
    except Refused:
        raise Refused("'outputs' must name the outputs of 'output'") from None
    _check_items("inputs", callback["inputs"], body.get("inputs"), values=True)
    _check_items("state", callback.get("state", []), body.get("state", []), values=True)
    changed = body.get("changedPropIds")
    sent = sum(len(i) if isinstance(i, list) else 1 for i in body["inputs"])
    if not isinstance(changed, list) or len(changed) > sent or \
            not all(isinstance(c, str) for c in changed):
        raise Refused("'changedPropIds' must be a list of the inputs that changed")


def install(app) -> None:
    """Check every body before Dash's callback route reads it."""
    endpoint = app.config.routes_pathname_prefix + "_dash-update-component"
    dispatch = app.server.view_functions[endpoint]

    def guarded(*args, **kwargs):
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise errors.HTTPProblem(400, f"The callback body is larger than {MAX_BODY:,} bytes.")
        raw = request.get_data(cache=True)
        if len(raw) > MAX_BODY:
            raise errors.HTTPProblem(400, f"The callback body is larger than {MAX_BODY:,} bytes.")
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            raise errors.HTTPProblem(400, "The callback body is not JSON.") from None
        try:
            check(body, app.callback_map)
        except Refused as exc:
            raise errors.HTTPProblem(400, f"This is not a callback request of this app: {exc}.") from None
        return dispatch(*args, **kwargs)

    app.server.view_functions[endpoint] = guarded
