"""Results remembered for as long as the object they were computed from lives.

A batch of reports renders many documents from the same company facts (every rep's
pack reads the same company-wide scorecard); :func:`memo_on` keeps such results on
the facts object, so they go when the facts go and never outlive their inputs.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_STORE: dict[
    int, dict
] = {}  # by id(owner): owners are often unhashable (frozen dataclasses of frames)


def memo_on(owner: Any, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, remembered under ``key`` for the life of ``owner``."""
    oid = id(owner)
    cache = _STORE.get(oid)
    if cache is None:
        try:
            weakref.finalize(owner, _STORE.pop, oid, None)
        except TypeError:  # owner cannot be weakly referenced: no memo
            return compute()
        cache = _STORE[oid] = {}
    if key not in cache:
        cache[key] = compute()
    return cache[key]
