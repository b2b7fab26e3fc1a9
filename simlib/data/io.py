"""Read CRM exports into the canonical tables, validating every row.

A column mapping (``params/mappings/*.yaml``, model :class:`simlib.config.MappingSpec`)
says, per canonical table, which file or SQL table it comes from, which source column
feeds each canonical column, how stage and type values translate, and how names are
aliased. Nothing is dropped silently: every offending cell is reported with its file,
row, column, value and what was expected. In strict mode a report with errors stops
the load (:class:`DataError`); in lenient mode the good rows load and the rejected
ones are written, with their reasons, to a rejects file.

Row numbers are those a person sees in a spreadsheet: for CSV and Excel the header is
row 1, or row ``skip_rows + 1`` below title lines, and blank rows still count; for
Parquet and SQL the first record is row 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simlib.cache import Cache
from simlib.config import NO_VALUE, ParamError, Problem, default_params_dir, load_model
from simlib.data.mapping import MISSING_RULES, Checks, MappingSpec, TableMapping
from simlib.data.schema import CLOSED_STAGES, TABLES, Table

__all__ = [
    "Issue",
    "ValidationReport",
    "DataError",
    "Dataset",
    "load_data",
    "load_demo",
    "validate_tables",
    "parse_dates",
    "parse_amounts",
    "write_tables",
]

#: Date formats tried, in order, when a mapping does not fix one.
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S.%fZ",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y.%m.%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%m/%d/%Y",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y",
    "%d-%b-%Y",
    "%b %d, %Y",
    "%d %b %Y",
)

_TRUE = {"true", "t", "yes", "y", "1", "是", "对", "x", "✓"}
_FALSE = {"false", "f", "no", "n", "0", "否", "不", ""}


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class Issue:
    """One offending cell or row."""

    table: str
    file: str
    row: int | None
    column: str | None
    value: Any
    message: str
    severity: str = "error"  # "error" rejects the row; "warning" does not
    source_column: str | None = None  # the file's name for ``column``, when it differs

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column and self.source_column and self.source_column != self.column:
            where += f", column {self.source_column!r} ({self.column})"
        elif self.column:
            where += f", column {self.column!r}"
        val = "" if self.value is None else f": got {_show(self.value)}"
        tag = "" if self.severity == "error" else f"{self.severity}: "
        return f"{tag}{where}{val}; {self.message}"


def _show(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    s = repr(value) if isinstance(value, str) else str(value)
    return s if len(s) <= 60 else s[:57] + "..."


@dataclass
class ValidationReport:
    """Everything found while loading: issues, counts and what was rejected."""

    issues: list[Issue] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    rejects_file: str | None = None
    loaded: bool = True  # False when strict mode stopped the load

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                dict(
                    severity=i.severity,
                    table=i.table,
                    file=i.file,
                    row=i.row,
                    column=i.column,
                    value=i.value,
                    message=i.message,
                    source_column=i.source_column,
                )
                for i in self.issues
            ],
            columns=[
                "severity",
                "table",
                "file",
                "row",
                "column",
                "value",
                "message",
                "source_column",
            ],
        )

    def format(self, limit: int = 200, examples: int = 3) -> str:
        """A report for people: counts per table, then the issues grouped by table,
        column and message (each group with its count and first ``examples`` issues),
        at most ``limit`` groups each for errors and warnings.

        :meth:`to_frame` (``simlib data check --issues FILE``) has every issue.
        """
        lines = []
        for t, n in self.rows.items():
            rej = self.rejected.get(t, 0)
            lines.append(f"  {t:<14} {n:>8,} rows" + (f", {rej:,} rejected" if rej else ""))
        head = "Loaded:" if self.loaded else "Read (nothing loaded):"
        out = [head, *lines] if lines else []
        errs, warns = self.errors, self.warnings
        hidden = 0
        for what, items in (("error(s)", errs), ("warning(s)", warns)):
            if not items:
                continue
            groups = _group_issues(items)
            title = f"{len(items):,} {what}:"
            if len(groups) < len(items):
                title += f" {len(groups):,} kind(s), grouped by table, column and message"
            out.append(title)
            for g in groups[:limit]:
                if len(g) == 1:
                    out.append(f"  {g[0]}")
                    continue
                out.append(f"  {_group_title(g)}: {len(g):,} rows, e.g.")
                out += [f"    {i}" for i in g[:examples]]
                if len(g) > examples:
                    out.append(f"    ... and {len(g) - examples:,} more like these")
                    hidden += len(g) - examples
            if len(groups) > limit:
                rest = groups[limit:]
                n = sum(len(g) for g in rest)
                out.append(f"  ... and {len(rest):,} more kind(s) ({n:,} {what})")
                hidden += n
        if hidden:
            out.append(
                f"{hidden:,} issue(s) not shown: `simlib data check ... --issues FILE` "
                "writes them all (file, row, column, value, message) to a CSV file."
            )
        if self.rejects_file:
            total = sum(self.rejected.values())
            out.append(f"{total:,} rejected row(s) written with reasons to {self.rejects_file}")
        if not errs:
            out.append("No errors.")
        return "\n".join(out)

    def write_issues(self, path: str | Path) -> Path:
        """Every issue, one a line, as CSV (UTF-8), written atomically; returns the path."""
        path = Path(path)
        _atomic_csv(self.to_frame(), path)
        return path


#: quoted names and numbers (ids, dates, amounts) vary within one kind of issue
_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|[-+]?\d[\d,.:/-]*")


def _group_issues(issues: list[Issue]) -> list[list[Issue]]:
    """Issues of one table, file, column, severity and message (ids and numbers in the
    message aside), in order of first appearance."""
    groups: dict[tuple, list[Issue]] = {}
    for i in issues:
        if i.row is None:
            key: tuple = (id(i),)
        else:
            template = _VARYING.sub("…", i.message)
            key = (i.severity, i.table, i.file, i.column, i.source_column, template)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _group_title(group: list[Issue]) -> str:
    first = group[0]
    where = first.file
    if first.column and first.source_column and first.source_column != first.column:
        where += f", column {first.source_column!r} ({first.column})"
    elif first.column:
        where += f", column {first.column!r}"
    same = all(i.message == first.message for i in group)
    msg = first.message if same else _VARYING.sub("…", first.message)
    tag = "" if first.severity == "error" else f"{first.severity}: "
    return f"{tag}{where}: {msg}"


class DataError(ValueError):
    """Input data failed validation; ``report`` holds every issue."""

    def __init__(self, report: ValidationReport, message: str | None = None):
        self.report = report
        super().__init__(message or report.format(limit=50))


# --------------------------------------------------------------------------- dataset


@dataclass
class Dataset:
    """The canonical tables of one company, validated, with the date they run to."""

    tables: dict[str, pd.DataFrame]
    as_of: dt.date
    source: str = ""
    report: ValidationReport = field(default_factory=ValidationReport)
    #: tables made from the opportunities because the export had none (e.g. stage_history)
    derived: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    @property
    def fingerprint(self) -> str:
        """A sha256 digest of the tables (names, columns and every value).

        Computed once and kept on this dataset, so it always describes the data the
        dataset holds (a reloaded export is a new dataset with its own fingerprint). An
        empty table adds nothing: data without reversals and data with an empty
        reversals table are the same data.
        """
        fp = self.__dict__.get("_fingerprint")
        if fp is None:
            h = hashlib.sha256()
            for name in sorted(self.tables):
                df = self.tables[name]
                if df.empty:
                    continue
                h.update(name.encode())
                h.update(",".join(map(str, df.columns)).encode())
                h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
            fp = self.__dict__["_fingerprint"] = h.hexdigest()
        return fp

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v):,}" for k, v in self.tables.items())
        return f"Dataset(source={self.source!r}, as_of={self.as_of}, {counts})"


# --------------------------------------------------------------------------- parsing

# Columns read from CSV are Arrow-backed strings. Their checks run on each distinct value
# once (a million deals have a thousand distinct created dates and 62 owners) and are
# mapped back to the rows; every function below gives exactly what the per-cell code it
# stands in for gives (tests/test_ingest_scale.py compares them). Other columns (Excel,
# Parquet, SQL: Python objects) take the per-cell path.

#: Python's whitespace (what ``str.strip`` removes), as an RE2 class for Arrow
_PY_SPACE_CHARS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_PY_SPACE = "".join(f"\\x{{{ord(c):04X}}}" for c in _PY_SPACE_CHARS)
_EDGE_SPACE = f"^[{_PY_SPACE}]|[{_PY_SPACE}]$"


def _arrow_strings(values: pd.Series):
    """The column's Arrow data (a ChunkedArray of strings), or None when it is not
    Arrow-backed text."""
    import pyarrow as pa

    dtype = values.dtype
    if not (
        (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow")
        or (isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype))
    ):
        return None
    arr = getattr(values.array, "_pa_array", None)
    if arr is None:
        arr = pa.chunked_array([pa.array(values.array)])
    return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) else None


@dataclass
class _Distinct:
    """An Arrow-backed text column as its distinct values (``dictionary``, in order of
    first appearance) and each row's position among them (``codes``, -1: missing)."""

    codes: np.ndarray
    dictionary: Any  # pyarrow.StringArray

    def python(self, mask: np.ndarray | None = None) -> pd.Series:
        """The distinct values (those in ``mask``) as Python strings, by position."""
        d = self.dictionary if mask is None else self.dictionary.filter(mask)
        index = np.arange(len(self.dictionary)) if mask is None else np.flatnonzero(mask)
        return pd.Series(d.to_numpy(zero_copy_only=False), index=index, dtype=object)

    def matches(self, pattern: str) -> np.ndarray:
        import pyarrow.compute as pc

        hit = pc.match_substring_regex(self.dictionary, pattern)
        return hit.to_numpy(zero_copy_only=False).astype(bool)

    def stripped(self):
        """``str(v).strip()`` of each distinct value (Python only where it changes one)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        edge = self.matches(_EDGE_SPACE)
        if not edge.any():
            return self.dictionary
        done = pa.array([v.strip() for v in self.python(edge)], type=pa.string())
        return pc.replace_with_mask(self.dictionary, pa.array(edge), done)


#: distinct values of the table :func:`load_data` is reading (the same cells are parsed
#: more than once: one Close Date feeds two columns, amounts are parsed and scanned for
#: currencies); None outside a load, so nothing is held between loads
_DISTINCT_CACHE: dict[tuple, tuple[Any, _Distinct]] | None = None


def _distinct(values: pd.Series) -> _Distinct | None:
    """:class:`_Distinct` of an Arrow-backed text column; None for other columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _arrow_strings(values)
    if arr is None:
        return None
    # the same cells (same buffers, offset and length) under whatever wrapper pandas gave
    key = tuple(
        (c.offset, len(c), *(b.address if b is not None else 0 for b in c.buffers()))
        for c in arr.chunks
    )
    cache = _DISTINCT_CACHE
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return hit[1]
    enc = pc.dictionary_encode(arr.combine_chunks().cast(pa.string()))
    dictionary, indices = enc.dictionary, enc.indices
    codes = indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    out = _Distinct(codes, dictionary.cast(pa.string()))
    if cache is not None:
        if len(cache) >= 8:
            cache.pop(next(iter(cache)))
        cache[key] = (arr, out)  # arr kept: its buffers are not reused meanwhile
    return out


def _spread(codes: np.ndarray, per_unique: pd.Series | np.ndarray, fill, index) -> pd.Series:
    """Each row's value from its distinct value's (``fill`` where missing)."""
    vals = np.asarray(per_unique)
    full = np.empty(len(vals) + 1, dtype=vals.dtype)
    full[:-1] = vals
    full[-1] = fill
    return pd.Series(full[codes], index=index, copy=False)  # (a fresh array: not copied)


def _arrow_text(codes: np.ndarray, dictionary, index) -> pd.Series:
    """Each row's text from its distinct value's, as an Arrow-backed ``str`` column (the
    dtype the finished tables have), missing where the code is -1 or the value null."""
    import pyarrow as pa

    if not isinstance(dictionary, pa.Array):
        dictionary = pa.array(np.asarray(dictionary, dtype=object), type=pa.string())
    taken = dictionary.take(pa.array(codes, mask=codes < 0))
    out = taken.to_pandas(types_mapper={pa.string(): _STR}.get)
    return out.set_axis(index)


