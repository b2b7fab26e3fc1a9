"""A Salesforce-shaped export of any size, with stage history, for benchmarks and tests.

:func:`write_export` writes two reports as Salesforce exports them (every field quoted,
dates month-first, owners by name):

``opportunities.csv``
    the standard opportunity report columns that ``params/mappings/salesforce.yaml``
    reads, plus ``Opportunity ID`` and ``Product``;
``opportunity_history.csv``
    the opportunity history report: one row per stage a deal entered, per push of its
    close date and per close (``Opportunity ID``, ``Stage``, ``Amount``,
    ``Probability (%)``, ``Close Date`` as known then, ``Edit Date``).

``params/mappings/salesforce_history.yaml`` reads both. The company behind them has
about three years of deals up to :data:`AS_OF`: deals are created at a growing rate,
walk Qualification → Needs Analysis → Proposal/Price Quote → Negotiation/Review and
close won or lost (lost deals drop out early more often); cycle lengths are lognormal
with a median per product, won deals take longer; win rates differ by product and by
owner; amounts are lognormal around each product's median; a share of the deals push
their close date once. Deals whose close lies after :data:`AS_OF` are the open pipeline,
each at the stage it had reached; an open deal whose close date has passed has it
pushed once more.

Everything is vectorised NumPy and pyarrow (one million deals in a few seconds) and
deterministic by ``seed``. ``bad_rows=N`` plants N bad cells of six kinds (see
:data:`BAD_KINDS`) at seeded rows; where each went is returned by :func:`planted` (and
kept in ``planted.json`` beside the reports, which no mapping reads).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

__all__ = ["AS_OF", "BAD_KINDS", "write_export", "planted"]

#: The export's date: the last day anything in it happened.
AS_OF = dt.date(2026, 11, 30)
#: How far back the history goes.
YEARS = 3

#: Open stages in the order a deal walks them, then the two closed ones (Salesforce names).
OPEN_STAGES = ("Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review")
WON, LOST = "Closed Won", "Closed Lost"
#: Salesforce's default probability per stage.
PROBABILITY = {
    "Qualification": 10,
    "Needs Analysis": 20,
    "Proposal/Price Quote": 75,
    "Negotiation/Review": 90,
    WON: 100,
    LOST: 0,
}

#: product → (median amount, median cycle days, win rate)
PRODUCTS = {
    "Sensors": (18_000.0, 35.0, 0.42),
    "Gateway": (42_000.0, 50.0, 0.35),
    "Platform": (160_000.0, 110.0, 0.24),
    "Analytics": (75_000.0, 80.0, 0.30),
    "Services": (25_000.0, 40.0, 0.48),
    "Support Plan": (12_000.0, 25.0, 0.55),
    "Edge AI Kit": (55_000.0, 70.0, 0.28),
    "Training": (6_000.0, 20.0, 0.60),
}
LEAD_SOURCES = ("Web", "Partner Referral", "Trade Show", "Phone Inquiry", "Advertisement")
TYPES = ("New Business", "Existing Business", "Renewal", "Add-On Business")

_EN_FIRST = (
    "Emily", "James", "Olivia", "Daniel", "Sophia", "Michael", "Grace", "David",
    "Chloe", "Ryan", "Hannah", "Kevin", "Laura", "Peter", "Rachel", "Simon",
)  # fmt: skip
_EN_LAST = ("Carter", "Nguyen", "Walsh", "Brooks", "Patel", "Hughes", "Lin", "Moreno")
_PINYIN_FAMILY = ("Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou")
_PINYIN_GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Yang", "Jie", "Tao", "Ying")
_HAN_FAMILY = "张王李刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_HAN_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "杰", "涛", "颖", "晨", "慧", "鹏", "倩")

_ACCOUNT_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Soylent",
    "Tyrell", "Cyberdyne", "Vandelay", "Wonka", "Aperture", "Gringotts", "Oscorp",
    "Massive", "Pied Piper", "Dunder", "Monarch", "Nakatomi", "华为", "海尔", "长城", "东方",
)  # fmt: skip
_ACCOUNT_KINDS = (
    "Industrial", "Logistics", "Health", "Foods", "Energy", "Retail", "Systems",
    "Motors", "Capital", "Media", "Pharma", "Textiles", "制造", "科技", "物流", "医疗",
)  # fmt: skip

#: The kinds of bad cell ``bad_rows`` plants, in the order they cycle.
BAD_KINDS = (
    "unparseable_date",
    "negative_amount",
    "unknown_stage",
    "duplicate_id",
    "unknown_opportunity",
    "blank_owner",
)

OPPORTUNITY_COLUMNS = (
    "Opportunity ID",
    "Opportunity Owner",
    "Account Name",
    "Opportunity Name",
    "Product",
    "Stage",
    "Amount",
    "Probability (%)",
    "Close Date",
    "Created Date",
    "Lead Source",
    "Type",
)
HISTORY_COLUMNS = (
    "Opportunity ID",
    "Stage",
    "Amount",
    "Probability (%)",
    "Close Date",
    "Edit Date",
)


def owner_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct owner names: English, pinyin and Chinese, shuffled by ``rng``."""
    pools = [
        [f"{f} {g}" for f in _EN_FIRST for g in _EN_LAST],
        [f"{f} {g}" for f in _PINYIN_FAMILY for g in _PINYIN_GIVEN],
        [f + g for f in _HAN_FAMILY for g in _HAN_GIVEN],
    ]
    picks = [list(rng.permutation(np.array(p, dtype=object))) for p in pools]
    out, seen, k = [], set(), 0
    while len(out) < n:
        pool = picks[k % 3]
        if not pool:
            if not any(picks):  # more owners than names: number them
                name = f"Owner {len(out) + 1}"
            else:
                k += 1
                continue
        else:
            name = pool.pop()
        if name.casefold() not in seen:
            seen.add(name.casefold())
            out.append(name)
        k += 1
    return out


