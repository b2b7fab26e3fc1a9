"""Calibrate the attainment model from a company's own closed history.

Everything here is **point in time**: :func:`calibrate` with ``as_of=T`` reads only
stage-history rows dated on or before ``T`` and only outcomes known by ``T``, so a
backtest run "as of" a past date sees exactly what a planner saw on that day.

The model of a forecast window ``(start, end]`` has two parts:

*Open deals.* Each deal open at ``T`` books its amount in the window with probability
``p_win × p_time``: ``p_win`` is the chance it is eventually won, by stage and segment
(product line × customer type) with Beta-binomial shrinkage toward the stage rate and
a rep odds factor shrunk toward 1; ``p_time`` is the chance a deal that will be won
closes inside the window, learnt from past snapshots by stage, where its expected close
date stood relative to the window, whether it had slipped before, and its age.

*New pipeline.* Deals created after ``T`` that are won inside the window: per rep an
arrival rate with monthly seasonality and negative-binomial overdispersion, a win rate
(the creation stage's), the chance the cycle time fits before the window ends, and a
deal size drawn from the rep's (or team's, when thin) won history.

The result, :class:`Calibration`, feeds :mod:`simlib.simulate`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from simlib.data.io import Dataset
from simlib.data.schema import CLOSED_STAGES, OPEN_STAGES
from simlib.periods import Window, parse_period
from simlib.survival import aalen_johansen

__all__ = [
    "Calibration",
    "calibrate",
    "deals_open_at",
    "stable_key",
    "beta_binomial_shrink",
    "as_known_on",
    "count_cdf",
]

#: Pseudo-counts of prior strength when the data cannot estimate it.
DEFAULT_STRENGTH = 20.0
#: Reps with fewer won deals than this borrow their team's deal-size pool.
MIN_OWN_SIZES = 12
#: How far back calibration looks.
LOOKBACK_DAYS = 730
#: Days between calibration snapshots.
SNAPSHOT_STEP_DAYS = 14
#: How far after the data's last day an as-of may fall (the export's own day and a
#: weekend: nothing dated then is taken as nothing having happened).
AS_OF_GRACE_DAYS = 7
#: New hires reach full productivity after this many days (linear ramp).
RAMP_DAYS = 180


# --------------------------------------------------------------------------- periods


def stable_key(ids) -> np.ndarray:
    """A stable 64-bit key for each id (blake2b; the same in every process and run)."""
    out = np.empty(len(ids), dtype=np.uint64)
    for i, v in enumerate(ids):
        out[i] = int.from_bytes(
            hashlib.blake2b(str(v).encode("utf-8"), digest_size=8).digest(), "little"
        )
    return out


# --------------------------------------------------------------------------- shrinkage


def beta_binomial_shrink(k, n, prior_p, strength=None):
    """Posterior mean of a rate under a Beta prior centred on ``prior_p``.

    ``(k + s·p) / (n + s)``: a segment with 3 deals moves only a little away from its
    parent rate; one with 300 deals is mostly its own. ``strength`` ``s`` is estimated
    from the spread of the groups by method of moments when not given.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    p = np.broadcast_to(np.asarray(prior_p, dtype=float), k.shape)
    s = estimate_strength(k, n, p) if strength is None else float(strength)
    return (k + s * p) / (n + s)


def estimate_strength(k, n, p) -> float:
    """Beta prior strength from between-group spread (method of moments), bounded.

    If rates vary across groups no more than binomial noise explains, the groups are
    pooled hard (large strength); if they vary a lot, each keeps its own rate.
    """
    k, n, p = (np.asarray(x, dtype=float) for x in (k, n, p))
    m = n > 0
    if m.sum() < 3:
        return DEFAULT_STRENGTH
    r = k[m] / n[m]
    pm = np.clip(p[m], 1e-6, 1 - 1e-6)
    w = n[m] / n[m].sum()
    observed = float(np.sum(w * (r - pm) ** 2))
    binomial = float(np.sum(w * pm * (1 - pm) / n[m]))
    between = observed - binomial
    pbar = float(np.sum(w * pm))
    if between <= 1e-9:
        return 500.0
    # Var of a Beta(s p, s (1-p)) is p (1-p) / (s + 1)
    s = pbar * (1 - pbar) / between - 1.0
    return float(np.clip(s, 2.0, 500.0))


# --------------------------------------------------------------------------- point in time


def _history_until(data: Dataset, when: pd.Timestamp) -> pd.DataFrame:
    sh = data.stage_history
    return _rows_until(sh, when)


def _rows_until(sh: pd.DataFrame, when) -> pd.DataFrame:
    """Rows changed on or before ``when``: the frame itself when that is all of them
    (as-of the data's last day; a million-deal history is not copied for nothing)."""
    keep = (sh["changed_date"] <= when).to_numpy(dtype=bool)
    return sh if keep.all() else sh[keep]


def _with_slips(sh: pd.DataFrame) -> pd.DataFrame:
    """Add ``n_slips``: how many times the expected close date had moved later so far."""
    # Sorted by (id, date) like sort_values(kind="stable"), on integer codes of the ids
    # in sorted order; one deal's rows are then adjacent and the per-deal shift and
    # running count are array arithmetic. ``_oid`` keeps the codes for later steps.
    changed = sh["changed_date"].to_numpy(dtype="datetime64[ns]")
    oid = _sorted_codes(sh["opportunity_id"], changed)
    if oid is None:  # not in that order already (load_data sorts by id, date, stage)
        oid, _ = pd.factorize(sh["opportunity_id"], sort=True, use_na_sentinel=False)
        order = np.lexsort((changed.view(np.int64), oid))
        if np.any(np.diff(order) != 1):
            sh = sh.take(order)
        oid = oid[order]
    ecd = sh["expected_close_date"].to_numpy(dtype="datetime64[ns]")
    same = np.zeros(len(sh), dtype=bool)
    same[1:] = oid[1:] == oid[:-1]
    pushed = np.zeros(len(sh), dtype=np.int64)
    pushed[1:] = same[1:] & (ecd[1:] > ecd[:-1])
    run = np.cumsum(pushed)
    start = np.flatnonzero(~same)  # first row of each deal
    before = np.repeat(run[start] - pushed[start], np.diff(np.append(start, len(sh))))
    return sh.assign(_oid=oid, n_slips=(run - before).astype(np.int32))


def _sorted_codes(ids: pd.Series, changed: np.ndarray) -> np.ndarray | None:
    """``pd.factorize(ids, sort=True)`` codes when the rows are already sorted by id, then
    date (a stable sort would leave them where they are), else None.

    Sorted rows need no hashing: a deal's code is how many times the id changed before
    it. Ids compare as Arrow compares them, by UTF-8 bytes: code point order, the order
    a sort of the strings gives.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = getattr(ids.array, "_pa_array", None)
    n = len(ids)
    if (
        arr is None
        or n < 2
        or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type))
    ):
        return None
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if arr.null_count:
        return None
    prev, cur = arr.slice(0, n - 1), arr.slice(1)
    if pc.any(pc.less(cur, prev)).as_py():
        return None
    step = pc.not_equal(cur, prev).to_numpy(zero_copy_only=False)
    same = ~step
    t = changed.view(np.int64)  # as the lexsort it stands for compares them (NaT first)
    if np.any(t[1:][same] < t[:-1][same]):
        return None
    codes = np.zeros(n, dtype=np.int64)
    np.cumsum(step, out=codes[1:])
    return codes


def _segments(data: Dataset) -> pd.DataFrame:
    """opportunity_id → owner, segment (product line × customer type), created date."""
    opp = data.opportunities
    line_of = data.products.set_index("product_id")["product_line"]
    ctype_of = data.customers.set_index("customer_id")["customer_type"]
    seg = _joined(
        opp["product_id"],
        opp["customer_id"],
        lambda p: p.map(line_of).fillna("?").astype(str),
        lambda c: c.map(ctype_of).fillna("?").astype(str),
    )
    return pd.DataFrame(
        {
            "owner_id": opp["owner_id"].to_numpy(),
            "segment": seg,
            "created_date": opp["created_date"].to_numpy(),
        },
        index=pd.Index(opp["opportunity_id"].to_numpy(), name="opportunity_id"),
    )


def _joined(left: pd.Series, right: pd.Series, left_text, right_text) -> np.ndarray:
    """``left_text(left) + "|" + right_text(right)`` row by row, as an object array.

    Each function maps a Series of ids to strings; they run once per distinct id and
    the concatenation once per distinct pair (a million deals have a few hundred
    segments), so the strings of a large table are built by position, not one by one.
    """
    lc, lu = pd.factorize(left, use_na_sentinel=False)
    rc, ru = pd.factorize(right, use_na_sentinel=False)
    lt = left_text(pd.Series(lu, dtype=left.dtype))
    rt = right_text(pd.Series(ru, dtype=right.dtype))
    ltc, ltu = pd.factorize(lt, use_na_sentinel=False)
    rtc, rtu = pd.factorize(rt, use_na_sentinel=False)
    pair = ltc[lc].astype(np.int64) * max(len(rtu), 1) + rtc[rc]
    distinct, first, inverse = np.unique(pair, return_index=True, return_inverse=True)
    text = (
        lt.iloc[lc[first]].reset_index(drop=True) + "|" + rt.iloc[rc[first]].reset_index(drop=True)
    )
    return text.to_numpy()[inverse.reshape(-1)]


def deals_open_at(
    data: Dataset, when, hist: pd.DataFrame | None = None, seg: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Deals open on ``when`` as the CRM showed them that day (no later knowledge).

    Columns: opportunity_id, owner_id, segment, stage, amount, expected_close_date,
    created_date, age_days, n_slips.
    """
    when = pd.Timestamp(when)
    hist = _with_slips(data.stage_history) if hist is None else hist
    seg = _segments(data) if seg is None else seg
    h = _rows_until(hist, when)
    if "_oid" in h:  # sorted by deal and date (_with_slips): a deal's last row is its tail
        oid = h["_oid"].to_numpy()
        tail = np.ones(len(h), dtype=bool)
        tail[:-1] = oid[1:] != oid[:-1]
        last = h[tail]
    else:
        last = h.groupby("opportunity_id", sort=False).tail(1)
    last = last[last["stage"].isin(OPEN_STAGES)]
    out = last[["opportunity_id", "stage", "amount", "expected_close_date", "n_slips"]].copy()
    s = seg.reindex(out["opportunity_id"])
    out["owner_id"] = s["owner_id"].to_numpy()
    out["segment"] = s["segment"].to_numpy()
    out["created_date"] = s["created_date"].to_numpy()
    out = out[out["created_date"] <= when]
    out["age_days"] = (when - out["created_date"]).dt.days.astype(np.int64)
    return out.reset_index(drop=True)