def _arrow_text_stripped(values: pd.Series) -> pd.Series:
    """:func:`_text` of an Arrow text column, cell by cell in Arrow (Python only for
    cells with whitespace at an end), as an Arrow-backed ``str`` column: the column
    itself when no cell changes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _arrow_strings(values)
    edge = pc.match_substring_regex(arr, _EDGE_SPACE)
    empty = pc.equal(arr, "")
    if not pc.any(edge).as_py() and not pc.any(empty).as_py() and values.dtype == _STR:
        return values
    arr = arr.combine_chunks().cast(pa.string())
    edge = edge.combine_chunks().to_numpy(zero_copy_only=False)
    edge = edge.astype(bool)  # (missing cells: False)
    if edge.any():
        done = pa.array([v.strip() for v in arr.filter(pa.array(edge)).to_pylist()], pa.string())
        arr = pc.replace_with_mask(arr, pa.array(edge), done)
    arr = pc.if_else(pc.equal(arr, ""), None, arr)
    return arr.to_pandas(types_mapper={pa.string(): _STR}.get).set_axis(values.index)


#: the dtype CSV text and the finished tables' text columns have
_STR = pd.StringDtype("pyarrow", na_value=np.nan)


def parse_dates(
    values: pd.Series, fmt: str | None = None
) -> tuple[pd.Series, pd.Series, str | None]:
    """Parse a column of dates.

    Without ``fmt``, the format of :data:`DATE_FORMATS` that parses the most values is
    used for the whole column (a column never mixes day-first and month-first).

    Returns
    -------
    parsed : Series of datetime64[ns], normalised to midnight
    bad : boolean Series, True where a non-empty value did not parse, or parsed to a
        date outside what datetime64[ns] holds (years 1678-2261, e.g. ``9999-12-31``)
    used : the format used (None when the values were already dates)
    """
    wide, bad, used = _parse_dates_wide(values, fmt)
    outside = wide.notna() & ((wide < _NS_MIN) | (wide > _NS_MAX))
    return wide.where(~outside).astype("datetime64[ns]"), bad | outside, used


#: what datetime64[ns] holds, with a margin (dates outside are sentinels or typos)
_NS_MIN = pd.Timestamp("1678-01-01").as_unit("us")
_NS_MAX = pd.Timestamp("2262-04-01").as_unit("us")


def _as_us(v) -> np.datetime64:
    """A date, datetime or Timestamp as datetime64[us] (any year 1-9999)."""
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime(warn=False)
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        v = v.replace(tzinfo=None)
    return np.datetime64(v, "us")


def _parse_dates_wide(
    values: pd.Series, fmt: str | None = None
) -> tuple[pd.Series, pd.Series, str | None]:
    """:func:`parse_dates` in datetime64[us]: years 1-9999 parse (sentinels, typos)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        return (
            out.astype("datetime64[us]").dt.normalize(),
            pd.Series(False, index=values.index),
            None,
        )
    distinct = _distinct(values)
    if distinct is not None:
        return _parse_distinct_dates(distinct, values.index, fmt)
    raw = values.astype("object")
    is_dateobj = raw.map(lambda v: isinstance(v, (dt.date, pd.Timestamp)))
    text = raw.where(~is_dateobj).map(
        lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
    )
    empty = text.isna() | (text == "")
    empty &= ~is_dateobj
    candidates = [fmt] if fmt else list(DATE_FORMATS)
    best, best_ok, best_fmt = None, -1, None
    todo = text[~empty & ~is_dateobj]
    if len(todo) == 0:
        best = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    else:
        for f in candidates:
            parsed = pd.to_datetime(todo, format=f, errors="coerce").astype("datetime64[us]")
            ok = int(parsed.notna().sum())
            if ok > best_ok:
                best, best_ok, best_fmt = parsed, ok, f
            if ok == len(todo):
                break
        best = best.reindex(values.index)
    if is_dateobj.any():
        objs = pd.Series(raw[is_dateobj].map(_as_us).to_numpy(dtype="datetime64[us]"))
        best = best.copy()
        best[is_dateobj] = objs.to_numpy()
    best = best.astype("datetime64[us]").dt.normalize()
    bad = best.isna() & ~empty
    return best, bad, best_fmt