def _base62_ids(n: int, prefix: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct Salesforce-like 18-character ids (``prefix`` + base62)."""
    alphabet = np.frombuffer(
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
    )
    width = 18 - len(prefix)
    # an odd multiplier modulo 2**60 is a bijection: distinct counters, distinct ids
    mult = np.uint64(int(rng.integers(1, 2**40)) * 2 + 1)
    x = (np.arange(n, dtype=np.uint64) * mult + np.uint64(int(rng.integers(0, 2**40)))) & np.uint64(
        2**60 - 1
    )
    chars = np.empty((n, width), dtype=np.uint8)
    chars[:, :] = alphabet[0]
    for j in range(width - 1, -1, -1):
        chars[:, j] = alphabet[(x % np.uint64(62)).astype(np.int64)]
        x //= np.uint64(62)
    pre = np.frombuffer(prefix.encode(), dtype=np.uint8)
    full = np.concatenate([np.broadcast_to(pre, (n, len(pre))), chars], axis=1)
    return np.ascontiguousarray(full).view(f"S{18}").ravel()


def _simulate(n: int, n_owners: int, rng: np.random.Generator) -> dict:
    """The company's deals and their history, as arrays (dates as day numbers)."""
    as_of = np.datetime64(AS_OF, "D")
    start = as_of - np.timedelta64(365 * YEARS, "D")
    span = int((as_of - start).astype(int))
    names = list(PRODUCTS)
    med_amount = np.array([PRODUCTS[p][0] for p in names])
    med_cycle = np.array([PRODUCTS[p][1] for p in names])
    base_win = np.array([PRODUCTS[p][2] for p in names])

    owners = owner_names(n_owners, rng)
    owner_skill = rng.normal(0.0, 0.35, n_owners)  # log-odds of winning
    owner_volume = rng.lognormal(0.0, 0.4, n_owners)
    product_mix = rng.dirichlet(np.full(len(names), 2.0), n_owners)  # per owner

    owner = rng.choice(n_owners, n, p=owner_volume / owner_volume.sum())
    # product by owner's mix: inverse CDF on each owner's cumulative mix
    cum = np.cumsum(product_mix, axis=1)
    product = (rng.random(n)[:, None] > cum[owner]).sum(axis=1).clip(0, len(names) - 1)
    n_accounts = max(20, n // 8)
    account = np.minimum((rng.pareto(1.2, n) * n_accounts / 10).astype(np.int64), n_accounts - 1)

    # created at a growing rate over the three years
    created = start + (rng.power(1.4, n) * span).astype("timedelta64[D]")
    logit = np.log(base_win[product] / (1 - base_win[product])) + owner_skill[owner]
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    # cycle: lognormal around the product's median; won deals take longer
    cycle = med_cycle[product] * rng.lognormal(0.0, 0.6, n) * np.where(won, 1.2, 0.8)
    cycle = np.maximum(cycle.round().astype(np.int64), 4)
    close = created + cycle.astype("timedelta64[D]")
    # stages reached: won deals all four; lost ones drop out early more often
    reached = np.where(won, 4, rng.choice([1, 2, 3, 4], n, p=[0.4, 0.3, 0.2, 0.1]))
    amount = np.round(med_amount[product] * rng.lognormal(0.0, 0.7, n), 2)
    first_amount = np.round(amount * rng.lognormal(0.05, 0.15, n), 2)
    # the close date first promised: optimistic for a third of the deals
    pushes = rng.random(n) < 0.3
    promised = created + np.maximum((cycle * rng.uniform(0.5, 0.9, n)).astype(np.int64), 1).astype(
        "timedelta64[D]"
    )
    promised = np.where(pushes, promised, close)

    # stage entry days: cumulative shares of the cycle (first stage on the created day)
    w = rng.exponential(1.0, (n, 4))
    w[np.arange(4)[None, :] >= reached[:, None]] = 0.0
    share = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
    entry = np.zeros((n, 4), dtype=np.int64)
    entry[:, 1:] = np.floor(share[:, :3] * (cycle[:, None] - 1)).astype(np.int64) + 1
    entry = np.maximum.accumulate(entry, axis=1)  # never back in time
    # distinct days per stage: entry k at least k days after created, and before the close
    entry = np.maximum(entry, np.arange(4)[None, :])
    entry_day = created[:, None] + entry.astype("timedelta64[D]")

    is_open = close > as_of
    # the stage an open deal has reached by the export date
    seen = (entry_day <= as_of) & (np.arange(4)[None, :] < reached[:, None])
    current = seen.sum(axis=1) - 1  # index of the current open stage
    # the push: a day strictly after the last stage entry before the close, and before it
    last_entry = entry_day[np.arange(n), reached - 1]
    push_day = last_entry + ((close - last_entry).astype(np.int64) // 2).astype("timedelta64[D]")
    pushes &= (push_day > last_entry) & (push_day < close) & (promised < close)
    pushes &= ~is_open | (push_day <= as_of)
    pushes &= ~is_open | (current == reached - 1)
    # an open deal past its date gets a new one
    expected = np.where(pushes | ~is_open, close, promised)
    return dict(
        owners=owners,
        products=names,
        n_accounts=n_accounts,
        owner=owner,
        product=product,
        account=account,
        created=created,
        close=close,
        won=won,
        reached=reached,
        amount=amount,
        first_amount=first_amount,
        promised=promised,
        pushes=pushes,
        push_day=push_day,
        entry_day=entry_day,
        is_open=is_open,
        current=current,
        expected=expected,
        as_of=as_of,
    )


def _history(s: dict) -> dict:
    """One row per stage entered, per push and per close, in deal then date order."""
    n = len(s["owner"])
    reached, is_open, current = s["reached"], s["is_open"], s["current"]
    # open deals: the stages entered so far; closed ones: all they reached
    n_stage = np.where(is_open, current + 1, reached)
    deal_rows = []
    stage_rows = []
    # stage entries
    k_idx = np.arange(4)[None, :]
    take = k_idx < n_stage[:, None]
    d, k = np.nonzero(take)
    deal_rows.append(d)
    day = s["entry_day"][d, k]
    stage = k.astype(np.int64)  # 0..3 open stages, 4 won, 5 lost
    # the close date as known on that day: the promised one until a push
    known = s["promised"][d]
    amt = np.where(k == 0, s["first_amount"][d], s["amount"][d])
    stage_rows.append((day, stage, known, amt))
    # pushes
    d = np.flatnonzero(s["pushes"])
    deal_rows.append(d)
    stage_rows.append(
        (s["push_day"][d], np.where(s["is_open"][d], current[d], s["reached"][d] - 1),
         s["expected"][d], s["amount"][d])
    )  # fmt: skip
    # closes
    d = np.flatnonzero(~is_open)
    deal_rows.append(d)
    stage_rows.append(
        (s["close"][d], np.where(s["won"][d], 4, 5), s["close"][d], s["amount"][d])
    )  # fmt: skip
    deal = np.concatenate(deal_rows)
    day = np.concatenate([r[0] for r in stage_rows])
    stage = np.concatenate([r[1] for r in stage_rows])
    known = np.concatenate([r[2] for r in stage_rows])
    amt = np.concatenate([r[3] for r in stage_rows])
    # after a push, rows carry the new date (a close row already does)
    pushed_before = s["pushes"][deal] & (day > s["push_day"][deal])
    known = np.where(pushed_before, s["expected"][deal], known)
    order = np.lexsort((day, deal))
    assert n == 0 or deal.max() < n
    return dict(deal=deal[order], day=day[order], stage=stage[order], known=known[order],
                amount=amt[order])  # fmt: skip


def _fmt_date(days: np.ndarray, with_time: np.ndarray | None = None):
    """Month-first dates as Salesforce writes them; with a time of day when given."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ts = pa.array(days.astype("datetime64[s]") + (0 if with_time is None else with_time))
    return pc.strftime(ts, format="%m/%d/%Y" if with_time is None else "%m/%d/%Y %I:%M %p")


def _fmt_amount(x: np.ndarray):
    """Amounts as plain decimals with cents (``"18250.40"``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cents = np.round(np.asarray(x, dtype=np.float64) * 100).astype(np.int64)
    neg = cents < 0
    cents = np.abs(cents)
    whole = pc.cast(pa.array(cents // 100), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    out = pc.binary_join_element_wise(whole, frac, ".")
    return pc.if_else(pa.array(neg), pc.binary_join_element_wise("-", out, ""), out)


def _take(values: list[str], idx: np.ndarray):
    import pyarrow as pa

    return pa.array(values, type=pa.string()).take(pa.array(idx))


def write_export(
    folder: str | Path,
    n_opportunities: int = 1_000_000,
    n_owners: int = 62,
    seed: int = 0,
    bad_rows: int = 0,
) -> Path:
    """Write ``opportunities.csv`` and ``opportunity_history.csv`` to ``folder``.

    Read them with ``simlib data check --data FOLDER --mapping salesforce_history``.
    ``bad_rows`` bad cells are planted (cycling through :data:`BAD_KINDS`) at rows drawn
    from ``seed``; :func:`planted` says where. Returns the folder.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if n_opportunities < 10 or n_owners < 1:
        raise ValueError("write_export needs at least 10 opportunities and one owner")
    if bad_rows < 0 or bad_rows > n_opportunities // 4:
        raise ValueError(f"bad_rows must be 0 to {n_opportunities // 4}; got {bad_rows}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    s = _simulate(n_opportunities, n_owners, rng)
    h = _history(s)
    n = n_opportunities

    ids = _base62_ids(n, "006", rng)
    stage_names = [*OPEN_STAGES, WON, LOST]
    opp_stage = np.where(s["is_open"], s["current"], np.where(s["won"], 4, 5))
    prob = np.array([PROBABILITY[x] for x in stage_names])
    accounts = [
        f"{_ACCOUNT_WORDS[k % len(_ACCOUNT_WORDS)]} "
        f"{_ACCOUNT_KINDS[(k // 7) % len(_ACCOUNT_KINDS)]} {k + 1}"
        for k in range(s["n_accounts"])
    ]
    opp_close = np.where(s["is_open"], s["expected"], s["close"])
    cols = {
        "Opportunity ID": ids.astype(object),
        "Opportunity Owner": s["owners"],
        "Stage": opp_stage,
        "Amount": s["amount"].copy(),
        "Created Date": s["created"],
    }
    hist_ids = ids[h["deal"]].astype(object)
    hist_keep = np.ones(len(h["deal"]), dtype=bool)
    owner_idx = s["owner"].copy()
    bad_stage_rows, bad_date_rows, blank_rows = [], [], []
    records: list[dict] = []
    if bad_rows:
        # distinct deals, none of them the first (a duplicate id copies an earlier row's)
        at = np.sort(rng.choice(np.arange(1, n), bad_rows, replace=False))
        kinds = [BAD_KINDS[k % len(BAD_KINDS)] for k in range(bad_rows)]
        hist_start = np.searchsorted(h["deal"], np.arange(n + 1))
        for i, kind in zip(at.tolist(), kinds, strict=True):
            row = i + 2  # header is row 1
            if kind == "unparseable_date":
                bad_date_rows.append(i)
                rec = dict(column="created_date", source_column="Created Date",
                           value="13/45/2025")  # fmt: skip
            elif kind == "negative_amount":
                cols["Amount"][i] = -abs(cols["Amount"][i]) or -100.0
                rec = dict(column="amount", source_column="Amount",
                           value=_fmt_amount(cols["Amount"][i : i + 1])[0].as_py())  # fmt: skip
            elif kind == "unknown_stage":
                bad_stage_rows.append(i)
                rec = dict(column="stage", source_column="Stage", value="Stalled")
            elif kind == "duplicate_id":
                # this row repeats the previous deal's id; its own history goes (it would
                # otherwise be history of no deal)
                hist_keep[hist_start[i] : hist_start[i + 1]] = False
                cols["Opportunity ID"][i] = cols["Opportunity ID"][i - 1]
                rec = dict(column="opportunity_id", source_column="Opportunity ID",
                           value=cols["Opportunity ID"][i].decode(), first_row=row - 1)  # fmt: skip
            elif kind == "unknown_opportunity":
                # one history row of this deal names a deal that is not in the export
                j = hist_start[i]
                hist_ids[j] = b"006ZZZZZZZZZ" + ids[i][-6:]
                rec = dict(table="stage_history", column="opportunity_id",
                           source_column="Opportunity ID", value=hist_ids[j].decode(),
                           history_index=int(j))  # fmt: skip
            else:  # blank_owner
                blank_rows.append(i)
                rec = dict(column="owner_id", source_column="Opportunity Owner", value=None)
            records.append({"kind": kind, "table": "opportunities", "row": row, **rec})
    if blank_rows:
        owner_idx[blank_rows] = n_owners  # one past the names: written empty
    owner_col = _take([*s["owners"], None], owner_idx)
    stage_col = _take([*stage_names, "Stalled"], np.where(np.isin(np.arange(n), bad_stage_rows),
                                                          6, opp_stage))  # fmt: skip
    created_col = _fmt_date(s["created"])
    if bad_date_rows:
        import pyarrow.compute as pc

        mask = np.zeros(n, dtype=bool)
        mask[bad_date_rows] = True
        created_col = pc.if_else(pa.array(mask), "13/45/2025", created_col)
    opp_id_col = pa.array(cols["Opportunity ID"].astype("S18")).cast(pa.string())
    account_col = _take(accounts, s["account"])
    product_col = _take(s["products"], s["product"])
    import pyarrow.compute as pc

    table = pa.table(
        {
            "Opportunity ID": opp_id_col,
            "Opportunity Owner": owner_col,
            "Account Name": account_col,
            "Opportunity Name": pc.binary_join_element_wise(account_col, product_col, " - "),
            "Product": product_col,
            "Stage": stage_col,
            "Amount": _fmt_amount(cols["Amount"]),
            "Probability (%)": pa.array(prob[opp_stage]),
            "Close Date": _fmt_date(opp_close),
            "Created Date": created_col,
            "Lead Source": _take(list(LEAD_SOURCES), rng.integers(0, len(LEAD_SOURCES), n)),
            "Type": _take(list(TYPES), rng.choice(len(TYPES), n, p=[0.5, 0.25, 0.15, 0.1])),
        }
    )
    opts = pcsv.WriteOptions(quoting_style="all_valid")
    pcsv.write_csv(table, folder / "opportunities.csv", write_options=opts)

    # history: the edit time of day, seeded; rows of a duplicated deal left out
    m = len(h["deal"])
    minutes = rng.integers(8 * 60, 19 * 60, m).astype("timedelta64[m]").astype("timedelta64[s]")
    new_index = np.cumsum(hist_keep) - 1  # planted history rows' row after the drop
    for rec in records:
        if "history_index" in rec:
            rec["row"] = int(new_index[rec.pop("history_index")]) + 2
    keep = hist_keep
    hist = pa.table(
        {
            "Opportunity ID": pa.array(hist_ids[keep].astype("S18")).cast(pa.string()),
            "Stage": _take(stage_names, h["stage"][keep]),
            "Amount": _fmt_amount(h["amount"][keep]),
            "Probability (%)": pa.array(prob[h["stage"][keep]]),
            "Close Date": _fmt_date(h["known"][keep]),
            "Edit Date": _fmt_date(h["day"][keep], minutes[keep]),
        }
    )
    pcsv.write_csv(hist, folder / "opportunity_history.csv", write_options=opts)
    (folder / "planted.json").write_text(
        json.dumps(
            dict(
                seed=seed,
                n_opportunities=n,
                n_owners=n_owners,
                history_rows=int(keep.sum()),
                as_of=str(AS_OF),
                bad=records,
            ),
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    return folder


def planted(folder: str | Path) -> list[dict]:
    """The bad cells :func:`write_export` planted: kind, table, row, column, value."""
    meta = json.loads((Path(folder) / "planted.json").read_text(encoding="utf-8"))
    return meta["bad"]