def _outcomes_until(hist: pd.DataFrame, when: pd.Timestamp) -> pd.DataFrame:
    """Each deal closed by ``when``: outcome and close date (as known on ``when``)."""
    h = hist[(hist["changed_date"] <= when) & hist["stage"].isin(CLOSED_STAGES)]
    h = h.groupby("opportunity_id", sort=False).tail(1)
    return pd.DataFrame(
        {
            "won": (h["stage"] == "won").to_numpy(),
            "close_date": h["changed_date"].to_numpy(),
            "amount": h["amount"].to_numpy(),
        },
        index=pd.Index(h["opportunity_id"].to_numpy(), name="opportunity_id"),
    )


def _exp_bucket(expected: pd.Series, snap: pd.Timestamp, a: int, b: int) -> np.ndarray:
    """Where the expected close date sits relative to the window (snap+a, snap+b]."""
    d = (expected - snap).dt.days.to_numpy()
    out = np.full(len(d), "after", dtype=object)
    out[d <= b] = "inside"
    out[d <= a] = "before"
    out[d <= 0] = "overdue"
    return out


def _age_bucket(age_days) -> np.ndarray:
    age = np.asarray(age_days)
    return np.where(
        age < 30, "<30d", np.where(age < 90, "30-90d", np.where(age < 180, "90-180d", "180d+"))
    )


#: Categories of :func:`_exp_bucket` and :func:`_age_bucket` in sorted order (so grouping
#: on their codes orders groups as grouping on the strings does).
_EXP_BUCKETS = ("after", "before", "inside", "overdue")
_AGE_BUCKETS = ("180d+", "30-90d", "90-180d", "<30d")


def _age_codes(age_days) -> np.ndarray:
    """:func:`_age_bucket` as codes into :data:`_AGE_BUCKETS`."""
    age = np.asarray(age_days)
    # bins [..30), [30, 90), [90, 180), [180..) -> codes 3, 1, 2, 0 (one pass, no temporaries)
    at = np.searchsorted(np.array([30, 90, 180], dtype=age.dtype), age, side="right")
    return np.array([3, 1, 2, 0], dtype=np.int8)[at]


def _arrow_ids(values):
    """The Arrow text array behind an Arrow-backed text Index/Series, else None."""
    import pyarrow as pa

    arr = getattr(getattr(values, "array", None), "_pa_array", None)
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    return arr


def _key_positions(index: pd.Index, values) -> np.ndarray:
    """``index.get_indexer(values)`` for an index of distinct ids (-1 where absent).

    Arrow text on both sides is looked up by Arrow's hash table (no Python string per
    row: ~2x faster than pandas on a million ids); anything else by ``get_indexer``.
    """
    import pyarrow.compute as pc

    keys, vals = _arrow_ids(index), _arrow_ids(values)
    if keys is None or vals is None or not index.is_unique:
        return index.get_indexer(values)
    found = pc.index_in(vals, value_set=keys.combine_chunks().cast(vals.type))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)


