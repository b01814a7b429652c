"""Distinct views drawn at random for the concurrent-clients measurement (issue 15).

A server that keeps answers per data version is only measured honestly on views it has not
answered before. So the 8-client run asks for many distinct views, drawn at random each run
(the seed is printed and recorded, so a run can be repeated with ``--seed``): for a family
page, a random set of its indicators, sometimes a few areas, a "from" year and sometimes a
"to" year, sometimes a selected period, English or Chinese; for the Data page, a family (or
all), sometimes a word to search for, areas, years and language. Every view is checked to be
different from every other and from every request sent earlier in the run. The *cold* mix
sends each view once (the answer is computed); the *warm* mix sends the same views again, in
another order (the answer may come from a worker's cache: each worker keeps its own).
"""
from __future__ import annotations

import copy
import json
import random

from bench.serve import _id_of


def canonical(payload: dict) -> str:
    """What identifies a request (its inputs and states), for telling views apart."""
    return json.dumps([payload.get("inputs"), payload.get("state")], sort_keys=True, default=str)


def _set(payload: dict, section: str, match, value) -> None:
    for entry in payload.get(section) or []:
        if isinstance(entry, dict) and match(_id_of(entry)):
            entry["value"] = value


def _role(name):
    return lambda ident: isinstance(ident, dict) and ident.get("role") == name


def _plain(name):
    return lambda ident: ident == name


class Choices:
    """What a random view may ask for, read from the store once."""

    def __init__(self, engine, family: str | None):
        import sqlalchemy as sa
        where = "WHERE family = :f" if family else ""
        params = {"f": family} if family else {}
        with engine.connect() as conn:
            def q(sql):
                return conn.execute(sa.text(sql), params).all()
            self.indicators = [r[0] for r in q(f"SELECT DISTINCT indicator_id FROM served_observations {where} "
                                              "ORDER BY 1")]
            self.areas = [r[0] for r in q(f"SELECT DISTINCT area FROM served_observations {where} ORDER BY 1")]
            lo, hi = q(f"SELECT min(year(period_end)), max(year(period_end)) FROM served_observations {where}")[0]
            self.years = list(range(int(lo), int(hi) + 1)) if lo is not None else [2010]
            self.families = [r[0] for r in conn.execute(sa.text(
                "SELECT DISTINCT family FROM served_observations ORDER BY 1")).all()]
            names = [r[0] for r in conn.execute(sa.text(
                "SELECT DISTINCT indicator_name FROM served_observations ORDER BY 1 LIMIT 200")).all()]
        self.words = sorted({w for n in names for w in str(n).split() if len(w) > 4})[:50]


def _years(rng: random.Random, years: list[int]) -> tuple[int, int | None]:
    start = rng.choice(years[:-1] or years)
    end = rng.choice([y for y in years if y >= start]) if rng.random() < 0.4 else None
    return start, end


def family_view(template: dict, choices: Choices, rng: random.Random) -> dict:
    p = copy.deepcopy(template)
    k = min(len(choices.indicators), rng.choice((1, 2, 3, 4, 6, 8)))
    _set(p, "inputs", _role("indicators"), sorted(rng.sample(choices.indicators, k)))
    areas = sorted(rng.sample(choices.areas, min(len(choices.areas), rng.choice((1, 2, 3))))) \
        if rng.random() < 0.35 else []
    _set(p, "inputs", _role("areas"), areas)
    start, end = _years(rng, choices.years)
    _set(p, "inputs", _role("from"), start)
    _set(p, "inputs", _role("to"), end)
    sel = None
    if rng.random() < 0.3:  # a period selected on a chart: a month within the years shown
        y, m = rng.choice([y for y in choices.years if y >= start and (end is None or y <= end)]), rng.randint(1, 12)
        sel = f"{y}-{m:02d}-01/{y}-{m:02d}-28"
    _set(p, "inputs", _role("selection"), sel)
    lang = rng.choice(("en", "zh"))
    for entry in p.get("state") or []:
        ident = _id_of(entry)
        if _role("context")(ident):
            entry["value"] = {**(entry.get("value") or {}), "lang": lang}
        elif _role("drawn")(ident):
            entry["value"] = None  # the page showed something else: the charts are drawn
    return p


def data_view(template: dict, choices: Choices, rng: random.Random) -> dict:
    p = copy.deepcopy(template)
    _set(p, "inputs", _plain("data-family"), rng.choice(choices.families + [None]))
    _set(p, "inputs", _plain("data-text"), rng.choice(choices.words) if choices.words and rng.random() < 0.25 else "")
    _set(p, "inputs", _plain("data-areas"),
         sorted(rng.sample(choices.areas, min(len(choices.areas), rng.choice((1, 2))))) if rng.random() < 0.35 else [])
    start, end = _years(rng, choices.years)
    _set(p, "inputs", _plain("data-from"), start)
    _set(p, "inputs", _plain("data-to"), end)
    lang = rng.choice(("en", "zh"))
    for entry in p.get("state") or []:
        if _plain("data-context")(_id_of(entry)):
            entry["value"] = {**(entry.get("value") or {}), "lang": lang}
    return p


def draw(key: str, template: dict, engine, rng: random.Random, n: int, exclude: set[str]) -> list[dict]:
    """``n`` distinct views for ``key`` ("family:<f>" or "data"), none in ``exclude``."""
    family = key.split(":", 1)[1] if key.startswith("family:") else None
    choices = Choices(engine, family)
    make = family_view if family else data_view
    out, seen = [], set(exclude)
    for _ in range(n * 50):  # bounded: a tiny store may not hold n distinct views
        view = make(template, choices, rng)
        c = canonical(view)
        if c not in seen:
            seen.add(c)
            out.append(view)
            if len(out) == n:
                break
    return out
