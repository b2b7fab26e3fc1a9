"""Caches you can see and clear.

simlib keeps a few results for the life of a process so that a batch of reports, or
an app, does not recompute them: the demo company, a CRM export loaded for reports
(kept while its files are unchanged), a company's prepared tracking facts. Each is a
:class:`Cache` with a name, registered here, so a long-lived process (a notebook,
the app server, a report worker) can list them (:func:`caches`) and drop them
(:func:`clear_caches`) instead of reaching for hidden module globals.

Results that belong to one object (every rep pack reads the same company scorecard)
are kept *on* that object with :func:`memo_on`: they go when the object goes.

>>> squares = Cache("squares (doctest)", size=2)
>>> squares.get(3, lambda: 3 * 3), squares.get(3, lambda: -1)
(9, 9)
>>> squares
Cache('squares (doctest)', 1 of 2 entries)
>>> squares.clear(); len(squares)
0
>>> forget("squares (doctest)")
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "Cache",
    "cache_dir",
    "caches",
    "clear_caches",
    "disk_cached",
    "disk_key",
    "forget",
    "memo_on",
]

T = TypeVar("T")

_REGISTRY: dict[str, Cache] = {}


class Cache:
    """A named store of at most ``size`` results, the oldest dropped first."""

    def __init__(self, name: str, size: int = 1):
        if size < 1:
            raise ValueError(f"a cache holds at least 1 entry; got size={size}")
        self.name = name
        self.size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        _REGISTRY[name] = self

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The result under ``key``, computed by ``compute()`` the first time."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        value = compute()
        self._entries[key] = value
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Cache({self.name!r}, {len(self)} of {self.size} entries)"


def caches() -> dict[str, Cache]:
    """Every registered cache by name (including per-object results as one entry)."""
    return dict(_REGISTRY)


def clear_caches() -> None:
    """Drop every cached result (the next call recomputes)."""
    for c in _REGISTRY.values():
        c.clear()


def forget(name: str) -> None:
    """Unregister a cache (for caches made by tests and examples)."""
    _REGISTRY.pop(name, None)


class _OwnerResults(Cache):
    """Results kept on their owner objects: an entry per live owner."""

    def __init__(self):
        super().__init__("results kept on their owner (memo_on)", size=1)
        self._by_owner: dict[int, dict] = {}  # by id(owner): owners are often unhashable

    def on(self, owner: Any, key: Hashable, compute: Callable[[], T]) -> T:
        oid = id(owner)
        store = self._by_owner.get(oid)
        if store is None:
            try:
                weakref.finalize(owner, self._by_owner.pop, oid, None)
            except TypeError:  # owner cannot be weakly referenced: nothing to keep it on
                return compute()
            store = self._by_owner[oid] = {}
        if key not in store:
            store[key] = compute()
        return store[key]

    def clear(self) -> None:
        self._by_owner.clear()

    def __len__(self) -> int:
        return len(self._by_owner)


_OWNED = _OwnerResults()


def memo_on(owner: Any, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, remembered under ``key`` for the life of ``owner``."""
    return _OWNED.on(owner, key, compute)


# -- on disk -------------------------------------------------------------------------

#: Bump when what is pickled changes shape: older files are then ignored (and replaced).
DISK_FORMAT = 1


def cache_dir() -> Path:
    """Where results that outlive a process are kept: ``$SIMLIB_CACHE_DIR`` or
    ``~/.cache/simlib`` (``$XDG_CACHE_HOME/simlib`` when that is set)."""
    env = os.environ.get("SIMLIB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "simlib"


def disk_key(*parts: Any) -> str:
    """A stable digest of ``parts`` (their ``repr``), for :func:`disk_cached`."""
    h = hashlib.sha256(repr((DISK_FORMAT, *parts)).encode("utf-8"))
    return h.hexdigest()[:32]


def disk_cached(kind: str, key: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept in ``cache_dir()/kind/key.pkl`` and read back next time.

    ``key`` must name everything the result depends on (the data fingerprint, the
    parameters, the seed, simlib's version): build it with :func:`disk_key`. A file that
    cannot be read (damaged, another format) is recomputed and replaced; a cache folder
    that cannot be written only costs the recomputation next time.
    """
    import pickle

    path = cache_dir() / kind / f"{key}.pkl"
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - a damaged or foreign file is recomputed
        pass
    value = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return value
