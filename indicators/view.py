"""What a page shows, as one value that round-trips through a URL: the one place that reads
and writes page state.

A page's state (family, indicators, areas, sources, year range, selected period, as-of date,
language, ...) is written into the query string, so a permalink reproduces the view, and the
same state gives the Filters of the query behind the charts and of the downloads: the export
is the chart's data. ``View.from_query`` reads a URL's parameters (a page's, a download's, a
callback's control values); ``search``, ``href``, ``download`` and ``context`` write it back
(address bar, links, download links, the pages' context stores). Nothing else builds a
query string by hand.

Nothing is dropped silently: every parameter that cannot be read becomes a ``Problem``
(parameter, what was given, what was expected) on ``view.problems``, and the rest of the view
is kept. Downloads answer a view with problems with 400 (``callbacks/errors.py``); pages show
the same messages above the page. ``checked()`` adds the ids the store does not hold.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlencode

from data import vocabulary as vocab
from data.selection import SEARCH_CHARS, SEARCH_WORDS, Filters
from data.translation import N_, gettext_for

_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")
_DAY = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")  # ASCII digits only
_YEAR = re.compile(r"^[0-9]{4}$")
YEARS = (1900, 2100)

# The parameters a page or download URL may carry (anything else is reported, not ignored:
# ``?indicator=x`` for ``?ind=x`` would otherwise download every value).
PARAMETERS = ("family", "fam", "ind", "area", "source", "from", "to", "sel", "pt", "total", "q", "asof",
              "since", "lang", "name")

# What each kind of parameter should look like (shown in every message about it).
EXPECT_DAY = N_("a date YYYY-MM-DD, for example 2023-09-30")
EXPECT_YEAR = N_("a year of four digits from {low} to {high}, for example 2023")
EXPECT_PERIOD = N_("two dates START/END as YYYY-MM-DD, the earlier first, for example "
                   "2023-01-01/2023-08-31")
EXPECT_IDS = N_("ids (letters, digits, _ . -) separated by commas")
EXPECT_SWITCH = N_("1 (totals only) or 0 (no totals)")
EXPECT_LANG = N_("en or zh")
EXPECT_POINT = N_("a value's number (digits only)")


@dataclass(frozen=True)
class Problem:
    """One parameter that could not be used: which, what was given, what was wrong with it
    and what was expected. ``what`` and ``expected`` are messages (translated when shown)
    whose ``{placeholders}`` are filled from ``detail``."""
    param: str
    given: str
    what: str
    expected: str
    detail: tuple[tuple[str, str], ...] = ()

    def text(self, lang: str = "en") -> str:
        _ = gettext_for(lang)
        values = {"low": str(YEARS[0]), "high": str(YEARS[1]), **dict(self.detail)}
        given = self.given if len(self.given) <= 80 else self.given[:77] + "..."
        return _("{param}: '{given}' {what}; expected {expected}").format(
            param=self.param, given=given, what=_(self.what).format(**values),
            expected=_(self.expected).format(**values))

    def __str__(self) -> str:
        return self.text("en")

    def as_dict(self) -> dict:
        return {"parameter": self.param, "given": self.given, "message": self.text("en"),
                "expected": gettext_for("en")(self.expected).format(
                    **{"low": str(YEARS[0]), "high": str(YEARS[1]), **dict(self.detail)})}


def parse_ids(text: str | None) -> tuple[str, ...]:
    """Comma-separated ids; anything that is not an id is left out (never reaches SQL text).
    ``View.from_query`` reports what was left out."""
    return tuple(dict.fromkeys(p for p in _text(text).split(",") if _ID.match(p)))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value).strip()


def _ids(param: str, value, problems: list) -> tuple[str, ...]:
    given = [p.strip() for p in _text(value).split(",") if p.strip()]
    bad = [p for p in given if not _ID.match(p)]
    if bad:
        problems.append(Problem(param, ",".join(bad), N_("is not a list of ids"), EXPECT_IDS))
    return tuple(dict.fromkeys(p for p in given if _ID.match(p)))


def _year(param: str, value, problems: list) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # a number input's value
        if float(value).is_integer() and YEARS[0] <= value <= YEARS[1]:
            return int(value)
        problems.append(Problem(param, f"{value:g}", N_("is not a year"), EXPECT_YEAR))
        return None
    text = _text(value)
    if not text:
        return None
    if _YEAR.match(text) and YEARS[0] <= int(text) <= YEARS[1]:
        return int(text)
    problems.append(Problem(param, text, N_("is not a year"), EXPECT_YEAR))
    return None


def parse_day(text: str) -> tuple[date | None, str | None]:
    """A date written YYYY-MM-DD, or what is wrong with it (a message id)."""
    m = _DAY.match(text)
    if not m:
        return None, N_("is not a date")
    try:
        return date(*map(int, m.groups())), None
    except ValueError:
        return None, N_("is not a day of the calendar")


def _day(param: str, value, problems: list) -> date | None:
    text = _text(value)
    if not text:
        return None
    day, wrong = parse_day(text)
    if wrong:
        problems.append(Problem(param, text, wrong, EXPECT_DAY))
    return day


def _selection(value, problems: list) -> tuple[date, date] | None:
    text = _text(value)
    if not text:
        return None
    left, slash, right = text.partition("/")
    start, wrong_start = parse_day(left)
    end, wrong_end = parse_day(right) if slash else (None, N_("is not a period START/END"))
    if wrong_start or wrong_end:
        what = N_("is not a period START/END") if not slash else (wrong_start or wrong_end)
        problems.append(Problem("sel", text, what, EXPECT_PERIOD))
        return None
    if end < start:
        problems.append(Problem("sel", text, N_("ends before it starts"), EXPECT_PERIOD))
        return None
    return start, end


def _search(value, problems: list) -> str:
    """Free text, cut to what the search takes (``SEARCH_WORDS`` words within its first
    ``SEARCH_CHARS`` characters), and said so when it is cut (it was cut without a word)."""
    text = _text(value)
    kept = text[:SEARCH_CHARS]
    if len(kept.split()) > SEARCH_WORDS:
        kept = " ".join(kept.split()[:SEARCH_WORDS])
    if kept != text:
        problems.append(Problem("q", text, N_("is longer than a search takes: only \"{kept}\" is searched"),
                                N_("at most {words} words and {chars} characters"),
                                (("kept", kept if len(kept) <= 60 else kept[:57] + "..."),
                                 ("words", str(SEARCH_WORDS)), ("chars", str(SEARCH_CHARS)))))
    return kept


def _point(value, problems: list) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = _text(value)
    if not text:
        return None
    if text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    problems.append(Problem("pt", text, N_("is not a value's number"), EXPECT_POINT))
    return None


def _choice(param: str, value, allowed: dict, expected: str, problems: list):
    text = _text(value)
    if not text:
        return None
    if text in allowed:
        return allowed[text]
    problems.append(Problem(param, text, N_("is not one of the choices"), expected))
    return None


@dataclass(frozen=True)
class View:
    family: str = ""
    indicators: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    selection: tuple[date, date] | None = None  # a period picked on a chart
    cumulative: bool | None = None  # one chart's share of the page: totals ("since 1948") or not
    text: str = ""  # free-text search (Data page)
    as_of: date | None = None  # show only what had been published by this day
    since: date | None = None  # briefing note: list what was published after this day (up to as_of)
    point: int | None = None  # the value clicked on a chart (obs_id): listed first in the source panel
    lang: str = "en"  # interface language: en or zh
    sources: tuple[str, ...] = ()  # reports (Sources page downloads)
    families: tuple[str, ...] = ()  # families chosen on the briefing note (``fam``)
    name: str = ""  # a download's file name stem
    problems: tuple[Problem, ...] = field(default=(), compare=False)  # what could not be read

    # --- reading -----------------------------------------------------------------------------

    @classmethod
    def from_query(cls, query: dict, family: str | None = None) -> "View":
        """From URL parameters (``layout(**query)``, a download's ``request.args``, or a
        callback's control values). ``family`` is the page's own (a family page has it in its
        path); otherwise ``query["family"]``. Every parameter that cannot be read is left out
        of the view and reported in ``problems``."""
        query = dict(query or {})
        problems: list[Problem] = []
        for key in query:
            if key not in PARAMETERS:
                problems.append(Problem(key, _text(query[key]), N_("is not a parameter of this address"),
                                        N_("one of {names}"), (("names", ", ".join(PARAMETERS)),)))
        given_family = _text(query.get("family"))
        if family is not None and given_family and given_family != family:
            problems.append(Problem("family", given_family, N_("is not this page's family"),
                                    N_("no family: the page's address names it")))
        if family is None:
            family = given_family
            if family and family not in vocab.FAMILIES:
                problems.append(Problem("family", family, N_("is not a family"), N_("one of {names}"),
                                        (("names", ", ".join(vocab.FAMILIES)),)))
                family = ""
        families = _ids("fam", query.get("fam"), problems)
        unknown = [f for f in families if f not in vocab.FAMILIES]
        if unknown:
            problems.append(Problem("fam", ",".join(unknown), N_("is not a family"), N_("one of {names}"),
                                    (("names", ", ".join(vocab.FAMILIES)),)))
            families = tuple(f for f in families if f in vocab.FAMILIES)
        year_from = _year("from", query.get("from"), problems)
        year_to = _year("to", query.get("to"), problems)
        if year_from and year_to and year_to < year_from:
            problems.append(Problem("to", str(year_to), N_("is before from ({year})"),
                                    N_("a year on or after from"), (("year", str(year_from)),)))
            year_to = None
        lang = _choice("lang", query.get("lang"), {"en": "en", "zh": "zh"}, EXPECT_LANG, problems) or "en"
        name = _text(query.get("name"))
        if name and not _ID.match(name):
            problems.append(Problem("name", name, N_("is not a file name"), EXPECT_IDS))
            name = ""
        return cls(family=family, indicators=_ids("ind", query.get("ind"), problems),
                   areas=_ids("area", query.get("area"), problems),
                   sources=_ids("source", query.get("source"), problems), families=families,
                   year_from=year_from, year_to=year_to, selection=_selection(query.get("sel"), problems),
                   point=_point(query.get("pt"), problems),
                   cumulative=_choice("total", query.get("total"), {"1": True, "0": False}, EXPECT_SWITCH,
                                      problems),
                   text=_search(query.get("q"), problems), as_of=_day("asof", query.get("asof"), problems),
                   since=_day("since", query.get("since"), problems),
                   lang=lang, name=name, problems=tuple(problems))

    @classmethod
    def from_search(cls, search: str | None, family: str | None = None) -> "View":
        """From a location's query string (``?a=b&c=d``; the last of a repeated key counts)."""
        from urllib.parse import parse_qsl
        return cls.from_query(dict(parse_qsl((search or "").lstrip("?"), keep_blank_values=True)), family)

    def checked(self, engine=None) -> "View":
        """The view with the ids the store does not hold left out and reported (an unknown
        indicator would otherwise give an empty chart or file without a word)."""
        from indicators import query

        problems = list(self.problems)
        kept = {}
        for attr, param, table, column, what in (
                ("indicators", "ind", "indicators", "indicator_id", N_("names no indicator in the store")),
                ("areas", "area", "areas", "area_id", N_("names no area in the store")),
                ("sources", "source", "sources", "source_id", N_("names no report in the store"))):
            ids = getattr(self, attr)
            if not ids:
                continue
            frame = query.table(table, engine)
            known = set(frame[column])
            unknown = [i for i in ids if i not in known]
            if attr == "indicators" and self.family and not unknown:
                family_of = dict(zip(frame["indicator_id"], frame["family"]))
                elsewhere = [i for i in ids if family_of.get(i) != self.family]
                if elsewhere:
                    term = vocab.FAMILIES.get(self.family)
                    problems.append(Problem(param, ",".join(elsewhere), N_("is not in the family {family}"),
                                            N_("indicators of this family"),
                                            (("family", term.name_en if term else self.family),)))
                    kept[attr] = tuple(i for i in ids if i not in elsewhere)
            if unknown:
                problems.append(Problem(param, ",".join(unknown), what, N_("ids the store holds (see the "
                                                                           "Data page or any download)")))
                kept[attr] = tuple(i for i in ids if i in known)
        return replace(self, **kept, problems=tuple(problems))

    # --- writing -----------------------------------------------------------------------------

    def query(self, family: bool = False) -> dict[str, str]:
        """The URL parameters of this view (``family`` too when the address does not name it)."""
        q = {}
        if family and self.family:
            q["family"] = self.family
        if self.families:
            q["fam"] = ",".join(self.families)
        if self.indicators:
            q["ind"] = ",".join(self.indicators)
        if self.areas:
            q["area"] = ",".join(self.areas)
        if self.sources:
            q["source"] = ",".join(self.sources)
        if self.year_from:
            q["from"] = str(self.year_from)
        if self.year_to:
            q["to"] = str(self.year_to)
        if self.selection:
            q["sel"] = f"{self.selection[0].isoformat()}/{self.selection[1].isoformat()}"
        if self.point is not None:
            q["pt"] = str(self.point)
        if self.cumulative is not None:
            q["total"] = "1" if self.cumulative else "0"
        if self.text:
            q["q"] = self.text
        if self.as_of:
            q["asof"] = self.as_of.isoformat()
        if self.since:
            q["since"] = self.since.isoformat()
        if self.lang != "en":
            q["lang"] = self.lang
        if self.name:
            q["name"] = self.name
        return q

    def search(self, family: bool = False) -> str:
        """The query string (``?...``, or empty) of this view."""
        q = self.query(family)
        return ("?" + urlencode(q, safe=",/")) if q else ""

    def href(self, path: str) -> str:
        """A link to ``path`` showing this view (the family is named unless the path is its page)."""
        return path + self.search(family=path.rstrip("/") != f"/{self.family}")

    def keep(self) -> "View":
        """What every link of the site carries from page to page: language and as-of date."""
        return View(lang=self.lang, as_of=self.as_of)

    def download(self, ext: str = "csv", name: str | None = None) -> str:
        """The download of exactly this view's values (``/download/observations.<ext>``);
        the file name carries ``name`` (and the as-of date, when one is in force)."""
        view = self.with_(lang="en", name=name if name is not None else self.name, families=())
        return "/download/observations." + ext + view.search(family=True)

    def context(self) -> dict:
        """What a page keeps in its context store for its callbacks (read back with
        ``from_query``, which takes the same keys as the URL)."""
        return {"lang": self.lang, "asof": self.as_of.isoformat() if self.as_of else None}

    def with_(self, **changes) -> "View":
        return replace(self, **changes)

    def file_stem(self, default: str = "observations") -> str:
        """A downloaded file's name: what it holds and the as-of date in force (or today)."""
        stem = self.name or self.family or default
        return f"{stem}_as-of-{self.as_of.isoformat()}" if self.as_of else f"{stem}_{date.today().isoformat()}"

    def filters(self, indicators: tuple[str, ...] | None = None, selected_only: bool = False) -> Filters:
        """The query behind the page (or one chart of it: ``indicators``); with
        ``selected_only``, only values whose period overlaps the selected period."""
        start = date(self.year_from, 1, 1) if self.year_from else None
        end = date(self.year_to, 12, 31) if self.year_to else None
        if selected_only and self.selection:
            start = max(filter(None, (start, self.selection[0])))
            end = min(filter(None, (end, self.selection[1])))
        return Filters(indicators=self.indicators if indicators is None else indicators,
                       families=(self.family,) if self.family else (), areas=self.areas,
                       sources=self.sources, start=start, end=end, cumulative=self.cumulative,
                       text=self.text, as_of=self.as_of)