def _join_inner(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """``left.join(right, how="inner")`` for frames indexed by distinct ids: left's rows
    that ``right`` has, in left's order, with right's columns."""
    if set(left.columns) & set(right.columns) or not left.index.is_unique:
        return left.join(right, how="inner")
    pos = _key_positions(right.index, left.index)
    keep = np.flatnonzero(pos >= 0)
    out = left.iloc[keep].copy()
    at = pos[keep]
    for c in right.columns:
        out[c] = right[c].iloc[at].array
    return out


def _positions(index: pd.Index, values) -> np.ndarray:
    """``index.get_indexer(values)`` (-1 where absent), each distinct value looked up once.

    A million-row history names each deal several times; hashing strings once per
    distinct id instead of once per row is most of a reindex's cost.
    """
    codes, uniq = pd.factorize(pd.Series(values), use_na_sentinel=False)
    return index.get_indexer(uniq)[codes]


def _categorical(values) -> pd.Categorical:
    """Values as a Categorical with sorted categories (groups order as the strings do)."""
    return pd.Categorical(values)


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns of a (small) grouped table back to their values' dtype."""
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(df[c].cat.categories.dtype)
    return df


def _by_distinct(keys: dict, fn) -> np.ndarray:
    """``fn(frame)`` row by row, computed once per distinct key and spread back.

    ``fn`` must give each row a value that depends only on that row's keys (a lookup):
    then the result equals ``fn`` of the whole frame, at the cost of its distinct keys.
    Keys are passed to ``fn`` in their plain dtype (categoricals decoded).
    """
    n = len(next(iter(keys.values()))) if keys else 0
    if n == 0:
        return np.asarray(fn(pd.DataFrame({k: np.asarray(v)[:0] for k, v in keys.items()})))
    codes, uniques = [], []
    for v in keys.values():
        c, u = pd.factorize(v, use_na_sentinel=False)
        codes.append(c.astype(np.int64))
        uniques.append(u)
    sizes = [max(len(u), 1) for u in uniques]
    flat = np.ravel_multi_index(codes, sizes) if len(codes) > 1 else codes[0]
    space = int(np.prod(sizes, dtype=np.float64))
    if space <= max(4 * n, 1 << 16):
        # np.unique's answer without its sort of every row: the keys present, in order,
        # each row's rank among them, and a row holding each (any such row has the key)
        flat = np.asarray(flat, dtype=np.int64)
        at = np.full(space, -1, dtype=np.int64)
        at[flat] = np.arange(n)
        present = at >= 0
        first = at[present]
        inverse = (np.cumsum(present) - 1)[flat]
    else:
        _, first, inverse = np.unique(flat, return_index=True, return_inverse=True)
    small = {}
    for name, c, u in zip(keys, codes, uniques, strict=True):
        col = u.take(c[first])
        if isinstance(col, pd.Categorical):
            col = col.astype(col.categories.dtype)
        small[name] = col
    out = np.asarray(fn(pd.DataFrame(small)))
    return out[inverse.reshape(-1)]


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Calibration:
    """What the history says, as of one date, for one forecast window.

    ``deals`` holds the open deals with their probabilities; ``reps`` the per-rep
    new-pipeline parameters; the remaining tables show the learnt rates for review.
    """

    as_of: pd.Timestamp
    window: Window
    deals: pd.DataFrame  # opportunity_id, owner_id, stage, amount, p_win, p_time, p, key
    reps: pd.DataFrame  # rep_id, team_id, expected_new, dispersion, new_p, booked
    size_pools: dict[str, np.ndarray]
    win_rates: pd.DataFrame  # stage, segment, deals, won, rate
    rep_factors: pd.DataFrame  # rep_id, won, expected, odds_factor
    timing: pd.DataFrame  # stage, exp_bucket, slipped, deals, closed_in_window, rate
    stage_default_probability: dict[str, float] = field(default_factory=dict)
    market_shock: float = 0.0  # sd of log of a common factor on the window's bookings
    season: float = 1.0  # the window's season: open deals book season × their base chance
    season_table: pd.DataFrame | None = None  # quarter, snapshots, season
    explain: dict = field(default_factory=dict)  # what was learnt, from how much data

    def __repr__(self) -> str:
        return (
            f"Calibration(as_of={self.as_of.date()}, window={self.window.label} "
            f"{self.window.start.date()}..{self.window.end.date()}, "
            f"open deals={len(self.deals):,}, reps={len(self.reps)}, "
            f"expected open={float((self.deals.amount * self.deals.p).sum()):,.0f})"
        )


def calibrate(
    data: Dataset,
    period: str | Window,
    as_of=None,
    *,
    lookback_days: int = LOOKBACK_DAYS,
    snapshot_step_days: int = SNAPSHOT_STEP_DAYS,
) -> Calibration:
    """Learn the attainment model from history known on ``as_of``.

    Parameters
    ----------
    data : Dataset
        Canonical tables (``simlib.data.load_demo()`` or ``load_data(...)``).
    period : str or Window
        The forecast window (``"2026-Q3"``); bookings that close inside it count.
    as_of : date, optional
        The "today" of the forecast, meaning the **end** of that day: every record
        dated on or before it is known, nothing dated later. Defaults to the day before
        the window starts, or the data's own ``as_of`` if that is earlier. Deals already
        won between the window's start and ``as_of`` count as booked. Up to
        :data:`AS_OF_GRACE_DAYS` after the data's last day is accepted (an export taken
        the morning after holds nothing dated that day; the calibration summary says
        so); later is an error.
    """
    window = parse_period(period) if isinstance(period, str) else period
    if as_of is None:
        as_of = min(window.start - pd.Timedelta(days=1), pd.Timestamp(data.as_of))
    T = pd.Timestamp(as_of).normalize()
    if T > window.end:
        raise ValueError(
            f"as_of {T.date()} is after the window {window.label} ends ({window.end.date()})"
        )
    data_end = pd.Timestamp(data.as_of)
    if T > data_end + pd.Timedelta(days=AS_OF_GRACE_DAYS):
        raise ValueError(
            f"as-of {T.date()} is {(T - data_end).days} days after the data's last day "
            f"({data_end.date()}); the latest as-of it can answer is "
            f"{(data_end + pd.Timedelta(days=AS_OF_GRACE_DAYS)).date()} (as-of means the "
            "end of that day: everything dated on or before it is known)"
        )
    a = max(int((window.start - T).days) - 1, 0)  # window = (T + a, T + b] in days
    b = int((window.end - T).days)

    hist = _with_slips(_history_until(data, T))
    seg = _segments(data)
    seg = seg[seg["created_date"] <= T]
    outcomes = _outcomes_until(hist, T)

    if "stage_history" in getattr(data, "derived", ()):
        return _calibrate_without_history(data, window, T, a, b, hist, seg, outcomes, lookback_days)
    snaps = _snapshots(hist, seg, outcomes, T, a, b, lookback_days, snapshot_step_days)
    win_rates, seg_rates, stage_rates = _fit_win_rates(snaps)
    rep_factors = _fit_rep_factors(snaps, seg_rates, stage_rates)
    timing, timing_lookup = _fit_timing(snaps, a, b)

    open_now = deals_open_at(data, T, hist, seg)
    p_win = _lookup_win(open_now, seg_rates, stage_rates, rep_factors)
    p_time = timing_lookup(open_now, T)
    deals = open_now.assign(p_win=p_win, p_time=p_time)
    deals["p"] = np.clip(deals["p_win"] * deals["p_time"], 0.0, 1.0)
    deals["key"] = stable_key(deals["opportunity_id"].tolist())
    deals = deals.sort_values("opportunity_id", kind="stable").reset_index(drop=True)

    reps, pools = _fit_new_pipeline(
        data,
        hist,
        seg,
        outcomes,
        T,
        window,
        a,
        b,
        seg_rates,
        stage_rates,
        rep_factors,
        lookback_days,
    )
    sdp = (
        data.opportunities.groupby("stage")["probability"].median().dropna().to_dict()
        if "probability" in data.opportunities
        else {}
    )
    # Past windows count once closes were being recorded and the pipeline had filled.
    history_start = max(
        seg["created_date"].min() + pd.Timedelta(days=180),
        outcomes["close_date"].min() if len(outcomes) else T,
    )
    season, shock, season_table = _window_effects(
        snaps,
        history_start,
        seg_rates,
        stage_rates,
        rep_factors,
        timing_lookup,
        window,
        a,
        b,
        _join_inner(outcomes, seg[["created_date"]]),
    )
    # The window's season scales every open deal's chance of booking in it.
    deals["p"] = np.clip(deals["p"] * season, 0.0, 1.0)
    return Calibration(
        T,
        window,
        deals,
        reps,
        pools,
        win_rates,
        rep_factors,
        timing,
        sdp,
        shock,
        season,
        season_table,
    )


#: Wins by the as-of date below which an export cannot teach how deals end.
MIN_WINS = 10
#: Pseudo-deals of belief in the company-wide curve when a segment's own is thin.
SEGMENT_STRENGTH = 30.0
#: Pseudo-wins of belief in "this rep wins like everyone" (indirect standardisation).
REP_STRENGTH = 10.0
#: The common factor's log-sd before any history, and its weight in windows' worth.
MARKET_PRIOR_SD = 0.15
MARKET_PRIOR_WINDOWS = 4.0
#: Full years of history before seasonality counts at all, and its shrinkage weight.
SEASON_MIN_YEARS = 2
SEASON_PRIOR_YEARS = 2.0
#: A month of a CRM's first months is still "loading" below this share of the usual.
LOADING_SHARE = 0.5
#: A rep with no new deal for this long, when their rate says P(none) < 1%, has gone.
GONE_QUIET_P = 0.01


def data_start(created: pd.Series, T: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """When the CRM's record starts, and when it has stopped loading.

    Returns ``(first, steady)``: the first created date, and the start of the first
    month whose count of new deals reaches :data:`LOADING_SHARE` of the median month
    after it (a CRM filled over its first months records a rising share of deals; rates
    and seasons learnt from those months would be far too low).
    """
    c = pd.DatetimeIndex(created[created <= T])
    if not len(c):
        return T, T
    first = c.min().normalize()
    months = c.to_period("M")
    last_full = (T + pd.Timedelta(days=1)).to_period("M") - 1
    span = pd.period_range(first.to_period("M"), last_full, freq="M")
    counts = months.value_counts().reindex(span, fill_value=0).to_numpy(float)
    for i in range(len(span)):
        later = counts[i + 1 :]
        if len(later) == 0 or counts[i] >= LOADING_SHARE * float(np.median(later)):
            return first, max(span[i].start_time, first)
    return first, first


def _curves(durations, events, segments, entry):
    """Company-wide and per-segment competing-risks curves (with delayed entry)."""
    overall = aalen_johansen(durations, events, entry=entry)
    by_seg = {
        s: aalen_johansen(
            durations[segments == s], events[segments == s], entry=entry[segments == s]
        )
        for s in np.unique(segments)
    }
    return overall, by_seg


def _shrunk(overall, by_seg, segments, fn, evidence_age):
    """``fn(curve)`` per row, the segment's shrunk toward the company's by evidence."""
    base = fn(overall, np.ones(len(segments), dtype=bool))
    out = base.copy()
    for s in np.unique(segments):
        m = segments == s
        cur = by_seg.get(s)
        if cur is None or cur.n == 0:
            continue
        n = cur.observed_beyond(evidence_age[m]).astype(float)
        own = fn(cur, m)
        out[m] = (n * own + SEGMENT_STRENGTH * base[m]) / (n + SEGMENT_STRENGTH)
    return out


def _calibrate_without_history(
    data, window, T, a, b, hist, seg, outcomes, lookback_days
) -> Calibration:
    """Calibration for an export with no stage history (a plain opportunity report).

    Without history, how deals moved through stages and how their close dates slipped
    cannot be learnt: a closed deal shows only its creation and its close, and an open
    one its age. What such an export does tell, used here:

    - **Open deals.** Outcomes are competing risks (won, lost, still open) over the
      deal's age, estimated with Aalen–Johansen from every deal created in the
      look-back, the open ones censored at their age on ``T``
      (:mod:`simlib.survival`). A deal open at age ``x`` books in the window with
      ``(F_win(x + b) − F_win(x + a)) / S(x)``: a deal far older than the usual cycle
      is mostly dead, because the deals that did win had won by that age. Per segment
      (product line × customer type), shrunk toward the company's curve by how many
      deals of the segment were seen beyond that age; per rep, × wins over the wins
      the curves expected of the rep's deals (indirect standardisation, shrunk).
    - **Amounts.** A deal without a value on ``T`` (an export with values only for
      closed deals; a deal that closed later) is valued at its list price × what won
      deals realised against their list price by ``T``, else the segment's median won
      value by ``T``.
    - **New pipeline.** Each rep's rate of new deals since the CRM stopped loading
      (:func:`data_start`), over the last year; seasonality only with at least two
      full years, shrunk toward flat; the chance a new deal wins inside the window
      from the same curves at age 0; a rep whose silence their rate makes unlikely
      (P < 1%) has gone and opens nothing.
    - **Common factor.** The spread of won totals between windows beyond what single
      deals explain, combined with a prior (log-sd 0.20, worth four windows): short
      history means wide bands, long history the data's own spread.
    """
    explain: dict = {"path": "snapshot", "as_of": T, "data_end": pd.Timestamp(data.as_of)}
    opp = data.opportunities
    day = pd.Timedelta(days=1)
    first, steady = data_start(seg["created_date"], T)
    explain.update(data_start=first, steady_from=steady)
    since = max(T - pd.Timedelta(days=lookback_days), first - day)

    # ---- outcomes as competing risks over the deal's age (point in time) ----
    # Segments are products (× customer type): cycles differ by product more than by line.
    seg = _product_segments(data, seg)
    cohort = seg[seg["created_date"] > since]
    out = outcomes.reindex(cohort.index)
    closed = out["close_date"].notna().to_numpy()
    won = out["won"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    end = np.where(closed, out["close_date"].to_numpy(), np.datetime64(T))
    dur = ((end - cohort["created_date"].to_numpy()) / np.timedelta64(1, "D")).astype(float)
    dur = np.maximum(dur, 0.0)
    ev = np.where(~closed, 0, np.where(won, 1, 2))
    if int((ev == 1).sum()) < MIN_WINS:
        raise ValueError(
            f"only {int((ev == 1).sum())} deal(s) won by {T.date()} in the data: too few to "
            f"learn how deals end (at least {MIN_WINS}); choose a later as-of date"
        )
    # A CRM may record closes only from some day on (deals imported before it show none):
    # a deal created earlier is seen closing only from then, having survived until then.
    close_start = outcomes["close_date"].min()
    entry = ((close_start - cohort["created_date"]).dt.days - 1).clip(lower=0).to_numpy(float)
    entry = np.minimum(entry, dur)
    segs = cohort["segment"].to_numpy().astype(str)
    overall, by_seg = _curves(dur, ev, segs, entry)
    won_cycle = dur[ev == 1]
    explain.update(
        deals=int(len(ev)),
        won=int((ev == 1).sum()),
        lost=int((ev == 2).sum()),
        still_open=int((ev == 0).sum()),
        win_eventually=float(overall.eventual(0.0)),
        cycle_median=float(np.median(won_cycle)) if len(won_cycle) else float("nan"),
        cycle_p90=float(np.quantile(won_cycle, 0.9)) if len(won_cycle) else float("nan"),
        closes_from=close_start,
        entered_late=int((entry > 0).sum()),
    )

    # ---- rep factor: wins against what the curves expected of their deals ----
    # each deal's expected wins while it was seen: the win hazard from entry to exit
    exp_by_t = _shrunk(
        overall,
        by_seg,
        segs,
        lambda c, m: c.hazard(dur[m]) - c.hazard(entry[m]),
        np.zeros(len(segs)),
    )
    rep_tab = (
        pd.DataFrame({"rep_id": cohort["owner_id"].to_numpy(), "won": ev == 1, "exp": exp_by_t})
        .groupby("rep_id")
        .agg(deals=("won", "size"), won=("won", "sum"), expected=("exp", "sum"))
    )
    rep_tab["odds_factor"] = (
        (rep_tab["won"] + REP_STRENGTH) / (rep_tab["expected"] + REP_STRENGTH)
    ).clip(1 / 3, 3.0)
    rep_factors = rep_tab.reset_index()[["rep_id", "deals", "won", "expected", "odds_factor"]]
    factor_of = rep_factors.set_index("rep_id")["odds_factor"]

    # ---- open deals on T ----
    open_now = deals_open_at(data, T, hist, seg)
    age = open_now["age_days"].to_numpy(dtype=float)
    osegs = open_now["segment"].to_numpy().astype(str)
    p = _shrunk(overall, by_seg, osegs, lambda c, m: c.conditional(age[m], a, b), age)
    p_win = _shrunk(overall, by_seg, osegs, lambda c, m: c.eventual(age[m]), age)
    f = open_now["owner_id"].map(factor_of).fillna(1.0).to_numpy()
    p = np.clip(p * f, 0.0, 1.0)
    p_win = np.clip(p_win * f, 0.0, 1.0)
    amount, valued = _amounts_on(data, open_now, outcomes, seg, T)
    stale_age = explain["cycle_p90"]
    explain.update(
        open_deals=int(len(open_now)),
        valued_by_price=int(valued["price"]),
        valued_by_median=int(valued["median"]),
        realisation=valued["ratio"],
        stale_deals=int((age > stale_age).sum()) if np.isfinite(stale_age) else 0,
        stale_p=float(np.mean(p[age > stale_age])) if (age > stale_age).any() else float("nan"),
        fresh_p=float(np.mean(p[age <= stale_age])) if (age <= stale_age).any() else float("nan"),
    )

    # ---- the window's season and the common factor, from won totals by window ----
    w = outcomes[outcomes["won"]]
    length = max(b - a, 1)
    years = int((T - steady).days // 365)
    season, season_years, season_weight = _close_season(w, T, window, length, years)
    shock, shock_n, shock_data = _common_factor(w, T, steady, length)
    explain.update(
        full_years=years,
        season=season,
        season_years_used=season_years,
        season_weight=season_weight,
        market_sd=shock,
        market_windows=shock_n,
        market_sd_data=shock_data,
    )
    deals = open_now.assign(amount=amount, p_win=p_win, p_time=np.nan)
    deals["p"] = np.clip(p * season, 0.0, 1.0)
    deals["key"] = stable_key(deals["opportunity_id"].tolist())
    deals = deals.sort_values("opportunity_id", kind="stable").reset_index(drop=True)

    reps, pools = _new_pipeline_from_cohorts(
        data, seg, outcomes, T, window, steady, overall, by_seg, factor_of, explain
    )
    prob = (
        opp.loc[opp["stage"].isin(OPEN_STAGES)].groupby("stage")["probability"].median()
        if "probability" in opp
        else pd.Series(dtype=float)
    )
    stage_rates = prob.reindex(list(OPEN_STAGES)).clip(0.0, 1.0)
    win_rates = pd.DataFrame(
        {
            "stage": ["(any)"],
            "segment": "(all)",
            "deals": [len(ev)],
            "won": [int((ev == 1).sum())],
            "rate": [explain["win_eventually"]],
        }
    )
    timing = pd.DataFrame(
        {
            "stage": ["(any)"],
            "exp_bucket": ["(by age)"],
            "slipped": [False],
            "deals": [len(open_now)],
            "closed_in_window": [float(np.sum(p))],
            "rate": [float(np.mean(p)) if len(p) else np.nan],
        }
    )
    return Calibration(
        T,
        window,
        deals,
        reps,
        pools,
        win_rates,
        rep_factors,
        timing,
        stage_rates.dropna().to_dict(),
        shock,
        season,
        None,
        explain,
    )


def _product_segments(data, seg: pd.DataFrame) -> pd.DataFrame:
    """``seg`` with the segment made of the product (× customer type) instead of its line."""
    opp = data.opportunities
    ctype_of = data.customers.set_index("customer_id")["customer_type"]
    key = _joined(
        opp["product_id"],
        opp["customer_id"],
        lambda p: p.astype(str),
        lambda c: c.map(ctype_of).fillna("?").astype(str),
    )
    key = pd.Series(key, index=pd.Index(opp["opportunity_id"].to_numpy()))
    return seg.assign(segment=key.reindex(seg.index).to_numpy())


def _amounts_on(data, open_now, outcomes, seg, T):
    """Each open deal's amount as a user could value it on ``T``.

    Known amounts stand. A missing one (no value in the export, or a deal that closed
    after ``T`` whose earlier value the export does not keep) is its product's list
    price × the realisation of deals won by ``T`` (Σ won value / Σ their list price),
    else the segment's median won value by ``T``; a list price filled in by the
    mapping (``amount_estimated``) is scaled the same way.
    """
    opp = data.opportunities.set_index("opportunity_id")
    amount = open_now["amount"].to_numpy(dtype=float).copy()
    est = (
        opp["amount_estimated"].reindex(open_now["opportunity_id"]).fillna(False).to_numpy(bool)
        if "amount_estimated" in opp
        else np.zeros(len(open_now), dtype=bool)
    )
    price_of = (
        data.products.set_index("product_id")["unit_price"]
        if "unit_price" in data.products
        else pd.Series(dtype=float)
    )
    product = opp["product_id"]
    won = outcomes[outcomes["won"] & (outcomes["close_date"] <= T)]
    won_price = product.reindex(won.index).map(price_of).to_numpy(dtype=float)
    ok = np.isfinite(won_price) & (won_price > 0)
    ratio = (
        float(won["amount"].to_numpy()[ok].sum() / won_price[ok].sum()) if ok.sum() >= 10 else 1.0
    )
    price = product.reindex(open_now["opportunity_id"]).map(price_of).to_numpy(dtype=float)
    need = ~np.isfinite(amount)
    by_price = (need | est) & np.isfinite(price)
    amount[by_price] = price[by_price] * ratio
    still = ~np.isfinite(amount)
    if still.any():
        wseg = seg.reindex(won.index)["segment"]
        med = won["amount"].groupby(wseg).median()
        overall = float(won["amount"].median()) if len(won) else 0.0
        amount[still] = open_now["segment"][still].map(med).fillna(overall).to_numpy(float)
    return amount, {"price": int(by_price.sum()), "median": int(still.sum()), "ratio": ratio}


def _won_in(w, start, end) -> float:
    return float(w["amount"][(w["close_date"] > start) & (w["close_date"] <= end)].sum())


def _close_season(w, T, window, length, years):
    """The window's season from the same window in past years, shrunk toward 1.

    Returns (season, past years used, their weight against :data:`SEASON_PRIOR_YEARS`
    years' worth of "no season"); (1, 0, 0) without :data:`SEASON_MIN_YEARS` full years.
    """
    if years < SEASON_MIN_YEARS:
        return 1.0, 0, 0.0
    ratios = []
    for k in range(1, years + 1):
        shift = pd.DateOffset(years=k)
        same = _won_in(w, window.start - shift - pd.Timedelta(days=1), window.end - shift)
        year_end = T - pd.DateOffset(years=k - 1)
        year = _won_in(w, year_end - pd.DateOffset(years=1), year_end)
        if same > 0 and year > 0:
            ratios.append(np.log(same / (year * length / 365.0)))
    if not ratios:
        return 1.0, 0, 0.0
    weight = len(ratios) / (len(ratios) + SEASON_PRIOR_YEARS)
    season = float(np.clip(np.exp(weight * np.mean(ratios)), 0.5, 2.0))
    return season, len(ratios), float(weight)


def _common_factor(w, T, steady, length):
    """Log-sd of a factor common to all deals of a window: prior combined with data.

    From consecutive windows' won totals since the CRM stopped loading: the variance of
    the log ratio of neighbours, halved, less what single deals' sizes explain
    (Σ a² / (Σ a)²), floored at 0; weighted by the number of ratios against
    :data:`MARKET_PRIOR_WINDOWS` of the prior :data:`MARKET_PRIOR_SD`.
    """
    n_win = int((T - steady).days // length)
    totals, noise = [], []
    for k in range(n_win):
        e = T - pd.Timedelta(days=length * k)
        s = e - pd.Timedelta(days=length)
        a = w["amount"][(w["close_date"] > s) & (w["close_date"] <= e)].to_numpy(float)
        if a.sum() > 0:
            totals.append(a.sum())
            noise.append(float((a**2).sum() / a.sum() ** 2))
    n = max(len(totals) - 1, 0)
    data_var = float("nan")
    if n >= 1:
        d = np.diff(np.log(totals))
        data_var = max(float(np.mean(d**2)) / 2.0 - float(np.mean(noise)), 0.0)
    var = (
        (MARKET_PRIOR_WINDOWS * MARKET_PRIOR_SD**2 + n * data_var) / (MARKET_PRIOR_WINDOWS + n)
        if n >= 1
        else MARKET_PRIOR_SD**2
    )
    return float(np.sqrt(var)), n, float(np.sqrt(data_var)) if n >= 1 else float("nan")


def _new_pipeline_from_cohorts(
    data, seg, outcomes, T, window, steady, overall, by_seg, factor_of, explain
):
    """Per rep: new deals after ``T`` won inside the window, from exposure and curves."""
    reps = data.reps
    day = pd.Timedelta(days=1)
    active = reps[
        (reps["role"] == "rep")
        & (reps["hire_date"] <= window.end)
        & (reps["leave_date"].isna() | (reps["leave_date"] > T))
    ]
    inferred = (
        reps.set_index("rep_id")["hire_date_inferred"].fillna(False).astype(bool)
        if "hire_date_inferred" in reps
        else pd.Series(False, index=reps["rep_id"])
    )
    rate_from = max(steady, T - pd.Timedelta(days=365))
    created = seg[(seg["created_date"] > rate_from - day) & (seg["created_date"] <= T)]
    counts = created.groupby("owner_id").size()
    last_new = seg.groupby("owner_id")["created_date"].max()
    first_new = seg.groupby("owner_id")["created_date"].min()

    # seasonality of creation: only with enough full steady years, shrunk toward flat
    years = int((T - steady).days // 365)
    season = np.ones(12)
    if years >= SEASON_MIN_YEARS:
        hist = seg[(seg["created_date"] >= steady) & (seg["created_date"] <= T)]
        m = pd.DatetimeIndex(hist["created_date"]).month
        cnt = np.bincount(m, minlength=13)[1:].astype(float)
        days_in = np.zeros(12)
        for d in pd.date_range(steady, T):
            days_in[d.month - 1] += 1
        intensity = cnt / np.maximum(days_in, 1)
        raw = intensity / max(cnt.sum() / max(days_in.sum(), 1), 1e-12)
        weight = years / (years + SEASON_PRIOR_YEARS)
        season = np.exp(weight * np.log(np.clip(raw, 0.25, 4.0)))
    # the rate was measured over the last year; its months' average season is 1 by then
    new_days = pd.date_range(T + day, window.end)
    months = np.array([d.month for d in new_days], dtype=int)
    day_weight = season[months - 1] if len(new_days) else np.zeros(0)
    lo = np.array([max((window.start - d).days, 0) for d in new_days], dtype=float)
    hi = np.array([(window.end - d).days for d in new_days], dtype=float)

    # A new deal won inside the window took at most the window's span from its creation:
    # its size comes from won deals as quick as that (quick wins are the small ones).
    won = _join_inner(outcomes[outcomes["won"]], seg[["owner_id", "segment", "created_date"]])
    won = won[won["close_date"] > T - pd.Timedelta(days=730)]
    quick = (won["close_date"] - won["created_date"]).dt.days <= (window.end - T).days
    won = won[quick] if quick.sum() >= MIN_OWN_SIZES else won
    team_of = reps.set_index("rep_id")["team_id"]
    won_rep, won_team, all_amounts = _won_amounts(won, team_of)
    cm = created.assign(m=pd.DatetimeIndex(created["created_date"]).to_period("M"))
    dispersion = _nb_dispersion(cm.groupby(["owner_id", "m"]).size())
    booked = _booked(outcomes, seg, window, T)
    mix = created.groupby(["owner_id", "segment"]).size()

    def ramp(age):
        return np.clip(np.asarray(age, dtype=float) / RAMP_DAYS, 0.0, 1.0)

    rates = {}
    for rep in active.itertuples(index=False):
        start = rate_from
        if bool(inferred.get(rep.rep_id, False)):
            seen = first_new.get(rep.rep_id, T)
            start = max(start, seen)
            exposure = float((T - start).days + 1)
        else:
            hire = pd.Timestamp(rep.hire_date)
            start = max(start, hire)
            ages = np.arange((start - hire).days, (T - hire).days + 1)
            exposure = float(np.sum(ramp(ages))) if len(ages) else 0.0
        n = int(counts.get(rep.rep_id, 0))
        rates[rep.rep_id] = n / exposure if exposure >= 30 else np.nan
    team_rate = pd.Series(rates, dtype=float).groupby(active.set_index("rep_id")["team_id"]).mean()
    overall_rate = float(np.nanmean(list(rates.values()))) if rates else 0.0

    rows, pools, gone = [], {}, []
    for rep in active.itertuples(index=False):
        rate = rates[rep.rep_id]
        if not np.isfinite(rate):
            rate = float(team_rate.get(rep.team_id, overall_rate))
            if not np.isfinite(rate):
                rate = overall_rate
        quiet = (T - last_new.get(rep.rep_id, T)).days
        if rate > 0 and np.exp(-rate * quiet) < GONE_QUIET_P:
            gone.append(rep.rep_id)
            rate = 0.0
        if bool(inferred.get(rep.rep_id, False)):
            tenure_w = np.ones(len(new_days))
        else:
            tenure = (T - pd.Timestamp(rep.hire_date)).days + np.arange(1, len(new_days) + 1)
            tenure_w = ramp(tenure) * (tenure >= 0)
        wts = day_weight * tenure_w
        expected_created = float(rate * wts.sum())
        rep_mix = mix.get(rep.rep_id)
        segs_r = rep_mix.index.to_numpy().astype(str) if rep_mix is not None else np.array([])
        shares = rep_mix.to_numpy(float) / rep_mix.sum() if rep_mix is not None else np.array([])
        p_in, p_win = 0.0, 0.0
        for s_, share in zip(segs_r, shares, strict=True) if len(segs_r) else [(None, 1.0)]:
            cur = by_seg.get(s_) if s_ is not None else None
            n_s = float(cur.n) if cur is not None else 0.0
            w_s = n_s / (n_s + SEGMENT_STRENGTH)

            def blend(fn, cur=cur, w_s=w_s):
                return w_s * fn(cur) + (1 - w_s) * fn(overall) if cur is not None else fn(overall)

            inc = blend(lambda c: c.incidence(hi) - c.incidence(lo))
            p_in += share * (float(np.dot(wts, inc) / wts.sum()) if wts.sum() > 0 else 0.0)
            p_win += share * float(blend(lambda c: c.eventual(0.0)))
        fct = float(factor_of.get(rep.rep_id, 1.0))
        new_p = min(p_in * fct, 1.0)
        pools[rep.rep_id] = _size_pool(rep, won_rep, won_team, all_amounts)
        rows.append(
            dict(
                rep_id=rep.rep_id,
                team_id=rep.team_id,
                expected_new=expected_created,
                dispersion=dispersion,
                new_p=new_p,
                p_win_new=min(p_win * fct, 1.0),
                p_close_in_window=p_in / max(p_win, 1e-12) if p_win > 0 else 0.0,
                booked=float(booked.get(rep.rep_id, 0.0)),
                mean_size=float(np.mean(pools[rep.rep_id])) if len(pools[rep.rep_id]) else 0.0,
            )
        )
    explain.update(
        rate_from=rate_from,
        new_deals_per_month=float(sum(r["expected_new"] for r in rows))
        / max(len(new_days) / 30.44, 1e-9),
        creation_season_years=years if years >= SEASON_MIN_YEARS else 0,
        gone_quiet=gone,
        inferred_hire_dates=int(inferred.reindex(active["rep_id"]).fillna(False).sum()),
    )
    cols = [
        "rep_id",
        "team_id",
        "expected_new",
        "dispersion",
        "new_p",
        "p_win_new",
        "p_close_in_window",
        "booked",
        "mean_size",
    ]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("rep_id", kind="stable").reset_index(drop=True), pools


def _window_effects(
    snaps, data_start, seg_rates, stage_rates, rep_factors, timing_lookup, window, a, b, closed
):
    """Season of the window, and the spread of a common factor on its bookings.

    On each past snapshot the pipeline's expected bookings (the fitted model) are set
    against what it actually booked. The ratio, pooled by the calendar quarter the
    snapshot's window falls in, is that quarter's season (year-end pushes close more,
    the Spring Festival fewer); shrunk toward 1 when thin. What the ratio still varies
    after the season, beyond what independent deals explain, is the variance of a common
    factor that moves all deals together (method of moments). Returns (the forecast
    window's season, the log-sd of the common factor, the season table).
    """
    empty = pd.DataFrame(columns=["quarter", "snapshots", "season"])
    if snaps.empty:
        return 1.0, 0.0, empty
    p = np.clip(
        _lookup_win(snaps, seg_rates, stage_rates, rep_factors) * timing_lookup(snaps), 0.0, 1.0
    )
    amt = snaps["amount"].to_numpy(dtype=float)
    df = pd.DataFrame(
        {
            "snap": snaps["snap"].to_numpy(),
            "e": amt * p,
            "x": amt * snaps["hit"].to_numpy(float),
            "v": amt * amt * p * (1 - p),
        }
    )
    g = df.groupby("snap").sum()
    # The first months of a CRM's history hold a partial pipeline and no closes yet.
    g = g[(g["e"] > 0) & (g.index >= pd.Timestamp(data_start))]
    if len(g) < 6:
        return 1.0, 0.0, empty
    mid = g.index + pd.Timedelta(days=(a + b) // 2)
    g["quarter"] = mid.quarter
    by_q = g.groupby("quarter").agg(x=("x", "sum"), e=("e", "sum"), snapshots=("x", "size"))
    prior = 4.0  # snapshots' worth of belief in "no season"
    by_q["season"] = (by_q["x"] / by_q["e"] * by_q["snapshots"] + prior) / (
        by_q["snapshots"] + prior
    )
    overall = g["x"].sum() / g["e"].sum()
    by_q["season"] = by_q["season"] / (by_q["season"] * by_q["e"]).sum() * by_q["e"].sum() * overall
    f = g["quarter"].map(by_q["season"]).to_numpy()
    # Deals created after each snapshot and won inside its window: the new pipeline's
    # bookings, whose company-wide swings (lead flow, market) are common to all reps.
    won = closed[closed["won"]]
    cd, cl, am = (
        won["created_date"].to_numpy(),
        won["close_date"].to_numpy(),
        won["amount"].to_numpy(dtype=float),
    )
    new_x = np.array(
        [
            am[
                (cd > sv) & (cl > sv + np.timedelta64(a, "D")) & (cl <= sv + np.timedelta64(b, "D"))
            ].sum()
            for sv in g.index.to_numpy()
        ]
    )
    new_e = pd.Series(new_x, index=g.index).groupby(g["quarter"]).transform("mean").to_numpy()
    expected = g["e"].to_numpy() * f + new_e
    r = (g["x"].to_numpy() + new_x) / expected
    excess = float(np.var(r, ddof=1) - np.mean(g["v"].to_numpy() / expected**2))
    shock = float(np.sqrt(np.log1p(excess))) if excess > 0 else 0.0
    w_mid = window.start + (window.end - window.start) / 2
    season = float(by_q["season"].get(w_mid.quarter, 1.0))
    table = by_q.reset_index()[["quarter", "snapshots", "season"]]
    return season, shock, table


def _snapshots(hist, seg, outcomes, T, a, b, lookback_days, step) -> pd.DataFrame:
    """What the CRM showed on past snapshot dates, and what became of it.

    Snapshots every ``step`` days over the look-back, ending ``b`` days before ``T`` so
    that each snapshot's window ``(snap + a, snap + b]`` had ended by ``T``. A deal open
    on a snapshot gives one row: its stage, segment, owner, where its expected close
    date stood against the window, whether it had slipped, its age — and the outcome
    known on ``T``: ``won`` (eventually, by ``T``) and ``hit`` (won inside the window).

    Sampling deals as they sat in the pipeline on past dates, rather than counting each
    deal once per stage it reached, is what matches the forecast's population: stale
    deals linger in early stages, and a stage-entry rate would overstate their chance.
    """
    last_snap = T - pd.Timedelta(days=b)
    n_snaps = max(lookback_days // step, 1)
    first_snap = last_snap - pd.Timedelta(days=step * (n_snaps - 1))
    # Each history row is what the CRM showed from its date until the next row's: an
    # interval. The snapshots falling inside it see that row (an interval join on a
    # regular grid, no loop over snapshots).
    h = hist
    changed = h["changed_date"].to_numpy(dtype="datetime64[ns]")
    oid = h["_oid"].to_numpy() if "_oid" in h else None
    if oid is not None:  # sorted by deal and date (_with_slips): the next row is the next change
        until = np.full(len(h), np.datetime64(T + pd.Timedelta(days=1)), dtype="datetime64[ns]")
        same = oid[1:] == oid[:-1]
        until[:-1][same] = changed[1:][same]
    else:
        nxt = h.groupby("opportunity_id", sort=False)["changed_date"].shift(-1)
        until = nxt.fillna(T + pd.Timedelta(days=1)).to_numpy(dtype="datetime64[ns]")
    # The rows that matter (open, seen by a snapshot) by position: only the columns
    # used are taken, not the whole table filtered twice (its text copied each time).
    day = np.timedelta64(1, "D")
    start = np.datetime64(first_snap, "ns")
    lo_k = np.ceil(((changed - start) / day) / step).astype(np.int64)
    hi_k = np.ceil(((until - start) / day) / step).astype(np.int64)
    lo_k, hi_k = np.clip(lo_k, 0, n_snaps), np.clip(hi_k, 0, n_snaps)
    reps_ = np.maximum(hi_k - lo_k, 0)
    # rows no snapshot sees are not looked up
    rows = np.flatnonzero(h["stage"].isin(OPEN_STAGES).to_numpy(dtype=bool) & (reps_ > 0))
    lo_k, reps_ = lo_k[rows], reps_[rows]
    idx = np.repeat(np.arange(len(rows)), reps_)
    k = np.arange(reps_.sum()) - np.repeat(np.cumsum(reps_) - reps_, reps_) + np.repeat(lo_k, reps_)
    snap_v = (first_snap + pd.to_timedelta(k * step, unit="D")).to_numpy()
    # Everything per history row first (strings hashed once per row, not per snapshot),
    # then repeated per snapshot by position; strings travel as categorical codes.
    ids = h["opportunity_id"]
    if oid is not None:  # rows in deal order: factorize's codes are the runs of equal ids
        o = oid[rows]
        first = np.ones(len(o), dtype=bool)
        first[1:] = o[1:] != o[:-1]
        oid_code = np.cumsum(first) - 1
        uniq = ids.iloc[rows[first]]
    else:
        oid_code, uniq = pd.factorize(ids.iloc[rows], use_na_sentinel=False)
    at_out = _key_positions(outcomes.index, uniq)[oid_code]
    won_h = np.zeros(len(rows), dtype=bool)
    close_h = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[ns]")
    has_out = at_out >= 0
    # still open on T: not (yet) won
    won_o = outcomes["won"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    won_h[has_out] = won_o[at_out[has_out]]
    close_h[has_out] = outcomes["close_date"].to_numpy(dtype="datetime64[ns]")[at_out[has_out]]
    at_seg = _key_positions(seg.index, uniq)[oid_code]
    has_seg = at_seg >= 0
    owner_cat = _categorical(seg["owner_id"])
    segment_cat = _categorical(seg["segment"])
    owner_h = np.where(has_seg, owner_cat.codes[np.maximum(at_seg, 0)], -1)
    segment_h = np.where(has_seg, segment_cat.codes[np.maximum(at_seg, 0)], -1)
    created_h = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[ns]")
    created_h[has_seg] = seg["created_date"].to_numpy(dtype="datetime64[ns]")[at_seg[has_seg]]
    stage_cat = _categorical(h["stage"].iloc[rows])
    h_ecd = h["expected_close_date"].to_numpy(dtype="datetime64[ns]")[rows]
    h_slips = h["n_slips"].to_numpy()[rows]
    h_amount = h["amount"].to_numpy(dtype=float)[rows]
    close = close_h[idx]
    won = won_h[idx]
    exp_days = (h_ecd[idx] - snap_v) / day
    exp_code = np.zeros(len(idx), dtype=np.int8)  # after
    exp_code[exp_days <= b] = 2  # inside
    exp_code[exp_days <= a] = 1  # before
    exp_code[exp_days <= 0] = 3  # overdue
    hit = (
        won & (close > snap_v + np.timedelta64(a, "D")) & (close <= snap_v + np.timedelta64(b, "D"))
    )
    age_days = ((snap_v - created_h[idx]) / day).astype(np.int64)
    return pd.DataFrame(
        {
            "opportunity_id": oid_code[idx],  # a code per deal (counted, never shown)
            "owner_id": pd.Categorical.from_codes(owner_h[idx], owner_cat.categories),
            "segment": pd.Categorical.from_codes(segment_h[idx], segment_cat.categories),
            "stage": pd.Categorical.from_codes(stage_cat.codes[idx], stage_cat.categories),
            "exp_bucket": pd.Categorical.from_codes(exp_code, _EXP_BUCKETS),
            "slipped": h_slips[idx] > 0,
            "age": pd.Categorical.from_codes(_age_codes(age_days), _AGE_BUCKETS),
            "won": won,
            "hit": hit,
            "snap": snap_v,
            "amount": h_amount[idx],
        },
        copy=False,  # fresh arrays: neither copied nor stacked into blocks (~10M rows)
    )


def _effective(g: pd.DataFrame, value: str, keys: list[str]) -> pd.DataFrame:
    """Group counts with repeated snapshots of one deal counted as one observation.

    A deal seen on five snapshots is one outcome, not five: successes and trials are
    scaled by deals / rows in each group, so shrinkage is not overconfident.
    """
    agg = g.groupby(keys, observed=True).agg(
        k=(value, "sum"), rows=(value, "size"), deals=("opportunity_id", "nunique")
    )
    f = agg["deals"] / agg["rows"]
    agg["k_eff"] = agg["k"] * f
    agg["n_eff"] = agg["deals"].astype(float)
    return _plain(agg.reset_index())


def _fit_win_rates(snaps: pd.DataFrame):
    """Eventual win rate of deals sitting in each stage, then × segment, shrunk."""
    st = _effective(snaps, "won", ["stage"]).set_index("stage")
    overall = snaps["won"].mean() if len(snaps) else 0.3
    stage_rates = (
        ((st["k_eff"] + 2 * overall) / (st["n_eff"] + 2)).reindex(list(OPEN_STAGES)).fillna(overall)
    )
    g = _effective(snaps, "won", ["stage", "segment"])
    parent = g["stage"].map(stage_rates).to_numpy()
    rates = np.empty(len(g))
    for stage in g["stage"].unique():
        m = (g["stage"] == stage).to_numpy()
        rates[m] = beta_binomial_shrink(g.loc[m, "k_eff"], g.loc[m, "n_eff"], parent[m])
    g["rate"] = rates
    seg_rates = g.set_index(["stage", "segment"])["rate"]
    table = g.drop(columns=["deals"]).rename(columns={"n_eff": "deals", "k_eff": "won"})[
        ["stage", "segment", "deals", "won", "rate"]
    ]
    return table, seg_rates, stage_rates


def _deal_rate(stage, segment, seg_rates, stage_rates) -> np.ndarray:
    return _by_distinct(
        {"stage": stage, "segment": segment},
        lambda k: _deal_rate_rows(k["stage"], k["segment"], seg_rates, stage_rates),
    )


def _deal_rate_rows(stage, segment, seg_rates, stage_rates) -> np.ndarray:
    idx = pd.MultiIndex.from_arrays([np.asarray(stage), np.asarray(segment)])
    r = seg_rates.reindex(idx).to_numpy()
    fallback = pd.Series(np.asarray(stage)).map(stage_rates).to_numpy(dtype=float)
    return np.where(np.isnan(r), fallback, r)


def _odds(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return p / (1 - p)


def _fit_rep_factors(snaps, seg_rates, stage_rates):
    """A rep's win odds relative to their stages and segments, shrunk toward 1.

    Observed wins against the wins the segment rates expect, over the rep's snapshot
    rows (effective counts); Gamma-Poisson style shrinkage with 15 pseudo-wins.
    """
    expected = _deal_rate(snaps["stage"], snaps["segment"], seg_rates, stage_rates)
    df = snaps[["owner_id", "opportunity_id", "won"]].assign(expected=expected)
    g = df.groupby("owner_id", observed=True).agg(
        won=("won", "sum"),
        expected=("expected", "sum"),
        rows=("won", "size"),
        deals=("opportunity_id", "nunique"),
    )
    f = g["deals"] / g["rows"]
    won_eff, exp_eff = g["won"] * f, g["expected"] * f
    strength = 15.0  # pseudo-wins: a rep needs ~15 expected wins to move halfway
    g["odds_factor"] = ((won_eff + strength) / (exp_eff + strength)).clip(0.2, 5.0)
    g["won"], g["expected"] = won_eff, exp_eff
    return _plain(g.reset_index()).rename(columns={"owner_id": "rep_id"})[
        ["rep_id", "deals", "won", "expected", "odds_factor"]
    ]


def _lookup_win(deals, seg_rates, stage_rates, rep_factors) -> np.ndarray:
    return _by_distinct(
        {k: deals[k] for k in ("stage", "segment", "owner_id")},
        lambda k: _lookup_win_rows(k, seg_rates, stage_rates, rep_factors),
    )


def _lookup_win_rows(deals, seg_rates, stage_rates, rep_factors) -> np.ndarray:
    base = _deal_rate_rows(deals["stage"], deals["segment"], seg_rates, stage_rates)
    f = deals["owner_id"].map(rep_factors.set_index("rep_id")["odds_factor"]).fillna(1.0).to_numpy()
    o = _odds(base) * f
    return o / (1 + o)


def _fit_timing(snaps, a, b):
    """P(a deal that will be won closes inside the window | its state on the snapshot).

    Hierarchy with shrinkage at each step: stage → × where the expected close date
    stood → × slipped before → × age.
    """
    s = snaps[snaps["won"]]
    s = s.assign(hit=s["hit"].astype(float))
    overall = (s["hit"].sum() + 1) / (len(s) + 2) if len(s) else 0.5
    levels = [
        ["stage"],
        ["stage", "exp_bucket"],
        ["stage", "exp_bucket", "slipped"],
        ["stage", "exp_bucket", "slipped", "age"],
    ]
    fitted = []
    prev = None
    for cols in levels:
        g = _effective(s, "hit", cols)
        if prev is None:
            parent = np.full(len(g), overall)
        else:
            pcols = cols[:-1]
            parent = (
                g[pcols]
                .merge(prev[pcols + ["rate"]], on=pcols, how="left")["rate"]
                .fillna(overall)
                .to_numpy()
            )
        g["rate"] = beta_binomial_shrink(g["k_eff"], g["n_eff"], parent) if len(g) else []
        fitted.append((cols, g))
        prev = g
    table = fitted[2][1].rename(columns={"k_eff": "closed_in_window"})[
        ["stage", "exp_bucket", "slipped", "deals", "closed_in_window", "rate"]
    ]

    def lookup(deals: pd.DataFrame, snap: pd.Timestamp | None = None) -> np.ndarray:
        if snap is None:  # already in snapshot form (stage, exp_bucket, slipped, age)
            keys = deals[["stage", "exp_bucket", "slipped", "age"]].reset_index(drop=True)
        else:
            keys = pd.DataFrame(
                {
                    "stage": deals["stage"].to_numpy(),
                    "exp_bucket": _exp_bucket(deals["expected_close_date"], snap, a, b),
                    "slipped": deals["n_slips"].to_numpy() > 0,
                    "age": _age_bucket(deals["age_days"].to_numpy()),
                }
            )
        return _by_distinct({c: keys[c] for c in keys.columns}, rows)

    def rows(keys: pd.DataFrame) -> np.ndarray:
        rate = np.full(len(keys), overall)
        for cols, g in fitted:  # the deepest level with data wins
            m = keys[cols].merge(g[cols + ["rate"]], on=cols, how="left")["rate"].to_numpy()
            rate = np.where(np.isnan(m), rate, m)
        return rate

    return table, lookup


def _fit_new_pipeline(
    data, hist, seg, outcomes, T, window, a, b, seg_rates, stage_rates, rep_factors, lookback_days
):
    """Per rep: expected new deals created after T and won inside the window."""
    reps = data.reps
    active = reps[
        (reps["role"] == "rep")
        & (reps["hire_date"] <= window.end)
        & (reps["leave_date"].isna() | (reps["leave_date"] > T))
    ]
    since = T - pd.Timedelta(days=lookback_days)
    created = seg[(seg["created_date"] > since) & (seg["created_date"] <= T)]

    # Seasonality: relative creation intensity by month of year, from the whole look-back.
    months = pd.DatetimeIndex(created["created_date"]).month
    month_counts = np.bincount(months, minlength=13)[1:].astype(float)
    month_days = np.zeros(12)
    for d in pd.date_range(since + pd.Timedelta(days=1), T):
        month_days[d.month - 1] += 1
    intensity = np.where(month_days > 0, month_counts / np.maximum(month_days, 1), 0.0)
    mean_int = month_counts.sum() / max(month_days.sum(), 1)
    season = np.where(intensity > 0, intensity / max(mean_int, 1e-12), 1.0)

    # Days of the creation window (after T, up to the window's end), weighted by season.
    new_days = pd.date_range(T + pd.Timedelta(days=1), window.end)
    # Win rate of a newly created deal, by segment: deals created long enough ago that
    # their outcome is known (still open counts as not won), shrunk to the overall rate.
    matured = seg[
        (seg["created_date"] > since) & (seg["created_date"] <= T - pd.Timedelta(days=180))
    ]
    if outcomes["won"].dtype == bool:  # by position (a reindex hashes a million ids slower)
        at = _key_positions(outcomes.index, matured.index)
        won_at = np.append(outcomes["won"].to_numpy(), False)[at]  # (-1: the False)
        mwon = pd.Series(won_at.astype(float), index=matured.index)
    else:
        mwon = outcomes["won"].reindex(matured.index).astype("boolean").fillna(False).astype(float)
    by_seg = pd.DataFrame({"segment": matured["segment"].to_numpy(), "won": mwon.to_numpy()})
    gs = by_seg.groupby("segment")["won"].agg(["sum", "size"])
    overall_new = float((mwon.sum() + 1) / (len(mwon) + 2))
    new_rates = pd.Series(
        beta_binomial_shrink(gs["sum"], gs["size"], overall_new) if len(gs) else [],
        index=gs.index,
        dtype=float,
    )

    # Cycle time (created → won) distribution from deals won before T.
    won = _join_inner(outcomes[outcomes["won"]], seg[["created_date", "owner_id", "segment"]])
    cycle = np.sort((won["close_date"] - won["created_date"]).dt.days.to_numpy())
    if len(cycle) == 0:
        cycle = np.array([60])

    def p_close_in(c_day: pd.Timestamp) -> float:
        lo = (window.start - c_day).days  # cycle must land in [lo, hi] days
        hi = (window.end - c_day).days
        lo = max(lo, 0)
        if hi < lo:
            return 0.0
        return (np.searchsorted(cycle, hi, "right") - np.searchsorted(cycle, lo, "left")) / len(
            cycle
        )

    day_weights = (
        np.array([season[d.month - 1] for d in new_days]) if len(new_days) else np.zeros(0)
    )
    day_p = np.array([p_close_in(d) for d in new_days]) if len(new_days) else np.zeros(0)

    # Per-rep arrival rate: deals per (tenured) day over the look-back, per month counts
    # for overdispersion (negative binomial, pooled dispersion).
    team_of = reps.set_index("rep_id")["team_id"]
    counts = created.groupby("owner_id").size()
    factors = rep_factors.set_index("rep_id")["odds_factor"]
    won_amounts, won_team, all_amounts = _won_amounts(won, team_of)

    # Monthly counts per rep for the dispersion estimate.
    cm = created.assign(m=pd.DatetimeIndex(created["created_date"]).to_period("M"))
    per_month = cm.groupby(["owner_id", "m"]).size()
    dispersion = _nb_dispersion(per_month)

    # Each new deal's segment mix: the rep's own mix of created deals.
    seg_mix = created.groupby(["owner_id", "segment"]).size()

    booked = _booked(outcomes, seg, window, T)
    day_offsets = np.array([(d - T).days for d in new_days], dtype=float)
    ramp_days = RAMP_DAYS

    def ramp(age):  # production share at a given tenure, in days
        return np.clip(np.asarray(age, dtype=float) / ramp_days, 0.0, 1.0) if ramp_days > 0 else 1.0

    # Full-productivity creation rate per rep: deals over ramp-weighted exposure days.
    full_rate = {}
    for rep in active.itertuples(index=False):
        hire = pd.Timestamp(rep.hire_date)
        days_seen = np.arange(max((since - hire).days, 0) + 1, (T - hire).days + 1)
        exposure = float(np.sum(ramp(days_seen))) if len(days_seen) else 0.0
        n = counts.get(rep.rep_id, 0)
        full_rate[rep.rep_id] = (n / exposure) if exposure >= 30 else np.nan
    team_rate = pd.Series(full_rate).groupby(active.set_index("rep_id")["team_id"]).mean()

    rows, pools = [], {}
    for rep in active.itertuples(index=False):
        rate = full_rate[rep.rep_id]
        if not np.isfinite(rate):  # too new to measure: the team's full rate
            rate = float(team_rate.get(rep.team_id, np.nanmean(list(full_rate.values()))))
        age_future = (T - pd.Timestamp(rep.hire_date)).days + day_offsets
        w = day_weights * ramp(age_future) * (age_future >= 0)
        expected_created = float(rate * w.sum())
        p_in = float(np.dot(w, day_p) / w.sum()) if w.sum() > 0 else 0.0
        # Win probability of a new deal: creation-stage rate in the rep's segment mix.
        mix = seg_mix.get(rep.rep_id)
        if mix is not None and len(mix):
            segs = mix.index.to_numpy()
            wm = mix.to_numpy(float) / mix.sum()
            base = float(np.dot(wm, new_rates.reindex(segs).fillna(overall_new).to_numpy()))
        else:
            base = overall_new
        o = _odds(base) * float(factors.get(rep.rep_id, 1.0))
        p_win = o / (1 + o)
        pools[rep.rep_id] = _size_pool(rep, won_amounts, won_team, all_amounts)
        rows.append(
            dict(
                rep_id=rep.rep_id,
                team_id=rep.team_id,
                expected_new=expected_created,
                dispersion=dispersion,
                new_p=p_win * p_in,
                p_win_new=p_win,
                p_close_in_window=p_in,
                booked=float(booked.get(rep.rep_id, 0.0)),
                mean_size=float(np.mean(pools[rep.rep_id])) if len(pools[rep.rep_id]) else 0.0,
            )
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "rep_id",
            "team_id",
            "expected_new",
            "dispersion",
            "new_p",
            "p_win_new",
            "p_close_in_window",
            "booked",
            "mean_size",
        ],
    )
    return out.sort_values("rep_id", kind="stable").reset_index(drop=True), pools


def _won_amounts(won: pd.DataFrame, team_of: pd.Series):
    """Sorted won amounts by rep, by team, and of everyone (0 when nothing was won)."""
    by_rep = won.groupby("owner_id")["amount"].apply(lambda s: np.sort(s.to_numpy()))
    by_team = (
        won.assign(team=won["owner_id"].map(team_of))
        .groupby("team")["amount"]
        .apply(lambda s: np.sort(s.to_numpy()))
    )
    everyone = np.sort(won["amount"].to_numpy()) if len(won) else np.array([0.0])
    return by_rep, by_team, everyone


def _size_pool(rep, by_rep, by_team, everyone) -> np.ndarray:
    """Won amounts a rep's new deals are drawn from: their own when they have at least
    :data:`MIN_OWN_SIZES`, else their team's, else everyone's."""
    pool = by_rep.get(rep.rep_id)
    if pool is None or len(pool) < MIN_OWN_SIZES:
        pool = by_team.get(rep.team_id, everyone)
        if pool is None or len(pool) < MIN_OWN_SIZES:
            pool = everyone
    return np.asarray(pool, dtype=float)


def _nb_dispersion(per_month: pd.Series) -> float:
    """Pooled negative-binomial size ``k`` (Var = μ + μ²/k) from monthly counts per rep."""
    if per_month.empty:
        return np.inf
    g = per_month.groupby(level=0)
    mu = g.mean()
    var = g.var(ddof=1)
    m = var.notna() & (mu > 0)
    if m.sum() < 3:
        return np.inf
    excess = (var[m] - mu[m]).sum()
    if excess <= 0:
        return np.inf
    return float(np.clip((mu[m] ** 2).sum() / excess, 0.5, 1e6))


def _booked(outcomes, seg, window, T) -> pd.Series:
    """Won inside the window and before or on ``T``: already in the bag."""
    w = outcomes[
        outcomes["won"] & (outcomes["close_date"] >= window.start) & (outcomes["close_date"] <= T)
    ]
    w = _join_inner(w, seg[["owner_id"]])
    return w.groupby("owner_id")["amount"].sum()


def count_cdf(mean: np.ndarray, dispersion: float, tail: float = 1e-10) -> np.ndarray:
    """Inverse-CDF table of new-deal counts: Poisson, or negative binomial if dispersed.

    Row r is P(N ≤ k) for k = 0..K-1 with the last column forced to 1 (K covers all
    rows to a tail mass below ``tail``).
    """
    mean = np.asarray(mean, dtype=float)
    if len(mean) == 0:
        return np.ones((0, 1))
    top = float(mean.max())
    if np.isfinite(dispersion):
        n_, p_ = dispersion, dispersion / (dispersion + np.maximum(mean, 1e-12))
        K = (
            int(stats.nbinom.ppf(1 - tail, n_, dispersion / (dispersion + top))) + 2
            if top > 0
            else 1
        )
        k = np.arange(K)
        cdf = stats.nbinom.cdf(k[None, :], n_, p_[:, None])
    else:
        K = int(stats.poisson.ppf(1 - tail, top)) + 2 if top > 0 else 1
        k = np.arange(K)
        cdf = stats.poisson.cdf(k[None, :], mean[:, None])
    cdf = np.minimum.accumulate(cdf[:, ::-1], axis=1)[:, ::-1]  # guard rounding
    cdf[:, -1] = 1.0
    cdf[mean <= 0, :] = 1.0
    return np.ascontiguousarray(cdf)


def as_known_on(data: Dataset, when) -> Dataset:
    """The dataset as the CRM showed it at the end of ``when``: nothing from later.

    Opportunities created later are gone; the others carry the stage, amount and
    expected close date of their last history row on or before ``when``, and a close
    date only if they had closed by then. Dated rows of the other tables after
    ``when`` are gone. Calibrating on this must equal calibrating the full data "as of"
    ``when`` (the no-leakage property the backtests rely on).
    """
    T = pd.Timestamp(when).normalize()
    t = dict(data.tables)
    sh = t["stage_history"]
    sh = sh[sh["changed_date"] <= T]
    last = (
        sh.sort_values(["opportunity_id", "changed_date"], kind="stable")
        .groupby("opportunity_id", sort=False)
        .tail(1)
        .set_index("opportunity_id")
    )
    opp = t["opportunities"]
    opp = opp[opp["created_date"] <= T].copy()
    st = last.reindex(opp["opportunity_id"])
    has = st["stage"].notna().to_numpy()
    if "probability" in opp:  # the CRM probability of a stage it no longer has is unknown
        changed = has & (st["stage"].to_numpy() != opp["stage"].to_numpy())
        opp.loc[changed, "probability"] = np.nan
    opp.loc[has, "stage"] = st["stage"].to_numpy()[has]
    opp.loc[has, "amount"] = st["amount"].to_numpy()[has]
    opp.loc[has, "expected_close_date"] = st["expected_close_date"].to_numpy()[has]
    closed = opp["stage"].isin(CLOSED_STAGES).to_numpy()
    opp.loc[~closed, "close_date"] = pd.NaT
    opp.loc[closed & has, "close_date"] = st["changed_date"].to_numpy()[closed & has]
    t["opportunities"] = opp.reset_index(drop=True)
    t["stage_history"] = sh.reset_index(drop=True)
    dated = {
        "activities": "date",
        "leads": "created_date",
        "invoices": "issue_date",
        "payments": "date",
        "nps": "date",
        "reversals": "reversal_date",
    }
    for name, col in dated.items():
        if name in t:
            t[name] = t[name][t[name][col] <= T].reset_index(drop=True)
    return Dataset(t, T.date(), source=f"{data.source} as known on {T.date()}", report=data.report)
