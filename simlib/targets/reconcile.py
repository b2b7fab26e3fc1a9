"""Top-down meets bottom-up (SPEC R4): commits, gaps, and a consensus with reasons.

Commits
-------
A CSV with one row per commit: ``owner_id`` (a region, team or rep id), ``period``
(``2027``, ``2027-Q3`` or ``2027-07``) and ``amount``. The gap table compares each
commit with the top-down target of the same node and period.

The consensus rule
------------------
For a node with an annual commit ``C`` (the year row, or else the sum of all four
quarters, or else of all twelve months) and a top-down target ``T``::

    blend     = w · C + (1 − w) · T                      (w = consensus.commit_weight)
    raw       = clip(blend, (1 − band) · T, (1 + band) · T)   (band = consensus.band)

A node without a commit keeps ``raw = T``. Then every parent's children are re-split in
proportion to their ``raw`` values — the same exact split as the top-down cascade, so
locked overrides are kept, growth floors/caps hold and the children sum to the
parent × (1 + uplift) to the cent. A parent's own number comes from above, so the
company number never moves; sibling numbers move together ("rescaled to keep the
parent's number"). The consensus cascades down: reps follow their team's consensus.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from simlib.config import NO_VALUE, ParamError, Problem
from simlib.data.io import DataError, Issue, ValidationReport, parse_amounts
from simlib.data.org import OrgTree, closest_id
from simlib.money import format_money, from_cents, to_cents
from simlib.periods import parse_period
from simlib.targets.allocate import Cascade, cascade

__all__ = [
    "COMMIT_COLUMNS",
    "load_commits",
    "validate_commits",
    "commit_gaps",
    "annual_commits",
    "consensus",
]

COMMIT_COLUMNS: tuple[str, ...] = ("owner_id", "period", "amount")


def validate_commits(
    frame: pd.DataFrame, tree: OrgTree, year: int, file: str = "<commits>"
) -> pd.DataFrame:
    """Check a commits table; return owner_id, level, period, kind, amount.

    Raises
    ------
    simlib.data.io.DataError
        Listing every bad cell: file, row (header = row 1), column, value and why.
    """
    issues: list[Issue] = []
    cols = [str(c).strip() for c in frame.columns]
    frame = frame.set_axis(cols, axis=1)
    missing = [c for c in COMMIT_COLUMNS if c not in cols]
    for c in missing:
        issues.append(
            Issue(
                "commits",
                file,
                None,
                c,
                None,
                f"required column {c!r} is missing"
                f"{closest_id(c, cols)} (columns: {', '.join(cols)})",
            )
        )
    if missing:
        raise DataError(
            ValidationReport(issues=issues, loaded=False),
            "the commits file is missing columns:\n" + "\n".join(map(str, issues)),
        )
    ids = set(tree.ids)
    amounts, bad_amount = parse_amounts(frame["amount"])
    out = []
    for k in range(len(frame)):
        row = k + 2
        owner = frame["owner_id"].iloc[k]
        owner = "" if owner is None or owner != owner else str(owner).strip()
        period = frame["period"].iloc[k]
        period = "" if period is None or period != period else str(period).strip()
        if period.endswith(".0") and period[:-2].isdigit():
            period = period[:-2]  # 2027 read as a number
        ok = True
        if owner not in ids:
            issues.append(
                Issue(
                    "commits",
                    file,
                    row,
                    "owner_id",
                    owner,
                    f"not a node of the organisation{closest_id(owner, ids)}",
                )
            )
            ok = False
        elif owner == tree.root:
            issues.append(
                Issue(
                    "commits",
                    file,
                    row,
                    "owner_id",
                    owner,
                    "the company's number is set top-down; commits come from regions, "
                    "teams and reps",
                )
            )
            ok = False
        kind = None
        try:
            w = parse_period(period)
            kind = (
                "year"
                if len(period) == 4
                else (
                    "quarter" if "-Q" in period.upper() else ("month" if len(period) == 7 else None)
                )
            )
            if kind is None or w.start.year != year or w.end.year != year:
                raise ValueError
            period = (
                str(year) if kind == "year" else (period.upper() if kind == "quarter" else period)
            )
        except ValueError:
            issues.append(
                Issue(
                    "commits",
                    file,
                    row,
                    "period",
                    period,
                    f"expected {year}, {year}-Q1..{year}-Q4 or {year}-01..{year}-12",
                )
            )
            ok = False
        a = amounts.iloc[k]
        if bad_amount.iloc[k] or a != a:
            issues.append(
                Issue(
                    "commits",
                    file,
                    row,
                    "amount",
                    frame["amount"].iloc[k],
                    "expected an amount such as 12500000 or 1,250万",
                )
            )
            ok = False
        elif a < 0:
            issues.append(Issue("commits", file, row, "amount", a, "a commit cannot be negative"))
            ok = False
        if ok:
            out.append((owner, tree.level_of[owner], period, kind, from_cents(to_cents(float(a)))))
    table = pd.DataFrame(out, columns=["owner_id", "level", "period", "kind", "amount"])
    dup = table.duplicated(["owner_id", "period"], keep="first")
    for k in np.flatnonzero(dup.to_numpy()):
        r = table.iloc[k]
        issues.append(
            Issue(
                "commits",
                file,
                None,
                "period",
                r["period"],
                f"{r['owner_id']} commits to {r['period']} more than once",
            )
        )
    if issues:
        raise DataError(
            ValidationReport(issues=issues, loaded=False),
            f"the commits file has {len(issues)} problem(s):\n" + "\n".join(map(str, issues)),
        )
    return table


def load_commits(path: str | Path, tree: OrgTree, year: int) -> pd.DataFrame:
    """Read and check a commits CSV (see :func:`validate_commits`)."""
    path = Path(path)
    if not path.exists():
        raise ParamError([Problem(str(path), "", NO_VALUE, "commits file not found")])
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return validate_commits(frame, tree, year, str(path))


def commit_gaps(targets: pd.DataFrame, commits: pd.DataFrame) -> pd.DataFrame:
    """Gap between each commit and the top-down target of the same node and period.

    Parameters
    ----------
    targets : DataFrame
        node_id, period, amount (the long table of the top-down allocation).
    commits : DataFrame
        From :func:`load_commits`.

    Returns
    -------
    DataFrame
        owner_id, level, period, top_down, commit, gap (commit − top-down, exact), gap_pct.
    """
    t = targets.rename(columns={"node_id": "owner_id", "amount": "top_down"})[
        ["owner_id", "period", "top_down"]
    ]
    g = commits.rename(columns={"amount": "commit"}).merge(t, on=["owner_id", "period"], how="left")
    g["gap"] = [
        from_cents(to_cents(float(c)) - to_cents(float(td)))
        for c, td in zip(g["commit"], g["top_down"])
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        g["gap_pct"] = np.where(g["top_down"] > 0, g["gap"] / g["top_down"], np.nan)
    return g[["owner_id", "level", "period", "top_down", "commit", "gap", "gap_pct"]]


def annual_commits(commits: pd.DataFrame, year: int) -> tuple[dict[str, float], list[str]]:
    """Each node's annual commit: the year row, or all 4 quarters, or all 12 months.

    Returns the commits and notes naming nodes whose partial commits were not used.
    """
    out: dict[str, float] = {}
    notes = []
    for owner, g in commits.groupby("owner_id", sort=True):
        by = dict(zip(g["period"], g["amount"]))
        q = [f"{year}-Q{k}" for k in range(1, 5)]
        m = [f"{year}-{k:02d}" for k in range(1, 13)]
        if str(year) in by:
            out[owner] = float(by[str(year)])
        elif all(p in by for p in q):
            out[owner] = from_cents(sum(to_cents(float(by[p])) for p in q))
        elif all(p in by for p in m):
            out[owner] = from_cents(sum(to_cents(float(by[p])) for p in m))
        else:
            notes.append(
                f"{owner}: commits for {', '.join(sorted(by))} do not cover the year; "
                "shown in the gap table, not used in the consensus"
            )
    return out, notes


def _money(x: float, currency: str, lang: str) -> str:
    return format_money(x, currency, lang, unit="wan" if lang == "zh-CN" else None)


def consensus(
    top_down: Cascade,
    commits: Mapping[str, float],
    *,
    commit_weight: float = 0.5,
    band: float = 0.10,
    currency: str = "CNY",
    **cascade_kwargs,
) -> tuple[Cascade, pd.DataFrame]:
    """Reconcile commits with the top-down cascade (rule in the module docstring).

    Parameters
    ----------
    top_down : Cascade
    commits : mapping node id → annual commit
    commit_weight, band : float
        The rule's ``w`` and ``band``.
    currency : str
        For the explanations.
    **cascade_kwargs
        The top-down cascade's parameters (methods, uplift, growth, locked, focus, …),
        so the consensus respects the same locks and bounds.

    Returns
    -------
    (Cascade, DataFrame)
        The consensus cascade, and per node: top_down, commit, blend, raw, consensus,
        change, change_pct, rule, explanation_en, explanation_zh.
    """
    tree = top_down.history.tree
    td = top_down.table.set_index("node_id")["target"]
    locked = cascade_kwargs.get("locked") or {}
    raw: dict[str, float] = {}
    info: dict[str, dict] = {}
    for n in tree.ids:
        if n == tree.root:
            continue
        t = float(td[n])
        if n in commits:
            c = float(commits[n])
            blend = commit_weight * c + (1 - commit_weight) * t
            lo, hi = (1 - band) * t, (1 + band) * t
            r = min(max(blend, lo), hi)
            rule = "band_low" if blend < lo else ("band_high" if blend > hi else "blend")
            info[n] = {"commit": c, "blend": blend, "raw": r, "rule": rule}
        else:
            r = t
            info[n] = {"commit": np.nan, "blend": np.nan, "raw": r, "rule": "no_commit"}
        if n in locked:
            info[n]["rule"] = "locked"
        raw[n] = r
    kwargs = {k: v for k, v in cascade_kwargs.items() if k not in ("fair_trials", "weights")}
    result = cascade(top_down.history, top_down.company_target, weights=raw, **kwargs)
    ct = result.table.set_index("node_id")
    names = tree.nodes.set_index("node_id")
    rows = []
    for n in tree.ids:
        if n == tree.root:
            continue
        d = info[n]
        t = float(td[n])
        final = float(ct.at[n, "target"])
        change = from_cents(to_cents(final) - to_cents(t))
        status = ct.at[n, "status"]
        parent = tree.parent_of[n]
        en, zh = _explain(
            d, t, final, status, parent, names, commit_weight, band, currency, top_down
        )
        rows.append(
            {
                "node_id": n,
                "level": tree.level_of[n],
                "parent_id": parent,
                "top_down": t,
                "commit": d["commit"],
                "blend": d["blend"],
                "raw": d["raw"],
                "consensus": final,
                "change": change,
                "change_pct": change / t if t else np.nan,
                "rule": d["rule"],
                "status": status,
                "explanation_en": en,
                "explanation_zh": zh,
            }
        )
    return result, pd.DataFrame(rows)


def _explain(d, t, final, status, parent, names, w, band, currency, top_down):
    m_en = lambda x: _money(x, currency, "en")  # noqa: E731
    m_zh = lambda x: _money(x, currency, "zh-CN")  # noqa: E731
    p_en = f"{parent} ({names.at[parent, 'name']})"
    pz = names.at[parent, "name_zh"]
    p_zh = pz if isinstance(pz, str) and pz else parent
    change_pct = (final / t - 1.0) if t else 0.0
    if d["rule"] == "locked":
        return (f"Locked override: kept at {m_en(final)}.", f"锁定目标：保持 {m_zh(final)}。")
    bound_en = bound_zh = ""
    if status in ("floor", "cap"):
        g = top_down.growth
        lim = g.floor if status == "floor" else g.cap
        bound_en = f"; held at its growth {status} ({lim:+.0%} vs last year)"
        bound_zh = f"；受增长{'下限' if status == 'floor' else '上限'}约束（较去年 {lim:+.0%}）"
    if d["rule"] == "no_commit":
        if to_cents(final) == to_cents(t):
            return (
                f"No commit; unchanged at {m_en(t)}{bound_en}.",
                f"未提交承诺；保持 {m_zh(t)}{bound_zh}。",
            )
        return (
            f"No commit; rescaled with its siblings to add up to {p_en}'s number: {m_en(t)} → "
            f"{m_en(final)} ({change_pct:+.1%}){bound_en}.",
            f"未提交承诺；为与同级合计等于{p_zh}的目标，随同级一起调整：{m_zh(t)} → {m_zh(final)}"
            f"（{change_pct:+.1%}）{bound_zh}。",
        )
    c = d["commit"]
    gap = (c / t - 1.0) if t else float("nan")
    en = (
        f"Commit {m_en(c)} is {abs(gap):.1%} {'above' if gap >= 0 else 'below'} the top-down "
        f"{m_en(t)}; {w:.0%} commit + {1 - w:.0%} top-down = {m_en(d['blend'])}"
    )
    zh = (
        f"承诺 {m_zh(c)}，比自上而下目标 {m_zh(t)} {'高' if gap >= 0 else '低'} {abs(gap):.1%}；"
        f"按 {w:.0%} 承诺 + {1 - w:.0%} 自上而下融合为 {m_zh(d['blend'])}"
    )
    if d["rule"] in ("band_low", "band_high"):
        sign = -band if d["rule"] == "band_low" else band
        en += f", limited to the {sign:+.0%} band edge {m_en(d['raw'])}"
        zh += f"，受 ±{band:.0%} 区间限制取 {m_zh(d['raw'])}"
    if to_cents(final) != to_cents(d["raw"]):
        en += (
            f"; rescaled with its siblings to add up to {p_en}'s number: {m_en(final)} "
            f"({change_pct:+.1%} vs top-down)"
        )
        zh += (
            f"；为与同级合计等于{p_zh}的目标，随同级缩放为 {m_zh(final)}"
            f"（较自上而下 {change_pct:+.1%}）"
        )
    return en + bound_en + ".", zh + bound_zh + "。"
