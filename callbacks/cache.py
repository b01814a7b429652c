"""Callback answers kept per data version (issue 15).

A page callback's answer depends on nothing but the data it reads, the view it is asked
for (its inputs and states, and for a pattern-matching callback the ids it answers, which
carry the page's family) and the language (a state). The data of a version never changes: a
build or an intake makes a new data version. Each answer is made with one reader of the store
(``indicators.query.one_reader``, on DuckDB or PostgreSQL alike), which every read of the
callback shares, so the answer is of that reader's version; this cache is keyed by that
version and emptied the moment a reader of another one asks, exactly like the query cache
(``indicators.query._cached``).

An answer is kept as the callback returned it (Dash components); the first time it is asked
for again it is replaced by its plain JSON form (dicts and lists, what Dash would send), so
that later answers skip rebuilding the JSON of every component (for a large family page,
tens of milliseconds of a cache hit). The first answer pays nothing extra.

Each server worker keeps its own cache, bounded in entries (``PKPI_ANSWER_CACHE``; 0 turns it
off), least recently used out first. An answer the callback marks as not worth keeping (an
error message: a transient failure must not stick until the next data version) is returned
but not stored, and nothing is stored when the callback raises (``PreventUpdate`` included).

Wrapping a callback is one line above its body::

    @dash.callback(...)
    @per_data_version(keep=lambda answer: answer[3] is not None)
    def update(...):
"""
from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict

from data import settings


def _limit() -> int:
    try:
        return max(0, int(settings.get("PKPI_ANSWER_CACHE")))
    except ValueError:
        return 0


class AnswerCache:
    """A bounded LRU of answers, valid for one data version."""

    def __init__(self, limit: int):
        self.limit = limit
        self._entries: OrderedDict = OrderedDict()
        self._version = None  # the data version the entries were computed for
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, version, key):
        """(answer or None, whether the answer is already plain JSON data); entries of
        another version are dropped first."""
        with self._lock:
            if self._version != version:
                self._entries.clear()
                self._version = version
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return hit[0], hit[1]
            self.misses += 1
            return None, False

    def put(self, version, key, answer, plain: bool = False) -> None:
        with self._lock:
            if self._version != version or self.limit <= 0:
                return  # a reader of another version asked meanwhile: this one is no longer kept
            self._entries[key] = (answer, plain)
            self._entries.move_to_end(key)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._version = None

    def __len__(self) -> int:
        return len(self._entries)


_caches: list[AnswerCache] = []


def clear_all() -> None:
    for cache in _caches:
        cache.clear()


def _key(args, kwargs) -> str:
    from dash import ctx
    try:
        outputs = ctx.outputs_list  # a MATCH callback answers for the ids it was called with
    except Exception:  # called outside a request (tests): the arguments are the whole view
        outputs = None
    return json.dumps([outputs, args, kwargs], sort_keys=True, default=str, separators=(",", ":"))


def _plain(answer):
    """The answer as the JSON data Dash would send for it (dicts, lists, strings, numbers):
    encoding that again gives the same bytes, without calling every component's methods."""
    from dash._utils import to_json
    if isinstance(answer, (tuple, list)):
        return type(answer)(json.loads(to_json(part)) for part in answer)
    return json.loads(to_json(answer))


def per_data_version(keep=lambda answer: True, limit: int | None = None):
    """Decorate a Dash callback so that its answers are kept per data version (see above)."""
    def wrap(fn):
        cache = AnswerCache(_limit() if limit is None else limit)
        _caches.append(cache)

        @functools.wraps(fn)
        def cached(*args, **kwargs):
            from indicators.query import one_reader
            with one_reader() as reader:  # every read of the answer: one data version
                if cache.limit <= 0:
                    return fn(*args, **kwargs)
                key = _key(args, kwargs)
                version = reader.version
                hit, plain = cache.get(version, key)
                if hit is not None:
                    if not plain:  # asked for twice: worth keeping in its cheaper form
                        hit = _plain(hit)
                        cache.put(version, key, hit, plain=True)
                    return hit
                answer = fn(*args, **kwargs)
                if keep(answer):
                    cache.put(version, key, answer)
                return answer

        cached.cache = cache
        return cached
    return wrap
