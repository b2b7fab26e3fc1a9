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
import logging
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
    "clear_disk_cache",
    "code_digest",
    "disk_usage",
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
DISK_FORMAT = 2

#: The disk cache is trimmed to this many megabytes (oldest used first) after each write;
#: ``$SIMLIB_CACHE_MAX_MB`` overrides it (0: no limit).
DISK_MAX_MB = 1024

_CODE_DIGEST: str | None = None


def cache_dir() -> Path:
    """Where results that outlive a process are kept: ``$SIMLIB_CACHE_DIR`` or
    ``~/.cache/simlib`` (``$XDG_CACHE_HOME/simlib`` when that is set)."""
    env = os.environ.get("SIMLIB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "simlib"


def code_digest() -> str:
    """A digest of simlib's own source (path, size and modification time of every
    ``simlib/**/*.py``), computed once per process: editing or upgrading simlib changes
    it, so results computed by other code are not read back."""
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        h = hashlib.sha256()
        pkg = Path(__file__).resolve().parent
        for path in sorted(pkg.rglob("*.py")):
            try:
                st = path.stat()
            except OSError:
                continue
            h.update(f"{path.relative_to(pkg)}:{st.st_size}:{st.st_mtime_ns};".encode())
        _CODE_DIGEST = h.hexdigest()[:16]
    return _CODE_DIGEST


def disk_key(*parts: Any) -> str:
    """A stable digest of ``parts`` (their ``repr``) and of simlib's source
    (:func:`code_digest`), for :func:`disk_cached`."""
    h = hashlib.sha256(repr((DISK_FORMAT, code_digest(), *parts)).encode("utf-8"))
    return h.hexdigest()[:32]


def _max_bytes() -> int:
    try:
        mb = float(os.environ.get("SIMLIB_CACHE_MAX_MB", DISK_MAX_MB))
    except ValueError:
        mb = DISK_MAX_MB
    return max(0, int(mb * 1024 * 1024))


def _disk_files(root: Path) -> list[tuple[float, int, Path]]:
    """(last used, size, path) of every result file under ``root`` (``KIND/KEY.pkl``)."""
    out = []
    try:
        kinds = [d for d in root.iterdir() if d.is_dir()]
    except OSError:
        return out
    for d in kinds:
        try:
            files = list(d.glob("*.pkl"))
        except OSError:
            continue
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            out.append((st.st_mtime, st.st_size, f))
    return out


def disk_usage() -> tuple[int, int]:
    """(files, bytes) held in :func:`cache_dir`."""
    files = _disk_files(cache_dir())
    return len(files), sum(size for _, size, _ in files)


def clear_disk_cache(kind: str | None = None) -> tuple[int, int]:
    """Delete the results kept on disk (of one ``kind``, or all); returns (files, bytes)
    deleted. Only ``KIND/KEY.pkl`` files are touched, nothing else in the folder."""
    n = size = 0
    for _, sz, f in _disk_files(cache_dir()):
        if kind is not None and f.parent.name != kind:
            continue
        with contextlib.suppress(OSError):
            f.unlink()
            n, size = n + 1, size + sz
    return n, size


def _trim(root: Path, limit: int, keep: Path) -> None:
    """Delete the least recently used files until ``root`` holds at most ``limit`` bytes
    (never ``keep``, the file just written)."""
    if limit <= 0:
        return
    files = _disk_files(root)
    total = sum(size for _, size, _ in files)
    for _, size, f in sorted(files, key=lambda t: t[0]):
        if total <= limit:
            break
        if f == keep:
            continue
        with contextlib.suppress(OSError):
            f.unlink()
            total -= size


def disk_cached(kind: str, key: str, compute: Callable[[], T]) -> T:
    """``compute()``, kept in ``cache_dir()/kind/key.pkl`` and read back next time.

    ``key`` must name everything the result depends on (the data fingerprint, the
    parameters, the seed): build it with :func:`disk_key`, which adds simlib's source
    digest. A file that cannot be read (damaged, another format) is recomputed and
    replaced; a cache folder that cannot be written, or a result that cannot be
    pickled, only costs the recomputation next time. Reading a file marks it used; the
    folder is kept under ``$SIMLIB_CACHE_MAX_MB`` (:data:`DISK_MAX_MB`) by deleting the
    least recently used files.
    """
    import pickle
    import threading

    root = cache_dir()
    path = root / kind / f"{key}.pkl"
    try:
        with open(path, "rb") as f:
            value = pickle.load(f)
    except Exception:  # noqa: BLE001 - missing, damaged or foreign: recomputed
        pass
    else:
        with contextlib.suppress(OSError):
            os.utime(path)  # last used, for the size limit
        return value
    value = compute()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # readers see the old file or the whole new one
    except Exception as e:  # noqa: BLE001 - unwritable folder, full disk, unpicklable value
        # the result is still returned; only the next open pays again. Said in the log, so
        # that a value that can never be kept does not go unnoticed (it did once).
        logging.getLogger(__name__).warning(
            "not kept on disk (%s): %s: %s", kind, type(e).__name__, e
        )
        with contextlib.suppress(OSError):
            tmp.unlink()
    else:
        _trim(root, _max_bytes(), path)
    return value