def _parse_distinct_dates(d: _Distinct, index, fmt):
    """:func:`_parse_dates_wide` of a text column given as its distinct values.

    The format is the one that parses the most rows (each distinct value weighs its
    count), the first in :data:`DATE_FORMATS` on a tie, as per cell; a format that
    cannot win (it misses too much of a sample) is not tried on all values.
    """
    import pyarrow.compute as pc

    codes = d.codes
    n_unique = len(d.dictionary)
    text = d.stripped()
    counts = np.bincount(codes[codes >= 0], minlength=n_unique)
    empty_u = pc.equal(text, "").to_numpy(zero_copy_only=False).astype(bool)
    keep = ~empty_u
    todo = pd.Series(
        text.filter(keep).to_numpy(zero_copy_only=False), index=np.flatnonzero(keep), dtype=object
    )
    weight = counts[keep]
    total = int(weight.sum())
    candidates = [fmt] if fmt else list(DATE_FORMATS)
    best, best_fmt = None, None
    if len(todo) == 0:
        best = pd.Series(pd.NaT, index=np.arange(n_unique), dtype="datetime64[us]")
    else:

        def parse(f, what):
            return pd.to_datetime(what, format=f, errors="coerce").astype("datetime64[us]")

        # What a format misses in a sample it misses everywhere: total - missed is the
        # most it can read. Formats are tried from the highest such bound down, and one
        # that cannot beat (or tie, earlier in the list) the best so far is not parsed.
        step = max(1, len(todo) // 500)
        at = np.arange(0, len(todo), step)
        sample, sample_weight = todo.iloc[at], weight[at]
        bound = {}
        for k, f in enumerate(candidates):
            missed = (
                int(sample_weight[parse(f, sample).isna().to_numpy()].sum())
                if len(candidates) > 1
                else 0
            )
            bound[k] = total - missed
        best_ok, best_k = -1, -1
        for k in sorted(bound, key=lambda k: (-bound[k], k)):
            if best_k >= 0 and (bound[k] < best_ok or (bound[k] == best_ok and k > best_k)):
                continue
            parsed = parse(candidates[k], todo)
            ok = int(weight[parsed.notna().to_numpy()].sum())
            if ok > best_ok or (ok == best_ok and k < best_k):
                best, best_ok, best_k, best_fmt = parsed, ok, k, candidates[k]
        best = best.reindex(np.arange(n_unique))
    best = best.astype("datetime64[us]").dt.normalize()
    bad_u = (best.isna() & ~empty_u).to_numpy()
    parsed_rows = _spread(codes, best.to_numpy(), np.datetime64("NaT", "us"), index)
    bad_rows = _spread(codes, bad_u, False, index)
    return parsed_rows, bad_rows, best_fmt


_UNIT_SUFFIX = {"万": 1e4, "萬": 1e4, "亿": 1e8, "億": 1e8, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6}
_CURRENCY = re.compile(
    r"(?i)^([+-]?)\s*(?:cny|rmb|usd|eur|us\$|[¥￥$€])\s*"  # a prefix keeps its sign
    r"|\s*(?:cny|rmb|usd|eur|元|[¥￥$€])$"
)
#: What is left of an amount once currency, units and % are gone: a decimal point and
#: optional thousands groups (comma, space or apostrophe), or scientific notation.
#: Anything else ("1.234,50", "12,5") is reported rather than guessed at.
_NUMBER = re.compile(
    r"[+-]?(?:\d+|\d{1,3}(?:,\d{3})+|\d{1,3}(?:[ \u00a0\u202f']\d{3})+)(?:\.\d+)?"
    r"|[+-]?\.\d+|[+-]?\d+(?:\.\d+)?[eE][+-]?\d+"
)


_CURRENCY_CODE = {
    "¥": "CNY",
    "￥": "CNY",
    "元": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "$": "USD",
    "us$": "USD",
    "usd": "USD",
    "€": "EUR",
    "eur": "EUR",
}
_CURRENCY_TOKEN = re.compile(
    r"(?i)^[(+-]?\s*(cny|rmb|usd|eur|us\$|[¥￥$€])|(cny|rmb|usd|eur|元|[¥￥$€])\)?$"
)


def _currencies(values: pd.Series) -> dict[str, int]:
    """Currencies written in a column of amounts → the first position showing each."""
    distinct = _distinct(values)
    if distinct is not None:
        # a plain decimal names no currency; the others, in the order they first appear
        rest = ~distinct.matches(_PLAIN)
        if not rest.any():
            return {}
        codes = distinct.codes
        first_row = np.full(len(rest), len(codes), dtype=np.int64)
        np.minimum.at(first_row, codes[codes >= 0], np.flatnonzero(codes >= 0))
        others = distinct.python(rest)
        others = others.iloc[np.argsort(first_row[others.index], kind="stable")]
        return {
            code: int(first_row[others.index[pos]])
            for code, pos in _currencies(others.reset_index(drop=True)).items()
        }
    found: dict[str, int] = {}
    for pos, v in enumerate(values):
        if isinstance(v, str):
            m = _CURRENCY_TOKEN.search(v.strip())
            if m:
                found.setdefault(_CURRENCY_CODE[(m.group(1) or m.group(2)).lower()], pos)
    return found


def parse_amounts(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse money/number text: ``"¥1,234.50"``, ``"CNY 1,234"``, ``"12.5万"``, ``"(100)"``.

    Returns the float values and a boolean mask of non-empty values that did not parse.
    Parentheses mean a negative number (accounting style); sign checks come later.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        out = values.astype("float64")
        return out, pd.Series(False, index=values.index)
    distinct = _distinct(values)
    if distinct is not None:
        codes = distinct.codes
        num, bad = _parse_plain_first(distinct)
        return (
            _spread(codes, num.to_numpy(dtype="float64"), np.nan, values.index),
            _spread(codes, bad.to_numpy(dtype=bool), False, values.index),
        )
    text = values.astype("object").map(
        lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
    )
    empty = text.isna() | (text == "")
    s = text.fillna("")
    neg = s.str.match(r"^\(.*\)$")
    s = s.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    for _ in range(2):
        s = s.str.replace(_CURRENCY, r"\1", regex=True).str.strip()
    mult = pd.Series(1.0, index=s.index)
    for suffix, m in _UNIT_SUFFIX.items():
        has = s.str.endswith(suffix)
        if has.any():
            mult[has] = m
            s = s.where(~has, s.str[: -len(suffix)].str.strip())
    s = s.str.rstrip("%").str.strip()
    ok = s.str.fullmatch(_NUMBER).fillna(False).astype(bool)
    s = s.str.replace(r"[,\s\u00a0\u202f']", "", regex=True)
    num = pd.to_numeric(s.where(ok & ~empty), errors="coerce")
    num = num * mult
    num[neg] = -num[neg]
    bad = num.isna() & ~empty
    return num.astype("float64"), bad


#: a plain decimal (what most exports write): parsed as is, no currency or units to take off
_PLAIN = r"^[+-]?[0-9]+(?:\.[0-9]+)?$"


def _parse_plain_first(d: _Distinct) -> tuple[pd.Series, pd.Series]:
    """:func:`parse_amounts` of distinct strings: plain decimals straight to numbers (as
    the full parse ends for them), the rest through the full parse."""
    plain = d.matches(_PLAIN)
    num = pd.Series(np.nan, index=np.arange(len(plain)), dtype="float64")
    bad = pd.Series(False, index=num.index)
    if plain.any():
        num[plain] = pd.to_numeric(d.python(plain)).astype("float64").to_numpy()
    if not plain.all():
        rest_num, rest_bad = parse_amounts(d.python(~plain))
        num[~plain] = rest_num.to_numpy()
        bad[~plain] = rest_bad.to_numpy()
    return num, bad


def _parse_bool(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(values):
        return values.astype("boolean"), pd.Series(False, index=values.index)

    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        t = str(v).strip().lower()
        if t in _TRUE:
            return True
        if t in _FALSE:
            return pd.NA if t == "" else False
        return "bad"

    mapped = values.astype("object").map(one)
    bad = mapped.map(lambda x: isinstance(x, str))
    out = mapped.where(~bad, pd.NA).astype("boolean")
    return out, bad


def _text(values: pd.Series) -> pd.Series:
    """Canonical text: trimmed strings, missing as None; floats like 12.0 lose '.0'."""

    def one(v):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        t = str(v).strip()
        return t if t else None

    distinct = _distinct(values)
    if distinct is not None:  # all str: stripped, "" as None
        text = distinct.python()
        text = text.map(str.strip)
        return _spread(distinct.codes, text.where(text != "", None).to_numpy(), None, values.index)
    return values.astype("object").map(one)


# --------------------------------------------------------------------------- reading


def _read_source(
    data_path: Path | str, tm: TableMapping, table: str
) -> tuple[pd.DataFrame, str, int]:
    """Read one source into a DataFrame of raw values; returns (frame, label, first_row)."""
    src = tm.source
    if isinstance(data_path, str) and "://" in data_path:
        import sqlalchemy as sa

        label = f"{_redact(data_path)} table {src}"
        engine = None
        try:
            engine = sa.create_engine(data_path)
            with engine.connect() as conn:
                if re.match(r"(?is)^\s*select\b", src):
                    df = pd.read_sql_query(sa.text(src), conn)
                else:
                    names = sa.inspect(conn).get_table_names()
                    if src not in names:
                        raise DataError(
                            ValidationReport(
                                [
                                    Issue(
                                        table,
                                        label,
                                        None,
                                        None,
                                        None,
                                        f"no such SQL table (mapping tables.{table}.source)"
                                        f"{_closest(src, names)}; tables in the database: "
                                        f"{', '.join(names) or 'none'}",
                                    )
                                ]
                            )
                        )
                    df = pd.read_sql_table(src, conn)
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001 - a database error becomes a message
            first_line = str(e).splitlines()[0] if str(e) else ""
            raise DataError(
                ValidationReport(
                    [
                        Issue(
                            table,
                            label,
                            None,
                            None,
                            None,
                            f"cannot read: {type(e).__name__}: {first_line}",
                        )
                    ]
                )
            ) from None
        finally:
            if engine is not None:
                engine.dispose()
        return df, label, 1
    path = Path(data_path) / src if Path(data_path).is_dir() else Path(data_path)
    label = str(path)
    if not path.exists():
        near = (
            _closest(src, [f.name for f in path.parent.iterdir()]) if path.parent.is_dir() else ""
        )
        raise DataError(
            ValidationReport(
                [
                    Issue(
                        table,
                        label,
                        None,
                        None,
                        None,
                        f"file not found (mapping tables.{table}.source){near}",
                    )
                ]
            )
        )
    kind = _not_a_file(path)
    if kind:
        raise DataError(
            ValidationReport(
                [
                    Issue(
                        table,
                        label,
                        None,
                        None,
                        None,
                        f"{kind}, not a file; expected a regular file "
                        f"(mapping tables.{table}.source)",
                    )
                ]
            )
        )
    suffix = path.suffix.lower()
    try:
        head = _head(path) if suffix in (".csv", ".txt", ".tsv") else b"x"
    except OSError as e:
        raise DataError(
            ValidationReport(
                [Issue(table, label, None, None, None, f"cannot read the file: {e.strerror or e}")]
            )
        ) from None
    if not head.strip():
        raise DataError(
            ValidationReport(
                [
                    Issue(
                        table,
                        label,
                        None,
                        None,
                        None,
                        "the file is empty; expected a header row and data rows",
                    )
                ]
            )
        )
    try:
        if suffix in (".csv", ".txt", ".tsv"):
            df = _read_csv(path, tm.skip_rows, sep="\t" if suffix == ".tsv" else None)
            first = 2
        elif suffix in (".xlsx", ".xlsm", ".xls"):
            df = pd.read_excel(
                path,
                sheet_name=tm.sheet if tm.sheet is not None else 0,
                skiprows=tm.skip_rows,
                dtype=object,
            )
            first = 2
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
            first = 1
        else:
            raise DataError(
                ValidationReport(
                    [
                        Issue(
                            table,
                            label,
                            None,
                            None,
                            suffix,
                            "unsupported file type; expected .csv, .tsv, .xlsx or .parquet",
                        )
                    ]
                )
            )
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - unreadable file becomes a message
        raise DataError(
            ValidationReport(
                [
                    Issue(
                        table,
                        label,
                        None,
                        None,
                        None,
                        f"cannot read the file: {type(e).__name__}: "
                        f"{str(e).splitlines()[0] if str(e) else ''}",
                    )
                ]
            )
        ) from None
    if not isinstance(df.index, pd.RangeIndex):  # a Parquet file saved with its index
        df = df.reset_index()
    df = df.reset_index(drop=True)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    # Blank lines are not records, but they are rows a person counts: drop them and keep
    # each record's position (the index) so row numbers still match the spreadsheet.
    blank = df.isna().all(axis=1)
    if blank.any():  # (dropna copies every column, even when nothing goes)
        df = df[~blank]
    return df, label, first + tm.skip_rows


def _not_a_file(path: Path) -> str:
    """What ``path`` is when it is not a regular file ("a folder", "a named pipe", ...),
    or ``""``. Checked before opening: reading a pipe or a device can block forever."""
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _head(path: Path, size: int = 65536) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


def _read_csv(path: Path, skip_rows: int, sep: str | None) -> pd.DataFrame:
    """The file's cells as text (empty cells missing), blank lines kept as empty rows.

    Read by Arrow when it can (UTF-8, a delimiter sniffed from the header as pandas'
    Python engine sniffs it, distinct column names, every row as wide as the header);
    any other file, and any file Arrow refuses, the way it always was.
    """
    fast = _read_csv_arrow(path, skip_rows, sep)
    if fast is not None:
        return fast
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost anything
        text = raw.decode("latin-1")
    import io

    return pd.read_csv(
        io.StringIO(text),
        sep=sep,
        engine="python" if sep is None else "c",
        skiprows=skip_rows,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skip_blank_lines=False,
    )


def _read_csv_arrow(path: Path, skip_rows: int, sep: str | None) -> pd.DataFrame | None:
    """:func:`_read_csv` by pyarrow, or None when the file needs the per-line reader."""
    import csv
    import io

    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        with path.open("rb") as f:
            for _ in range(skip_rows):
                f.readline()
            header = f.readline().decode("utf-8")
        header = header.removeprefix("\ufeff") if skip_rows == 0 else header
        if sep is None:
            sep = csv.Sniffer().sniff(header).delimiter
        names = next(csv.reader(io.StringIO(header), delimiter=sep, strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration, OSError):
        return None
    if len(sep) != 1 or len(set(names)) != len(names) or not all(names):
        return None  # pandas renames duplicate and empty names; leave that to it

    def read(newlines_in_values: bool):
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(skip_rows=skip_rows, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(
                delimiter=sep,
                newlines_in_values=newlines_in_values,
                ignore_empty_lines=False,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )

    errors = (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OSError)
    # Values with line breaks in them make Arrow's reader 5-10x slower, and are rare:
    # read as if there were none, and again allowing them unless every line was a record.
    table = None
    if len(names) > 1:
        try:
            table = read(False)
        except errors:
            table = None
        if table is not None and table.num_rows + 1 + skip_rows != _count_lines(path):
            table = None
    if table is None:
        try:
            table = read(True)
        except errors:
            return None
    if table.column_names != names:
        return None
    return table.to_pandas(types_mapper={pa.string(): _STR}.get)


def _count_lines(path: Path) -> int:
    """Lines in a file (a last line without a line break counts)."""
    n, last = 0, b""
    with path.open("rb") as f:
        while chunk := f.read(1 << 24):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last not in (b"\n", b""))


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


# --------------------------------------------------------------------------- mapping


def _apply_mapping(
    df: pd.DataFrame,
    table: Table,
    tm: TableMapping,
    label: str,
    first_row: int,
    issues: list[Issue],
    sources: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Rename source columns to canonical ones; report missing columns.

    ``sources`` (if given) receives canonical column → the file's column name.
    """
    out = pd.DataFrame(index=df.index)
    positions = np.asarray(df.index, dtype=np.int64)
    cols = {c.name: c for c in table.columns}
    relaxed = _filled_columns(tm)
    for name in table.column_names:
        src = tm.columns.get(name, name if name in df.columns else None)
        if isinstance(src, tuple):
            present = [s for s in src if s in df.columns or s == "@row"]
            src = present[0] if present else " | ".join(src)
        if name in tm.constants:
            out[name] = tm.constants[name]
        elif src == "@row":
            out[name] = [f"row-{i + first_row}" for i in positions]
        elif src is not None and src in df.columns:
            out[name] = df[src]
            if sources is not None:
                sources[name] = src
        elif src is not None and name in tm.columns:
            close = _closest(src, list(df.columns))
            required = cols[name].required and name not in relaxed
            issues.append(
                Issue(
                    table.name,
                    label,
                    None,
                    src,
                    None,
                    f"column {src!r} (mapped to {name!r}) is not in the file{close}; "
                    + ("" if required else f"{name} left empty; ")
                    + f"file columns: {', '.join(map(str, df.columns[:30]))}",
                    severity="error" if required else "warning",
                )
            )
        elif cols[name].required and name not in relaxed:
            rules = MISSING_RULES.get((table.name, name), ())
            also = (
                f", or let simlib fill it (tables.{table.name}.missing: {{{name}: {rules[1]}}})"
                if len(rules) > 1
                else ""
            )
            issues.append(
                Issue(
                    table.name,
                    label,
                    None,
                    name,
                    None,
                    f"required column {name!r} is missing; map it in the mapping's "
                    f"tables.{table.name}.columns or add it to the file{also}",
                )
            )
    for k, src in enumerate(tm.hierarchy):
        if src in df.columns:
            out[f"_level{k}"] = df[src]
        else:
            issues.append(
                Issue(
                    table.name,
                    label,
                    None,
                    src,
                    None,
                    f"hierarchy column {src!r} is not in the file"
                    f"{_closest(src, list(df.columns))}; "
                    f"file columns: {', '.join(map(str, df.columns[:30]))}",
                )
            )
    out["_row"] = positions + first_row
    return out


def _filled_columns(tm: TableMapping) -> set[str]:
    """Required columns this mapping fills when empty (``missing:``) or builds itself."""
    out = {c for c, rule in tm.missing.items() if rule != "reject"}
    if tm.hierarchy:
        out.add("team_id")
    return out


def _closest(name: str, options: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (closest: {close[0]!r})" if close else ""


def _coerce(
    df: pd.DataFrame,
    table: Table,
    tm: TableMapping,
    aliases: dict[str, dict[str, str]],
    label: str,
    issues: list[Issue],
    checks: Checks | None = None,
) -> pd.DataFrame:
    """Parse each column to its kind; report every cell that does not fit."""
    checks = checks or Checks()
    out = df.copy()
    rows = df["_row"]

    def flag(mask: pd.Series, col: str, raw: pd.Series, msg: str, severity="error"):
        for i in np.flatnonzero(mask.to_numpy()):
            v = raw.iloc[i]
            v = None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v
            issues.append(Issue(table.name, label, int(rows.iloc[i]), col, v, msg, severity))

    for c in table.columns:
        if c.name not in df.columns:
            continue
        raw = df[c.name]
        if c.kind == "date":
            fmt = tm.date_formats.get(c.name, tm.date_format)
            parsed, bad, used = _parse_dates_wide(raw, fmt)
            expected = (
                f"a date in format {fmt!r}"
                if fmt
                else (
                    f"a date like 2025-03-31 (this column reads as {used!r}; "
                    "fix the format with date_format in the mapping)"
                    if used
                    else "a date like 2025-03-31"
                )
            )
            flag(bad, c.name, raw, f"unparseable date; expected {expected}")
            if not fmt and used in _SWAPPED and not bad.any():
                alt, alt_bad, _ = _parse_dates_wide(raw, _SWAPPED[used])
                if not alt_bad.any() and not alt.equals(parsed):
                    issues.append(
                        Issue(
                            table.name,
                            label,
                            None,
                            c.name,
                            None,
                            f"ambiguous dates: every value reads as {used!r} and as "
                            f"{_SWAPPED[used]!r}; read as {used!r} (set date_format in the "
                            "mapping to be sure)",
                            severity="warning",
                        )
                    )
            out[c.name] = _plausible_dates(
                parsed, c.name, c.required, raw, rows, table.name, label, issues, checks
            )
        elif c.kind in ("money", "number", "int"):
            num, bad = parse_amounts(raw)
            flag(
                bad,
                c.name,
                raw,
                "not a number"
                + ("; expected an amount like 1,234.50 or 12.5万" if c.kind == "money" else ""),
            )
            found = _currencies(raw) if c.kind == "money" else {}
            if len(found) > 1:
                # Amounts are never converted: adding USD to CNY would be silently wrong.
                examples = ", ".join(
                    f"{code} (row {int(rows.iloc[pos])})" for code, pos in sorted(found.items())
                )
                issues.append(
                    Issue(
                        table.name,
                        label,
                        None,
                        c.name,
                        None,
                        f"amounts in more than one currency: {examples}; expected one "
                        "currency (convert the amounts, or export one currency)",
                    )
                )
            if c.name in tm.scale:
                num = num * tm.scale[c.name]
            num = _plausible_numbers(num, c, raw, rows, table.name, label, issues, checks)
            if c.kind in ("money", "int"):
                flag(num < 0, c.name, raw, "negative; expected an amount >= 0")
            if c.kind == "int":
                frac = num.notna() & (num != np.floor(num.fillna(0)))
                flag(frac, c.name, raw, "expected a whole number")
            out[c.name] = num
        elif c.kind == "bool":
            b, bad = _parse_bool(raw)
            flag(bad, c.name, raw, "expected true/false (yes/no, 1/0, 是/否)")
            out[c.name] = b
        else:
            vmap = tm.values.get(c.name)
            alias_kind = _ALIAS_KIND.get((table.name, c.name))
            amap = aliases.get(alias_kind, {}) if alias_kind else {}
            lookup = {str(k).strip().lower(): v for k, v in {**amap, **(vmap or {})}.items()}

            distinct = _distinct(raw) if vmap or amap else None

            def translate(txt, lookup=lookup):
                # pandas may hold missing text as NaN rather than None
                return txt.map(lambda x: lookup.get(x.lower(), x) if isinstance(x, str) else None)

            arrow = _arrow_strings(raw) if not (vmap or amap) else None
            if arrow is not None:  # nothing to look up: stripped, "" as missing, as is
                txt = _arrow_text_stripped(raw)
            elif distinct is not None:  # each distinct value once, kept as Arrow text
                import pyarrow.compute as pc

                text = distinct.stripped()
                text = pc.if_else(pc.equal(text, ""), None, text)
                if vmap or amap:
                    text = translate(pd.Series(text.to_numpy(zero_copy_only=False), dtype=object))
                txt = _arrow_text(distinct.codes, text, raw.index)
            else:
                txt = _text(raw)
                if vmap or amap:
                    txt = translate(txt)
            if c.kind == "enum":
                allowed = set(c.allowed or ())
                badv = txt.notna() & ~txt.isin(allowed)
                hint = (
                    f"; map it under values.{c.name} in the mapping"
                    if vmap or not c.required
                    else ""
                )
                expected = f"expected one of {', '.join(c.allowed or ())}{hint}"
                if c.required:
                    flag(badv, c.name, raw, f"unknown {c.name} value; {expected}")
                else:
                    # An optional field with an unmapped value: keep the row, clear
                    # the field, and say so.
                    flag(
                        badv,
                        c.name,
                        raw,
                        f"unknown {c.name} value left empty; {expected}",
                        severity="warning",
                    )
                    txt = txt.where(~badv, None)
            out[c.name] = txt
        if c.required and c.name not in _filled_columns(tm):
            missing = (
                out[c.name].isna()
                if c.kind not in ("money", "number", "int")
                else out[c.name].isna()
            )
            missing &= ~_already_flagged(issues, table.name, label, c.name, rows)
            flag(missing, c.name, raw, f"missing value; {c.name} is required")
    return out


def _issues_at(mask, col, raw, rows, table, label, msg, severity="error") -> list[Issue]:
    """One issue per True in ``mask``, showing the cell as it was read."""
    out = []
    for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
        v = raw.iloc[i]
        v = None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v
        out.append(Issue(table, label, int(rows.iloc[i]), col, v, msg, severity))
    return out


def _date_bounds(checks: Checks) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Plausible dates: checks.min_date to the end of the year checks.max_years_ahead on."""
    lo = max(pd.Timestamp(checks.min_date).as_unit("us"), _NS_MIN)
    last = pd.Timestamp(dt.date.today().year + checks.max_years_ahead, 12, 31)
    hi = min(last.as_unit("us"), _NS_MAX)
    return lo, hi


def _plausible_dates(
    parsed, col, required, raw, rows, table, label, issues, checks: Checks
) -> pd.Series:
    """CRM "no date" placeholders and dates outside checks.min_date .. max_years_ahead.

    A placeholder (checks.sentinel_dates, e.g. 9999-12-31) is read as an empty date
    and counted in a warning; where the column is required, or checks.sentinel_action
    is reject, it is the row's error. Any other date out of range is an error. Returns
    the column as datetime64[ns] with those cells empty.
    """
    sentinels = np.array([_as_us(d) for d in checks.sentinel_dates], dtype="datetime64[us]")
    sent = parsed.isin(sentinels) & parsed.notna()
    lo, hi = _date_bounds(checks)
    early = parsed.notna() & ~sent & (parsed < lo)
    late = parsed.notna() & ~sent & (parsed > hi)
    span = f"expected a date from {lo.date()} to {hi.date()}"
    issues += _issues_at(
        early,
        col,
        raw,
        rows,
        table,
        label,
        f"date before {lo.date()}; {span} (checks.min_date in the mapping)",
    )
    issues += _issues_at(
        late,
        col,
        raw,
        rows,
        table,
        label,
        f"date more than {checks.max_years_ahead} years ahead; {span} (a CRM 'no date' "
        "placeholder goes under checks.sentinel_dates in the mapping)",
    )
    if sent.any():
        if required or checks.sentinel_action == "reject":
            why = (
                f"{col} is required"
                if required
                else "rejected (checks.sentinel_action: reject in the mapping)"
            )
            issues += _issues_at(
                sent,
                col,
                raw,
                rows,
                table,
                label,
                f"a CRM 'no date' placeholder (checks.sentinel_dates); {why}",
            )
        else:
            i = int(np.flatnonzero(sent.to_numpy())[0])
            n = int(sent.sum())
            issues.append(
                Issue(
                    table,
                    label,
                    int(rows.iloc[i]),
                    col,
                    raw.iloc[i],
                    f"{n:,} CRM 'no date' placeholder(s) in this column (the first on this "
                    "row) read as empty dates (checks.sentinel_dates in the mapping)",
                    severity="warning",
                )
            )
    return parsed.where(~(sent | early | late)).astype("datetime64[ns]")


def _plausible_numbers(num, c, raw, rows, table, label, issues, checks: Checks) -> pd.Series:
    """Infinite and absurdly large values are errors; money is rounded to cents, counted.

    Cells with an error are left empty (the row is reported; nothing downstream sees
    an infinite or 1e30 amount).
    """
    if num.dtype != np.float64:
        num = num.astype("float64")  # (what parse_amounts gives; NaN for missing)
    v = num.to_numpy()  # array arithmetic below: pandas' per-op overhead and copies at 4M rows
    finite = np.isfinite(v) | np.isnan(v)
    inf = ~finite
    big = finite & (np.abs(v) > checks.max_amount)
    issues += _issues_at(inf, c.name, raw, rows, table, label, "not a finite number")
    what = "amount" if c.kind == "money" else "value"
    issues += _issues_at(
        big,
        c.name,
        raw,
        rows,
        table,
        label,
        f"implausibly large {what}; expected at most {checks.max_amount:,.0f} "
        "(checks.max_amount in the mapping)",
    )
    num = num.where(~(inf | big))
    if c.kind != "money":
        return num
    v = num.to_numpy()
    cents = v * 100.0
    near = np.rint(cents)
    tol = np.maximum(1e-6, np.abs(cents) * 1e-14)
    sub = (np.abs(cents - near) > tol) & ~np.isnan(v)
    if sub.any():
        half_up = np.sign(cents) * np.floor(np.abs(cents) + 0.5 + tol)
        rounded = pd.Series(np.where(sub, half_up, near), index=num.index) / 100.0
        i = int(np.flatnonzero(sub)[0])
        n = int(sub.sum())
        issues.append(
            Issue(
                table,
                label,
                int(rows.iloc[i]),
                c.name,
                raw.iloc[i],
                f"{n:,} value(s) in this column had fractions of a cent and were rounded "
                f"to cents, half up (on this row: {float(num.iloc[i])!r} → {rounded.iloc[i]:.2f})",
                severity="warning",
            )
        )
        return rounded
    return pd.Series(near / 100.0, index=num.index, name=num.name)


#: day-first and month-first twins: a column every value of which reads both ways
_SWAPPED = {
    "%m/%d/%Y": "%d/%m/%Y",
    "%d/%m/%Y": "%m/%d/%Y",
    "%m/%d/%Y %H:%M": "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M": "%m/%d/%Y %H:%M",
}

#: which alias list applies to which column (aliases: kind → {alias: canonical})
_ALIAS_KIND = {
    ("opportunities", "owner_id"): "owner",
    ("activities", "rep_id"): "owner",
    ("leads", "rep_id"): "owner",
    ("invoices", "rep_id"): "owner",
    ("nps", "rep_id"): "owner",
    ("customers", "owner_id"): "owner",
    ("reps", "rep_id"): "owner",
    ("opportunities", "product_id"): "product",
    ("products", "product_id"): "product",
    ("opportunities", "customer_id"): "customer",
    ("customers", "customer_id"): "customer",
    ("opportunities", "stage"): "stage",
    ("stage_history", "stage"): "stage",
}


def _already_flagged(issues, table, label, col, rows) -> pd.Series:
    flagged = {i.row for i in issues if i.table == table and i.file == label and i.column == col}
    return rows.isin(flagged).reset_index(drop=True).set_axis(rows.index)


# --------------------------------------------------------------------------- checks


def _row_checks(name: str, df: pd.DataFrame, label: str, issues: list[Issue]) -> None:
    """Rules within one table: duplicate keys and date order."""
    table = TABLES[name]
    key = [k for k in table.key if k in df.columns]
    if len(key) == len(table.key) and len(df):
        dup = df.duplicated(key, keep="first") & df[key].notna().all(axis=1)
        if dup.any():
            firsts = df.drop_duplicates(key, keep="first").set_index(key)["_row"]
        for i in np.flatnonzero(dup.to_numpy()):
            r = df.iloc[i]
            k = tuple(r[key]) if len(key) > 1 else r[key[0]]
            first = (
                firsts.loc[k] if not isinstance(firsts.loc[k], pd.Series) else firsts.loc[k].iloc[0]
            )
            issues.append(
                Issue(
                    name,
                    label,
                    int(r["_row"]),
                    ", ".join(key),
                    _plain(k),
                    f"duplicate {'/'.join(key)}; first seen on row {int(first)}",
                )
            )
    if name == "org" and {"node_id", "parent_id"} <= set(df.columns):
        _org_loops(df, label, issues)
    if name == "opportunities" and {"created_date", "close_date", "stage"} <= set(df.columns):
        closed = df["stage"].isin(CLOSED_STAGES)
        before = closed & (df["close_date"] < df["created_date"])
        for i in np.flatnonzero(before.to_numpy()):
            r = df.iloc[i]
            issues.append(
                Issue(
                    name,
                    label,
                    int(r["_row"]),
                    "close_date",
                    str(r["close_date"].date()),
                    f"close date is before the created date {r['created_date'].date()}",
                )
            )
        exp_before = (
            df["expected_close_date"] < df["created_date"] if "expected_close_date" in df else None
        )
        if exp_before is not None:
            for i in np.flatnonzero((exp_before & ~closed).to_numpy()):
                r = df.iloc[i]
                issues.append(
                    Issue(
                        name,
                        label,
                        int(r["_row"]),
                        "expected_close_date",
                        str(r["expected_close_date"].date()),
                        "expected close date is before the created date "
                        f"{r['created_date'].date()}",
                    )
                )
    if name == "invoices" and {"issue_date", "due_date"} <= set(df.columns):
        bad = df["due_date"] < df["issue_date"]
        for i in np.flatnonzero(bad.to_numpy()):
            r = df.iloc[i]
            issues.append(
                Issue(
                    name,
                    label,
                    int(r["_row"]),
                    "due_date",
                    str(r["due_date"].date()),
                    f"due date is before the issue date {r['issue_date'].date()}",
                )
            )
    if name == "nps" and "score" in df.columns:
        bad = df["score"].notna() & ((df["score"] < 0) | (df["score"] > 10))
        for i in np.flatnonzero(bad.to_numpy()):
            r = df.iloc[i]
            issues.append(
                Issue(
                    name,
                    label,
                    int(r["_row"]),
                    "score",
                    r["score"],
                    "expected a score from 0 to 10",
                )
            )
    if name == "activities" and "rating" in df.columns:
        bad = df["rating"].notna() & ((df["rating"] < 1) | (df["rating"] > 5))
        for i in np.flatnonzero(bad.to_numpy()):
            r = df.iloc[i]
            issues.append(
                Issue(
                    name,
                    label,
                    int(r["_row"]),
                    "rating",
                    r["rating"],
                    "expected a rating from 1 to 5",
                )
            )
    if name == "opportunities" and "probability" in df.columns:
        bad = df["probability"].notna() & ((df["probability"] < 0) | (df["probability"] > 1))
        for i in np.flatnonzero(bad.to_numpy()):
            r = df.iloc[i]
            issues.append(
                Issue(
                    name,
                    label,
                    int(r["_row"]),
                    "probability",
                    r["probability"],
                    "expected a probability from 0 to 1 "
                    "(use scale: {probability: 0.01} for percentages)",
                )
            )


def _org_loops(df: pd.DataFrame, label: str, issues: list[Issue]) -> None:
    """A node that is its own parent or its own ancestor: an error on each such row."""
    from simlib.data.org import cycles

    first = df.drop_duplicates("node_id")
    ids = first["node_id"].to_numpy(dtype=object)
    parents = first["parent_id"].to_numpy(dtype=object)
    parent = {
        n: (None if p is None or (isinstance(p, float) and np.isnan(p)) else p)
        for n, p in zip(ids, parents)
        if n is not None
    }
    for loop in cycles(parent):
        if len(loop) == 1:
            msg = (
                "the node names itself as its parent; expected the node above it "
                "(empty for the company)"
            )
        else:
            chain = " → ".join(repr(n) for n in loop + [loop[0]])
            msg = (
                f"the organisation has a cycle: {chain}; expected a tree "
                "(a node may not be its own ancestor)"
            )
        hit = df["node_id"].isin(loop).to_numpy()
        for i in np.flatnonzero(hit):
            r = df.iloc[i]
            issues.append(Issue("org", label, int(r["_row"]), "parent_id", r["parent_id"], msg))


def _plain(k):
    if isinstance(k, tuple):
        return "/".join(str(x.date()) if isinstance(x, pd.Timestamp) else str(x) for x in k)
    return k


def _fk_checks(
    tables: dict[str, pd.DataFrame], labels: dict[str, str], issues: list[Issue]
) -> None:
    """Every foreign key names an existing row (unknown owners, products, ...)."""
    for name, df in tables.items():
        for fk in TABLES[name].foreign_keys:
            if fk.table not in tables or fk.column not in df.columns:
                continue
            refs = tables[fk.table][fk.ref].dropna()
            vals = df[fk.column]
            bad = vals.notna() & ~_isin(vals, refs)
            if not bad.any():
                continue
            known = set(refs)
            what = {
                "rep_id": "rep",
                "node_id": "org node",
                "product_id": "product",
                "customer_id": "customer",
                "opportunity_id": "opportunity",
                "invoice_id": "invoice",
            }.get(fk.ref, fk.ref)
            for i in np.flatnonzero(bad.to_numpy()):
                r = df.iloc[i]
                v = vals.iloc[i]
                close = _closest(v, known) if len(known) < 5000 else ""
                kind = {"rep_id": "owner", "product_id": "product", "customer_id": "customer"}
                fix = ""
                if fk.ref in kind and close:
                    target = close.split("'")[1] if "'" in close else ""
                    fix = (
                        f"; add an alias in the mapping: aliases: {{{kind[fk.ref]}: "
                        f"{{{_yaml_str(str(v))}: {_yaml_str(target)}}}}}"
                    )
                elif fk.ref in ("rep_id", "product_id"):
                    fix = "; add an alias in the mapping"
                issues.append(
                    Issue(
                        name,
                        labels.get(name, name),
                        int(r["_row"]) if "_row" in df else None,
                        fk.column,
                        v,
                        f"unknown {what}: not in {fk.table}.{fk.ref}{close}{fix}",
                    )
                )


def _isin(values: pd.Series, refs: pd.Series) -> pd.Series:
    """``values.isin(refs)``; by Arrow when both are Arrow text (pandas' own is ~15x
    slower there)."""
    import pyarrow.compute as pc

    a, b = _arrow_strings(values), _arrow_strings(refs)
    if a is None or b is None:
        return values.isin(refs)
    hit = pc.is_in(a, value_set=pc.unique(b.combine_chunks()))
    hit = hit.to_numpy(zero_copy_only=False).astype(bool)
    return pd.Series(hit, index=values.index)


def _map_unique(values: pd.Series, by: pd.Series) -> pd.Series:
    """``values.map(by)`` for ``by`` with a unique index; by Arrow when both are text."""
    import pyarrow.compute as pc

    a, keys = _arrow_strings(values), _arrow_strings(by.index.to_series())
    if a is None or keys is None:
        return values.map(by)
    pos = pc.index_in(a, value_set=keys.combine_chunks())
    pos = pos.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    target = by.to_numpy()
    out = np.empty(len(target) + 1, dtype=target.dtype)
    out[:-1] = target
    out[-1] = np.datetime64("NaT") if target.dtype.kind == "M" else np.nan
    return pd.Series(out[pos], index=values.index, dtype=by.dtype)


def _fmt_bound(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.4g}"


def _outlier_checks(
    name: str, df: pd.DataFrame, label: str, issues: list[Issue], checks: Checks
) -> None:
    """Amounts far outside their column's usual range (robust, per table and column).

    The bounds are median ± ``outlier_mads`` scaled MADs of log10(amount) over the
    column's non-zero amounts, never narrower than median ÷/× ``outlier_min_ratio``;
    ``checks.columns`` may fix them instead. Targets (company and rep amounts in one
    column) are checked only when listed there.
    """
    for c in TABLES[name].columns:
        if c.kind != "money" or c.name not in df.columns:
            continue
        key = f"{name}.{c.name}"
        cc = checks.columns.get(key)
        if name == "targets" and cc is None:
            continue
        action = (cc.outliers if cc is not None else None) or checks.outliers
        if action == "off":
            continue
        x = pd.to_numeric(df[c.name], errors="coerce").astype("float64")
        if cc is not None and (cc.min is not None or cc.max is not None):
            lo = cc.min if cc.min is not None else -np.inf
            hi = cc.max if cc.max is not None else np.inf
            bad = x.notna() & ((x < lo) | (x > hi))
            how = f"outside {_fmt_bound(lo)} to {_fmt_bound(hi)} (checks.columns.{key})"
        else:
            pos = x[x > 0]
            if len(pos) < checks.outlier_min_rows:
                continue
            lg = np.log10(pos)
            med = float(lg.median())
            mad = float((lg - med).abs().median()) * 1.4826
            mads = cc.mads if cc is not None and cc.mads is not None else checks.outlier_mads
            half = max(mads * mad, float(np.log10(checks.outlier_min_ratio)))
            lo, hi = 10 ** (med - half), 10 ** (med + half)
            bad = (x > 0) & ((x < lo) | (x > hi))
            how = (
                f"far outside this column's usual range {_fmt_bound(lo)} to {_fmt_bound(hi)} "
                f"(median {_fmt_bound(10**med)}, {mads:g} robust deviations; "
                f"checks.outlier_mads / checks.columns.{key} in the mapping)"
            )
        severity = "error" if action == "reject" else "warning"
        issues += _issues_at(
            bad,
            c.name,
            x,
            df["_row"],
            name,
            label,
            f"{how}; a typo? expected a plausible amount"
            + ("" if severity == "error" else " (set checks.outliers: reject to reject it)"),
            severity,
        )


def _cross_checks(
    tables: dict[str, pd.DataFrame],
    labels: dict[str, str],
    issues: list[Issue],
    checks: Checks,
    skip: Iterable[str] = (),
) -> None:
    """Rules across tables: history dated before its deal, payments above their invoice,
    owner names that differ only by case or look-alike letters."""
    skip = set(skip)
    opp, sh = tables.get("opportunities"), tables.get("stage_history")
    if (
        opp is not None
        and sh is not None
        and "stage_history" not in skip
        and {"opportunity_id", "created_date"} <= set(opp.columns)
        and {"opportunity_id", "changed_date"} <= set(sh.columns)
    ):
        created = opp.drop_duplicates("opportunity_id").set_index("opportunity_id")["created_date"]
        when = _map_unique(sh["opportunity_id"], created)
        before = (sh["changed_date"] < when).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(before):
            r = sh.iloc[i]
            issues.append(
                Issue(
                    "stage_history",
                    labels.get("stage_history", "stage_history"),
                    int(r["_row"]),
                    "changed_date",
                    str(r["changed_date"].date()),
                    "stage change dated before its opportunity was created "
                    f"({when.iloc[i].date()}); expected on or after the created date",
                )
            )
    rev = tables.get("reversals")
    if (
        opp is not None
        and rev is not None
        and {"opportunity_id", "stage", "close_date"} <= set(opp.columns)
        and {"opportunity_id", "reversal_date"} <= set(rev.columns)
        and len(rev)
    ):
        deals = opp.drop_duplicates("opportunity_id").set_index("opportunity_id")
        stage = rev["opportunity_id"].map(deals["stage"])
        closed = rev["opportunity_id"].map(deals["close_date"])
        label = labels.get("reversals", "reversals")
        for i in np.flatnonzero((stage.notna() & (stage != "won")).to_numpy(dtype=bool)):
            r = rev.iloc[i]
            issues.append(
                Issue(
                    "reversals",
                    label,
                    int(r["_row"]),
                    "opportunity_id",
                    r["opportunity_id"],
                    f"a reversal of a deal that is {stage.iloc[i]}, not won; only won deals "
                    "can be reversed",
                )
            )
        early = (rev["reversal_date"] < closed).fillna(False).to_numpy(dtype=bool)
        for i in np.flatnonzero(early):
            r = rev.iloc[i]
            issues.append(
                Issue(
                    "reversals",
                    label,
                    int(r["_row"]),
                    "reversal_date",
                    str(r["reversal_date"].date()),
                    f"reversed before the deal closed ({closed.iloc[i].date()}); expected on "
                    "or after its close date",
                )
            )
    inv, pay = tables.get("invoices"), tables.get("payments")
    if (
        inv is not None
        and pay is not None
        and {"invoice_id", "amount"} <= set(inv.columns)
        and {"invoice_id", "amount"} <= set(pay.columns)
        and len(pay)
    ):
        billed = inv.drop_duplicates("invoice_id").set_index("invoice_id")["amount"]
        limit = pay["invoice_id"].map(billed) * checks.payment_tolerance
        amount = pd.to_numeric(pay["amount"], errors="coerce")
        single = (amount > limit).fillna(False)
        order = pay.assign(_amt=amount.fillna(0.0)).sort_values(
            ["invoice_id", "date", "_row"] if "date" in pay else ["invoice_id", "_row"],
            kind="stable",
        )
        cum = order.groupby("invoice_id", sort=False)["_amt"].cumsum()
        lim = limit.reindex(order.index)
        crossing = ((cum > lim) & (cum - order["_amt"] <= lim)).reindex(pay.index).fillna(False)
        crossing &= ~single
        severity = "error" if checks.overpayment == "reject" else "warning"
        tol = f"x {checks.payment_tolerance:g}, checks.payment_tolerance in the mapping"
        label = labels.get("payments", "payments")
        for mask, what in (
            (single, "payment above its invoice's amount"),
            (crossing, "payments to this invoice now add up to more than its amount"),
        ):
            for i in np.flatnonzero(mask.to_numpy(dtype=bool)):
                r = pay.iloc[i]
                issues.append(
                    Issue(
                        "payments",
                        label,
                        int(r["_row"]),
                        "amount",
                        r["amount"],
                        f"{what} (invoice {r['invoice_id']!r}: "
                        f"{_fmt_bound(billed[r['invoice_id']])}); expected at most the "
                        f"invoice amount ({tol})",
                        severity,
                    )
                )
    _lookalike_owners(tables, labels, issues, skip)


#: Cyrillic and Greek letters that look like Latin ones (for comparing names).
_CONFUSABLES = str.maketrans(
    {
        **dict(zip("АВЕКМНОРСТУХІЈЅԚԜҺӀ", "ABEKMHOPCTYXIJSQWHI")),
        **dict(zip("аеорсухіјѕԁԛԝһӏкмнт", "aeopcyxijsdqwhlkmht")),
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "ABEZHIKMNOPTYX")),
        **dict(zip("αι\u03baνορυχγ", "aikvopuxy")),
    }
)


def _fold(name: str) -> str:
    """A name as compared for look-alikes: NFKC, no invisible characters, Cyrillic and
    Greek look-alikes as Latin letters, case folded, runs of spaces as one."""
    import unicodedata

    t = unicodedata.normalize("NFKC", name)
    t = "".join(ch for ch in t if unicodedata.category(ch) != "Cf")
    return " ".join(t.translate(_CONFUSABLES).casefold().split())


def _foreign_letters(name: str) -> str:
    """``"Cyrillic 'е'"`` for the look-alike letters in a name, or ``""``."""
    import unicodedata

    found = []
    for ch in dict.fromkeys(name):
        if ord(ch) > 127 and ch.translate(_CONFUSABLES) != ch:
            script = unicodedata.name(ch, "").split(" ")[0].title()
            found.append(f"{script} {ch!r} U+{ord(ch):04X}")
        elif unicodedata.category(ch) == "Cf":
            found.append(f"invisible U+{ord(ch):04X}")
    return ", ".join(found)


def _lookalike_owners(tables, labels, issues, skip) -> None:
    """Warn when owner names differ only by case, spacing or look-alike letters.

    ``HU YING``, ``Hu Ying`` and ``Hu Yіng`` (a Cyrillic і) would be three reps; each
    group is reported once, with the ``aliases`` lines that make them one.
    """
    cols = [
        (t, c)
        for (t, c), kind in _ALIAS_KIND.items()
        if kind == "owner" and t in tables and t not in skip and c in tables[t].columns
    ]
    if not cols:
        return
    values = pd.concat([tables[t][c] for t, c in cols], ignore_index=True).dropna()
    counts = values.value_counts(sort=False)  # in order of first appearance
    counts = counts[[isinstance(v, str) for v in counts.index]]  # per name, not per row
    if len(counts) < 2:
        return
    seen = {v: k for k, v in enumerate(counts.index)}
    folded = pd.Series(counts.index.map(_fold), index=counts.index)
    sizes = folded.map(folded.value_counts())
    if not (sizes > 1).any():
        return
    reps = tables.get("reps")
    known = (
        set(reps["rep_id"].dropna())
        if reps is not None and "reps" not in skip and "rep_id" in reps
        else set()
    )
    for _, group in folded[sizes > 1].groupby(folded[sizes > 1], sort=True):
        names = list(group.index)
        canonical = sorted(
            names,
            key=lambda n: (n not in known, bool(_foreign_letters(n)), -counts[n], seen[n]),
        )[0]
        variants = [n for n in names if n != canonical]
        listing = ", ".join(
            f"{n!r} ({counts[n]:,} row{'s' if counts[n] != 1 else ''}"
            + (f"; {_foreign_letters(n)}" if _foreign_letters(n) else "")
            + ")"
            for n in [canonical, *sorted(variants, key=lambda n: (-counts[n], seen[n]))]
        )
        lines = ", ".join(f"{_yaml_str(v)}: {_yaml_str(canonical)}" for v in variants)
        for t, c in cols:
            hit = tables[t][c].isin(variants).to_numpy()
            if hit.any():
                i = int(np.flatnonzero(hit)[0])
                r = tables[t].iloc[i]
                issues.append(
                    Issue(
                        t,
                        labels.get(t, t),
                        int(r["_row"]),
                        c,
                        r[c],
                        f"owner names that differ only by case, spacing or look-alike "
                        f"letters: {listing}; if they are one person, add to the mapping: "
                        f"aliases: {{owner: {{{lines}}}}}",
                        severity="warning",
                    )
                )
                break


def _yaml_str(v: str) -> str:
    """A name as a double-quoted YAML scalar (safe whatever it holds)."""
    import json

    return json.dumps(v, ensure_ascii=False)


# --------------------------------------------------------------------------- filled values


#: The org's root when the org is built from the reps' hierarchy columns.
COMPANY_NODE = "COMPANY"
#: The account of deals exported without one (``missing: {customer_id: placeholder}``).
NO_ACCOUNT = "(no account)"


def _org_from_hierarchy(tables, tm: TableMapping, labels, issues) -> None:
    """Build the org (company → region → team) from the reps' hierarchy columns.

    ``hierarchy: [regional_office, manager]`` makes a region per office and, inside it, a
    team per manager; each rep joins the team of their row. One column makes teams only.
    A rep whose hierarchy cell is empty is an error on that row.
    """
    reps = tables["reps"]
    label = labels["reps"]
    levels = ("region", "team") if len(tm.hierarchy) == 2 else ("team",)
    cols = [f"_level{k}" for k in range(len(tm.hierarchy))]
    vals = [_text(reps[c]) for c in cols]
    bad = np.zeros(len(reps), dtype=bool)
    for v, src in zip(vals, tm.hierarchy, strict=True):
        empty = v.isna().to_numpy()
        for i in np.flatnonzero(empty):
            issues.append(
                Issue(
                    "reps",
                    label,
                    int(reps["_row"].iloc[i]),
                    "team_id",
                    None,
                    f"missing value in hierarchy column {src!r}; every rep needs one to "
                    "be placed in the org",
                    source_column=src,
                )
            )
        bad |= empty
    nodes = {COMPANY_NODE: (None, "company", "Company", "公司")}
    team_ids = []
    for i in range(len(reps)):
        if bad[i]:
            team_ids.append(None)
            continue
        parent = COMPANY_NODE
        node = None
        for level, v in zip(levels, vals, strict=True):
            name = str(v.iloc[i])
            node = name if parent == COMPANY_NODE else f"{parent} / {name}"
            nodes.setdefault(node, (parent, level, name, None))
            parent = node
        team_ids.append(node)
    tables["reps"] = reps.drop(columns=cols).assign(team_id=team_ids)
    tables["org"] = pd.DataFrame(
        [
            {"node_id": k, "parent_id": p, "level": lv, "name": n, "name_zh": z, "_row": 0}
            for k, (p, lv, n, z) in nodes.items()
        ]
    )
    labels["org"] = f"(built from {label} columns {', '.join(map(repr, tm.hierarchy))})"


def _fill_missing(tables, spec: MappingSpec, labels, issues, as_of) -> None:
    """Apply the mapping's ``missing:`` rules: fill, flag each row, count in the report."""
    opp = tables.get("opportunities")
    rules = {
        (t, c): rule
        for t, tm in spec.tables.items()
        for c, rule in tm.missing.items()
        if rule != "reject"
    }
    if not rules:
        return
    for t, c in rules:  # a column the export lacks altogether: empty, then filled
        df = tables.get(t)
        if df is not None and c not in df:
            kind = TABLES[t].column(c).kind
            tables[t] = df.assign(**{c: pd.NaT if kind == "date" else np.nan})
    opp = tables.get("opportunities")

    def note(table, n, message):
        if n:
            issues.append(
                Issue(table, labels.get(table, table), None, None, None, message, "warning")
            )

    if opp is not None:
        open_ = ~opp["stage"].isin(CLOSED_STAGES)
        if rules.get(("opportunities", "amount")) == "price_list":
            need = opp["amount"].isna() & open_
            products = tables.get("products")
            price = (
                opp["product_id"].map(products.set_index("product_id")["unit_price"])
                if products is not None and "unit_price" in products
                else pd.Series(np.nan, index=opp.index)
            )
            # a product the price list does not know is its own error (unknown product)
            listed = (
                opp["product_id"].isin(set(products["product_id"]))
                if products is not None
                else need
            )
            missing_price = need & price.isna() & listed
            for i in np.flatnonzero(missing_price.to_numpy()):
                issues.append(
                    Issue(
                        "opportunities",
                        labels["opportunities"],
                        int(opp["_row"].iloc[i]),
                        "amount",
                        opp["product_id"].iloc[i],
                        "open deal without an amount, and its product has no list price "
                        "(products.unit_price) to fall back on",
                    )
                )
            fill = need & price.notna()
            opp.loc[fill, "amount"] = price[fill]
            opp["amount_estimated"] = fill.to_numpy()
            note(
                "opportunities",
                int(fill.sum()),
                f"{int(fill.sum()):,} open deal(s) without an amount took their product's "
                "list price (flagged amount_estimated; counted in forecasts)",
            )
            for i in np.flatnonzero((opp["amount"].isna() & ~open_).to_numpy()):
                issues.append(
                    Issue(
                        "opportunities",
                        labels["opportunities"],
                        int(opp["_row"].iloc[i]),
                        "amount",
                        None,
                        "missing value; a closed deal needs its amount (only open deals "
                        "fall back on the list price)",
                    )
                )
        if rules.get(("opportunities", "customer_id")) == "placeholder":
            need = opp["customer_id"].isna()
            opp.loc[need, "customer_id"] = NO_ACCOUNT
            customers = tables.get("customers")
            if need.any() and customers is not None:
                if NO_ACCOUNT not in set(customers["customer_id"]):
                    row = {c: None for c in customers.columns}
                    row.update(customer_id=NO_ACCOUNT, name=NO_ACCOUNT, _row=0)
                    tables["customers"] = pd.concat(
                        [customers, pd.DataFrame([row])], ignore_index=True
                    )
            note(
                "opportunities",
                int(need.sum()),
                f"{int(need.sum()):,} deal(s) without an account were given the "
                f"placeholder account {NO_ACCOUNT!r}",
            )
        if rules.get(("opportunities", "created_date")) == "impute":
            when = pd.Timestamp(as_of or _latest_date(tables))
            need = opp["created_date"].isna() & open_
            opp.loc[need, "created_date"] = when
            opp["created_estimated"] = need.to_numpy()
            note(
                "opportunities",
                int(need.sum()),
                f"{int(need.sum()):,} open deal(s) without a created date are taken as "
                f"created on {when.date()} (the data's last day: in no earlier "
                "point-in-time view; flagged created_estimated)",
            )
            for i in np.flatnonzero((opp["created_date"].isna() & ~open_).to_numpy()):
                issues.append(
                    Issue(
                        "opportunities",
                        labels["opportunities"],
                        int(opp["_row"].iloc[i]),
                        "created_date",
                        None,
                        "missing value; a closed deal needs its created date (only open "
                        "deals are imputed)",
                    )
                )
    reps = tables.get("reps")
    if reps is not None and rules.get(("reps", "hire_date")) == "infer":
        need = reps["hire_date"].isna() if "hire_date" in reps else pd.Series(True, reps.index)
        first = pd.Series(dtype="datetime64[ns]")
        if opp is not None:
            first = opp.groupby("owner_id")["created_date"].min()
        acts = tables.get("activities")
        if acts is not None and len(acts):
            first = pd.concat([first, acts.groupby("rep_id")["date"].min()]).groupby(level=0).min()
        start = min((d for d in [first.min()] if pd.notna(d)), default=pd.NaT)
        guess = reps["rep_id"].map(first).fillna(start)
        reps = reps.assign(hire_date=reps.get("hire_date", pd.NaT))
        reps.loc[need, "hire_date"] = guess[need]
        reps["hire_date_inferred"] = need.to_numpy()
        tables["reps"] = reps
        note(
            "reps",
            int(need.sum()),
            f"{int(need.sum()):,} rep(s) without a hire date: taken as the day of their "
            "first deal or activity (flagged hire_date_inferred; forecasts assume no "
            "ramp-up for them)",
        )


# --------------------------------------------------------------------------- derived tables


def _derive_missing(tables: dict[str, pd.DataFrame], labels: dict[str, str]) -> list[str]:
    """Build the tables an opportunity export implies but does not contain.

    A Salesforce or HubSpot opportunity report names owners, accounts and maybe
    products; when no reps/org/customers/products file is mapped, those tables are
    made from the distinct names, every rep under one team "Unassigned" (a
    ``warning`` in the report says so).
    """
    made = []
    opp = tables.get("opportunities")
    if opp is None:
        return made
    if "org" not in tables:
        tables["org"] = pd.DataFrame(
            {
                "node_id": ["COMPANY", "UNASSIGNED"],
                "parent_id": [None, "COMPANY"],
                "level": ["company", "team"],
                "name": ["Company", "Unassigned"],
                "name_zh": ["公司", "未分配"],
                "_row": [0, 0],
            }
        )
        labels["org"] = "(derived)"
        made.append("org")
    if "reps" not in tables:
        owners = sorted(opp["owner_id"].dropna().unique())
        team = (
            "UNASSIGNED"
            if "UNASSIGNED" in set(tables["org"]["node_id"])
            else tables["org"].loc[tables["org"]["level"] == "team", "node_id"].iloc[0]
        )
        first = opp.groupby("owner_id")["created_date"].min()
        tables["reps"] = pd.DataFrame(
            {
                "rep_id": owners,
                "name": owners,
                "name_zh": None,
                "team_id": team,
                "role": "rep",
                "hire_date": [first.get(o, pd.NaT) for o in owners],
                "leave_date": pd.NaT,
                "email": None,
                "_row": 0,
            }
        )
        labels["reps"] = "(derived from opportunity owners)"
        made.append("reps")
    if "customers" not in tables:
        ids = sorted(opp["customer_id"].dropna().unique())
        tables["customers"] = pd.DataFrame(
            {
                "customer_id": ids,
                "name": ids,
                "region_id": None,
                "customer_type": None,
                "industry": None,
                "owner_id": None,
                "created_date": pd.NaT,
                "renewal_date": pd.NaT,
                "annual_contract_value": np.nan,
                "_row": 0,
            }
        )
        labels["customers"] = "(derived from opportunity accounts)"
        made.append("customers")
    if "products" not in tables:
        ids = sorted(opp["product_id"].dropna().unique())
        tables["products"] = pd.DataFrame(
            {
                "product_id": ids,
                "name": ids,
                "name_zh": None,
                "product_line": ids,
                "unit_price": np.nan,
                "gross_margin_pct": np.nan,
                "_row": 0,
            }
        )
        labels["products"] = "(derived from opportunity products)"
        made.append("products")
    if "stage_history" not in tables:
        # Without history, each opportunity has what the export shows: its creation
        # and (if closed) its close. Slippage cannot be learnt from such data. A deal
        # that closed was open before with an amount and an expected close date the
        # export no longer shows (its final value, 0 when lost, and its real close date
        # are what was learnt at the close): both are unknown on its creation row, so a
        # point-in-time view never sees the outcome (the calibration falls back on the
        # list price or the typical deal size known that day).
        closed_now = opp["stage"].isin(CLOSED_STAGES)
        created = pd.DataFrame(
            {
                "opportunity_id": opp["opportunity_id"],
                "changed_date": opp["created_date"],
                "stage": np.where(closed_now, "qualification", opp["stage"]),
                "amount": opp["amount"].where(~closed_now),
                "expected_close_date": opp["expected_close_date"].where(~closed_now),
            }
        )
        closed = opp[opp["stage"].isin(CLOSED_STAGES)]
        closing = pd.DataFrame(
            {
                "opportunity_id": closed["opportunity_id"],
                "changed_date": closed["close_date"],
                "stage": closed["stage"],
                "amount": closed["amount"],
                "expected_close_date": closed["expected_close_date"],
            }
        )
        sh = pd.concat([created, closing], ignore_index=True)
        sh = sh.dropna(subset=["changed_date"]).drop_duplicates(
            ["opportunity_id", "changed_date", "stage"]
        )
        sh["_row"] = 0
        tables["stage_history"] = sh
        labels["stage_history"] = "(derived from opportunities)"
        made.append("stage_history")
    return made


def _finish_opportunities(df: pd.DataFrame) -> pd.DataFrame:
    """Close dates belong to closed deals; open deals' close date is the expected one.

    CRM exports have one "Close Date": the actual date for closed deals and the
    expected date for open ones. Mappings may map it to both columns; here the actual
    close date is cleared on open deals, and a closed deal without an expected date
    takes its close date.
    """
    df = df.copy()
    if "stage" not in df or "close_date" not in df:
        return df
    open_ = ~df["stage"].isin(CLOSED_STAGES)
    df.loc[open_, "close_date"] = pd.NaT
    if "expected_close_date" in df:
        df["expected_close_date"] = df["expected_close_date"].fillna(df["close_date"])
    return df


# --------------------------------------------------------------------------- public


def _finalise(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Canonical column order and dtypes (adds optional columns that were absent)."""
    out = {}
    n = len(df)
    for c in table.columns:
        if c.name in df.columns:
            s = df[c.name]
        else:
            s = pd.Series([None] * n, index=df.index, dtype="object")
        if c.kind == "date":
            s = pd.to_datetime(s).astype("datetime64[ns]")
        elif c.kind in ("money", "number"):
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif c.kind == "int":
            s = pd.to_numeric(s, errors="coerce")
            s = s.astype("int64") if not s.isna().any() else s.astype("Int64")
        elif c.kind == "bool":
            s = s.astype("boolean")
        elif s.dtype == _STR and s.notna().any():
            # already what the frame below makes of text (an all-empty column it keeps
            # as objects)
            out[c.name] = s.array
            continue
        else:
            s = s.astype("object").where(s.notna(), None)
        out[c.name] = s.to_numpy() if c.kind not in ("bool", "int") else s.array
    frame = pd.DataFrame(out, columns=table.column_names)
    key = [k for k in table.key]
    order = _key_order(frame, key)
    if order is None:
        return frame.sort_values(key, kind="stable").reset_index(drop=True)
    if np.any(order[1:] < order[:-1]):  # (already in order: nothing to move)
        frame = frame.take(order)
    return frame.reset_index(drop=True)


def _key_order(frame: pd.DataFrame, key: list[str]) -> np.ndarray | None:
    """``frame.sort_values(key, kind="stable")``'s row order, by Arrow's stable sort;
    None unless every key column is Arrow text, dates or integers.

    Missing values go last in each key, as in pandas; text compares by UTF-8 bytes,
    code point order, as pandas compares Arrow text. A million ids: ~3x faster than
    pandas, which first makes a Categorical of each key.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = {}
    for k in key:
        s = frame[k]
        arr = getattr(s.array, "_pa_array", None)
        if arr is not None and (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            cols[k] = arr
        elif s.dtype.kind == "M" or (s.dtype.kind in "iu" and isinstance(s.dtype, np.dtype)):
            cols[k] = pa.array(s.to_numpy(), from_pandas=True)  # NaT: null
        else:
            return None
    if not cols or len(frame) < 2:
        return None
    # (nulls at the end: Arrow's default for every key)
    order = pc.sort_indices(pa.table(cols), sort_keys=[(k, "ascending") for k in key])
    return order.to_numpy(zero_copy_only=False).astype(np.intp)


def validate_tables(
    tables: dict[str, pd.DataFrame],
    labels: dict[str, str] | None = None,
    checks: Checks | None = None,
) -> ValidationReport:
    """Check canonical tables already in memory (the demo company, a notebook's edits).

    Runs the same row, key and plausibility checks as :func:`load_data`, without
    parsing (``checks``: a mapping's ``checks:`` section; defaults when not given).
    """
    checks = checks or Checks()
    labels = dict(labels or {})
    issues: list[Issue] = []
    work = {}
    for name, df in tables.items():
        if name not in TABLES:
            issues.append(
                Issue(
                    name,
                    labels.get(name, name),
                    None,
                    None,
                    None,
                    f"unknown table; expected one of {', '.join(TABLES)}",
                )
            )
            continue
        missing = [c for c in TABLES[name].required_columns if c not in df.columns]
        for c in missing:
            issues.append(
                Issue(
                    name, labels.get(name, name), None, c, None, f"required column {c!r} is missing"
                )
            )
        d = df.copy()
        d["_row"] = np.arange(len(d), dtype=np.int64) + 1
        label = labels.setdefault(name, name)
        for c in TABLES[name].columns:
            if c.name not in d.columns:
                continue
            if c.required:
                for i in np.flatnonzero(d[c.name].isna().to_numpy()):
                    issues.append(
                        Issue(
                            name, label, i + 1, c.name, None, f"missing value; {c.name} is required"
                        )
                    )
            if c.kind == "enum":
                bad = d[c.name].notna() & ~d[c.name].isin(c.allowed or ())
                for i in np.flatnonzero(bad.to_numpy()):
                    issues.append(
                        Issue(
                            name,
                            label,
                            i + 1,
                            c.name,
                            d[c.name].iloc[i],
                            f"expected one of {', '.join(c.allowed or ())}",
                        )
                    )
            if c.kind in ("money", "int"):
                bad = d[c.name].notna() & (d[c.name] < 0)
                for i in np.flatnonzero(bad.to_numpy()):
                    issues.append(
                        Issue(
                            name, label, i + 1, c.name, d[c.name].iloc[i], "negative; expected >= 0"
                        )
                    )
            if c.kind == "date" and pd.api.types.is_datetime64_any_dtype(d[c.name]):
                lo, hi = _date_bounds(checks)
                when = d[c.name].astype("datetime64[us]")
                out = (when < lo) | (when > hi)
                issues += _issues_at(
                    out,
                    c.name,
                    d[c.name],
                    d["_row"],
                    name,
                    label,
                    f"implausible date; expected a date from {lo.date()} to {hi.date()}",
                )
            if c.kind in ("money", "number") and pd.api.types.is_numeric_dtype(d[c.name]):
                x = d[c.name].astype("float64")
                out = ~np.isfinite(x.fillna(0.0)) | (x.abs() > checks.max_amount)
                issues += _issues_at(
                    out,
                    c.name,
                    d[c.name],
                    d["_row"],
                    name,
                    label,
                    f"implausibly large or not finite; expected at most {checks.max_amount:,.0f}",
                )
        _row_checks(name, d, label, issues)
        _outlier_checks(name, d, label, issues, checks)
        work[name] = d
    _fk_checks(work, labels, issues)
    _cross_checks(work, labels, issues, checks)
    return ValidationReport(issues, rows={k: len(v) for k, v in tables.items()})


def load_data(
    data: str | Path,
    mapping: str | Path | MappingSpec,
    *,
    strict: bool = True,
    rejects: str | Path | None = None,
    as_of: dt.date | None = None,
) -> Dataset:
    """Load a company's data through a column mapping, validating every row.

    Parameters
    ----------
    data : path or SQLAlchemy URL
        A folder holding the mapping's source files, a single file (when the mapping
        has one table), or a database URL such as ``sqlite:///crm.db``.
    mapping : path or MappingSpec
        A file in ``params/mappings/`` (by name or path), or a loaded mapping.
    strict : bool
        True: any error raises :class:`DataError` with the full report and nothing
        loads. False: rows with errors are left out, written with their reasons to
        ``rejects`` (default ``<data>/rejects.csv`` or ``./rejects.csv``), and counted in
        the report.
    as_of : date, optional
        The date the data runs to; defaults to the latest date in it.
    """
    global _DISTINCT_CACHE
    _DISTINCT_CACHE = {}
    try:
        return _load_data(data, mapping, strict=strict, rejects=rejects, as_of=as_of)
    finally:
        _DISTINCT_CACHE = None


def _load_data(data, mapping, *, strict, rejects, as_of) -> Dataset:
    spec = _load_mapping(mapping)
    data_s = str(data)
    is_url = "://" in data_s
    if not is_url and not Path(data).exists():
        raise DataError(
            ValidationReport([Issue("", data_s, None, None, None, "data path not found")])
        )
    issues: list[Issue] = []
    tables: dict[str, pd.DataFrame] = {}
    labels: dict[str, str] = {}
    raws: dict[str, pd.DataFrame] = {}
    sources: dict[str, dict[str, str]] = {}
    for name, tm in spec.tables.items():
        table = TABLES[name]
        raw, label, first = _read_source(data_s if is_url else Path(data), tm, name)
        labels[name] = label
        raw = _cut_footer(raw, tm, label, name, issues, first)
        mapped = _apply_mapping(raw, table, tm, label, first, issues, sources.setdefault(name, {}))
        if raw.empty:
            issues.append(
                Issue(
                    name,
                    label,
                    None,
                    None,
                    None,
                    "no data rows below the header; expected at least one record "
                    f"(or remove tables.{name} from the mapping)",
                )
            )
        if any(i.table == name and i.row is None and i.severity == "error" for i in issues):
            continue
        df = _coerce(mapped, table, tm, spec.aliases, label, issues, spec.checks)
        if name == "opportunities":
            df = _finish_opportunities(df)
        if _DISTINCT_CACHE is not None:
            _DISTINCT_CACHE.clear()  # (it holds this table's columns)
        if not strict:  # rejected rows are written as they were read
            raws[name] = raw.assign(_row=mapped["_row"].to_numpy())
        tables[name] = df
    structural = [i for i in issues if i.row is None and i.severity == "error"]
    if structural:
        _name_sources(issues, sources)
        raise DataError(ValidationReport(issues))
    if "reps" in tables and spec.tables["reps"].hierarchy:
        _org_from_hierarchy(tables, spec.tables["reps"], labels, issues)
    _fill_missing(tables, spec, labels, issues, as_of)
    derived = _derive_missing(tables, labels)
    for name, df in tables.items():
        _row_checks(name, df, labels[name], issues)
        if name not in derived:
            _outlier_checks(name, df, labels[name], issues, spec.checks)
    _fk_checks(tables, labels, issues)
    _cross_checks(tables, labels, issues, spec.checks, skip=derived)
    _name_sources(issues, sources)

    report = ValidationReport(issues)
    errors = report.errors
    if errors and strict:
        issues += _derived_warnings(derived, tables, labels)
        report.rows = {k: len(v) for k, v in tables.items()}
        report.loaded = False
        raise DataError(report)
    if errors:
        tables, report = _reject(tables, raws, labels, issues, data, is_url, rejects, set(derived))
        # Derived tables are rebuilt from what was kept, so they hold no rejected deal.
        _derive_missing(tables, labels)
    issues += _derived_warnings(derived, tables, labels)
    report.rows = {k: len(v) for k, v in tables.items()}
    # each table let go once finished (a million rows of text need not be held twice)
    final = {name: _finalise(tables.pop(name), TABLES[name]) for name in TABLES if name in tables}
    when = as_of or _latest_date(final)
    return Dataset(
        final,
        when,
        source=data_s if not is_url else _redact(data_s),
        report=report,
        derived=tuple(derived),
    )


def _name_sources(issues: list[Issue], sources: dict[str, dict[str, str]]) -> None:
    """Give each issue the file's own name for its column (in place).

    One file column can feed two canonical ones (Close Date: expected and actual close);
    a bad cell there is reported once.
    """
    seen = set()
    out = []
    for i in issues:
        src = sources.get(i.table, {}).get(i.column or "")
        if src and src != i.column and i.source_column is None:
            i = replace(i, source_column=src)
        if i.source_column is not None:
            key = (i.table, i.file, i.row, i.source_column, _show(i.value), i.message, i.severity)
            if key in seen:
                continue
            seen.add(key)
        out.append(i)
    issues[:] = out


def _derived_warnings(derived, tables, labels) -> list[Issue]:
    return [
        Issue(
            name,
            labels[name],
            None,
            None,
            None,
            f"no {name} table mapped; derived {len(tables[name]):,} rows from the opportunities",
            severity="warning",
        )
        for name in derived
    ]


def _cut_footer(raw, tm, label, name, issues, first_row):
    if not tm.footer_pattern or raw.empty:
        return raw
    pattern = re.compile(tm.footer_pattern)
    first = raw.iloc[:, 0]
    distinct = _distinct(first)
    if distinct is not None:
        search = pattern.search
        per = np.array(
            [v is not None and search(v) is not None for v in distinct.dictionary.to_pylist()],
            dtype=bool,
        )
        if not per.any():  # (the usual case: no footer, nothing to spread over the rows)
            return raw
        hit = _spread(distinct.codes, per, False, first.index)
    else:
        hit = first.map(lambda v: isinstance(v, str) and pattern.search(v) is not None)
    if hit.any():
        at = int(np.flatnonzero(hit.to_numpy())[0])
        n = len(raw) - at
        issues.append(
            Issue(
                name,
                label,
                int(raw.index[at]) + first_row,
                None,
                None,
                f"footer of {n} row(s) from this row on skipped (footer_pattern)",
                severity="warning",
            )
        )
        return raw.iloc[:at]
    return raw


def _reject(tables, raws, labels, issues, data, is_url, rejects, skip=frozenset()):
    """Lenient mode: drop rows with errors (and rows that hang off them), write them out.

    Tables in ``skip`` (derived ones, rebuilt afterwards) are left out of the result.
    """
    bad_rows: dict[str, dict[int, list[str]]] = {}
    for i in issues:
        if i.severity == "error" and i.row is not None and i.table not in skip:
            bad_rows.setdefault(i.table, {}).setdefault(i.row, []).append(
                f"{i.column}: {i.message}"
                + (f" (got {_show(i.value)})" if i.value is not None else "")
            )
    kept = {}
    for name, df in tables.items():
        if name in skip:
            continue
        rows = bad_rows.get(name, {})
        kept[name] = df[~df["_row"].isin(list(rows))] if rows else df
    # Rows whose parent was rejected now point nowhere: reject them too, with the reason.
    while True:
        extra: list[Issue] = []
        for name, df in kept.items():
            for fk in TABLES[name].foreign_keys:
                if fk.table not in kept or fk.column not in df.columns:
                    continue
                gone = set(tables[fk.table][fk.ref].dropna()) - set(kept[fk.table][fk.ref].dropna())
                hit = df[fk.column].isin(gone).to_numpy() if gone else np.zeros(len(df), bool)
                for k in np.flatnonzero(hit):
                    r = df.iloc[k]
                    extra.append(
                        Issue(
                            name,
                            labels.get(name, name),
                            int(r["_row"]),
                            fk.column,
                            r[fk.column],
                            f"its row in {fk.table} was rejected, so this row is rejected too",
                        )
                    )
        if not extra:
            break
        for i in extra:
            issues.append(i)
            bad_rows.setdefault(i.table, {}).setdefault(i.row, []).append(
                f"{i.column}: {i.message} (got {_show(i.value)})"
            )
        kept = {
            name: df[~df["_row"].isin(list(bad_rows.get(name, {})))] for name, df in kept.items()
        }
    records = []
    for name, rows in bad_rows.items():
        raw = raws.get(name)
        for row, reasons in sorted(rows.items()):
            rec = {
                "table": name,
                "file": labels.get(name, name),
                "row": row,
                "reasons": "; ".join(reasons),
            }
            if raw is not None:
                match = raw[raw["_row"] == row]
                if len(match):
                    rec["record"] = (
                        match.drop(columns="_row")
                        .iloc[0]
                        .to_json(force_ascii=False, date_format="iso")
                    )
            records.append(rec)
    if rejects is None:
        base = Path(".") if is_url else (Path(data) if Path(data).is_dir() else Path(data).parent)
        rejects = base / "rejects.csv"
    rejects = Path(rejects)
    rej = pd.DataFrame(records, columns=["table", "file", "row", "reasons", "record"])
    _atomic_csv(rej, rejects)
    report = ValidationReport(
        issues, rejected={k: len(v) for k, v in bad_rows.items()}, rejects_file=str(rejects)
    )
    return kept, report


def _atomic_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_csv(tmp, index=False, encoding="utf-8")
    tmp.replace(path)


def _latest_date(tables: dict[str, pd.DataFrame]) -> dt.date:
    latest = pd.Timestamp.min
    for name in ("stage_history", "opportunities", "activities", "payments", "invoices"):
        df = tables.get(name)
        if df is None or df.empty:
            continue
        for c in TABLES[name].columns:
            if (
                c.kind == "date"
                and c.name in df
                and c.name not in ("expected_close_date", "due_date")
            ):
                m = df[c.name].max()
                if pd.notna(m) and m > latest:
                    latest = m
    return latest.date() if latest != pd.Timestamp.min else dt.date.today()


def _load_mapping(mapping: str | Path | MappingSpec) -> MappingSpec:
    """A mapping by name (``demo``: ``params/mappings/demo.yaml``) or by path.

    A bare name (no folder separator, no .yaml) is looked up among the shipped mappings
    first, so a folder called ``demo`` (say, from ``simlib data demo --out demo``) does
    not shadow the ``demo`` mapping. A folder is never a mapping.
    """
    if isinstance(mapping, MappingSpec):
        return mapping
    text = str(mapping)
    p = Path(mapping)
    shipped_dir = default_params_dir() / "mappings"
    bare = not any(sep in text for sep in ("/", "\\")) and p.suffix.lower() not in (
        ".yaml",
        ".yml",
    )
    cands = [shipped_dir / f"{text}.yaml"] if bare and text else []
    cands.append(p)
    if not p.exists() and not p.is_absolute():
        cands += [shipped_dir / p, shipped_dir / f"{text}.yaml"]
    for cand in cands:
        if cand.is_file():
            # A mapping is a mapping wherever it lives (not only in a folder named mappings/).
            return load_model(cand, MappingSpec, f"mappings.{cand.stem}")
    shipped = sorted(f.stem for f in shipped_dir.glob("*.yaml"))
    what = (
        "is a folder, not a mapping"
        if p.is_dir()
        else "is not a regular file (a pipe or device?)"
        if p.exists()
        else "mapping not found"
    )
    raise ParamError(
        [
            Problem(
                text,
                "",
                NO_VALUE,
                f"{what}; expected a YAML file or one of the shipped "
                f"mappings: {', '.join(shipped)}",
            )
        ]
    )


def load_demo(seed: int | None = None, as_of: dt.date | None = None) -> Dataset:
    """The embedded demo company, generated deterministically and validated."""
    from simlib.data.sample import DEMO_AS_OF, DEMO_SEED, generate_demo  # only when asked for

    seed = DEMO_SEED if seed is None else seed
    as_of = DEMO_AS_OF if as_of is None else as_of

    def generate():
        tables = generate_demo(seed=seed, as_of=as_of)
        report = validate_tables(tables)
        if not report.ok:  # a bug in the generator, never the user's fault
            raise DataError(
                report, "the demo company failed validation:\n" + report.format(limit=20)
            )
        return tables, report

    tables, report = DEMO_CACHE.get((seed, as_of), generate)
    # Shallow copies: under pandas' copy-on-write a caller's edit never reaches the cache.
    tables = {name: df.copy(deep=not _COPY_ON_WRITE) for name, df in tables.items()}
    return Dataset(tables, as_of, source=f"demo company (seed {seed})", report=report)


#: The demo company, one at a time (generating it takes about a second).
DEMO_CACHE = Cache("demo company", size=1)


def load_source(source: str = "", mapping: str = "", demo_seed: int | None = None) -> Dataset:
    """The company a report reads: a CRM export through a mapping, or the demo company.

    ``source`` is a file, a folder of exports or a SQLAlchemy URL (``""``: the demo
    company with ``demo_seed``); ``mapping`` a file in ``params/mappings/`` or a path.
    Loaded strictly (a bad row is an error naming it) and kept for the life of the
    process while the files are unchanged, so a batch of reports loads it once.
    """
    if not source:
        return load_demo(seed=demo_seed)
    if not mapping:
        raise ValueError(
            f"source {source!r} needs a mapping (a name in params/mappings/, "
            "e.g. salesforce, or a path to a mapping file)"
        )
    path = Path(source)
    stamp = None
    if path.exists():
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    return SOURCE_CACHE.get(
        (source, mapping, stamp), lambda: load_data(source, mapping, strict=True)
    )


#: A CRM export loaded for reports, kept while its files (names, times, sizes) are unchanged.
SOURCE_CACHE = Cache("CRM export for reports", size=1)
_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


def write_tables(
    tables: dict[str, pd.DataFrame], directory: str | Path, fmt: str = "csv"
) -> list[Path]:
    """Write canonical tables as ``<table>.csv`` (or .parquet / .xlsx), atomically."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        path = directory / f"{name}.{fmt}"
        tmp = directory / f".{name}.{fmt}.tmp"
        if fmt == "csv":
            df.to_csv(tmp, index=False, encoding="utf-8", date_format="%Y-%m-%d")
        elif fmt == "parquet":
            df.to_parquet(tmp, index=False)
        elif fmt == "xlsx":
            df.to_excel(tmp, index=False, engine="openpyxl")
        else:
            raise ValueError(f"fmt must be 'csv', 'parquet' or 'xlsx'; got {fmt!r}")
        tmp.replace(path)
        written.append(path)
    return written
