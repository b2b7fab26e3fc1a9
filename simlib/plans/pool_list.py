"""The bonus pool payout list for a period, per team, as plain data (R14).

Each team's pool is funded and split exactly (:func:`simlib.plans.pool.allocate_pool`)
from the period's results in the data (the pool's ``funded_on`` measure, credited to
the deal owner), the reps' quotas and the team's quota from the targets table (the
reps' quotas summed when the team has none). Under ``unallocated: carry_forward``, a
``since`` period runs the pool from an earlier period so that money carried forward
arrives. ``simlib pool`` prints it; the director's pay document shows it.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["PoolListError", "pool_payout_list"]


class PoolListError(ValueError):
    """What the data or the request lack for the list, said for people."""


UserError = PoolListError  # the messages were written for the command line; same words

_WHERE = {
    "company": ("returned to the company", "退回公司"),
    "carry_forward": ("carried to the next period's pool", "结转至下期奖金池"),
}


def _amount_text(x: float) -> str:
    return str(Decimal(repr(float(x))).quantize(Decimal("0.01")))


def _plain(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2))


def _pct(x) -> str:
    from simlib.money import format_percent

    return format_percent(float(x))


def _credits_by_rep(data, pool):
    """(rep_id, period label) → result, for the pool's measure (exact, from deals)."""
    from fractions import Fraction
    from types import SimpleNamespace

    from simlib.periods import period_of
    from simlib.plans.inputs import _credits, _read_deals

    opp = data.opportunities
    won = opp[opp["stage"] == "won"] if "stage" in opp.columns else opp
    collections = None
    if pool.funded_on == "collected_revenue":
        if "invoices" not in data.tables or "payments" not in data.tables:
            raise UserError(
                f"pool {pool.name} is funded on collected revenue, and the data has no invoices "
                "and payments to collect from: map them, or fund the pool on revenue"
            )
        inv = data.invoices.set_index("invoice_id")["opportunity_id"]
        pay = data.payments
        collections = pay.assign(opportunity_id=pay["invoice_id"].map(inv))[
            ["opportunity_id", "date", "amount"]
        ].dropna(subset=["opportunity_id"])
    try:
        deals = _read_deals(won, data.products)
        credits = _credits(SimpleNamespace(measure=pool.funded_on), deals, collections)
    except ValueError as e:
        raise UserError(str(e)) from None
    out: dict[tuple[str, str], Fraction] = {}
    for c in credits:
        key = (c.owner, period_of(c.date, pool.period))
        out[key] = out.get(key, Fraction(0)) + c.value
    return out


def _teams(data, lang):
    """team_id → display name, for teams that have reps."""
    org = data.org.set_index("node_id") if "node_id" in data.org.columns else None
    names = {}
    for tid in dict.fromkeys(data.reps.loc[data.reps["role"] == "rep", "team_id"].dropna()):
        name = str(tid)
        if org is not None and tid in org.index:
            row = org.loc[tid]
            zh = row.get("name_zh") if lang == "zh-CN" else None
            name = str(zh if isinstance(zh, str) and zh else row.get("name") or tid)
        names[str(tid)] = name
    return names


def _pick_team(teams: dict[str, str], wanted: str | None, data) -> list[str]:
    if wanted is None:
        return list(teams)
    w = wanted.strip().casefold()
    org = data.org.set_index("node_id") if "node_id" in data.org.columns else None
    for tid in teams:
        cands = {tid.casefold(), teams[tid].casefold()}
        if org is not None and tid in org.index:
            cands |= {str(org.loc[tid].get(c, "")).casefold() for c in ("name", "name_zh")}
        if w in cands:
            return [tid]
    raise UserError(f"no team {wanted!r}; teams: {', '.join(teams.values())}")


def _team_result(data, pool, tid, period, credits, lang) -> dict:
    """One team's pool for one period: the allocation plus who is not in the pool."""
    import pandas as pd

    from simlib.periods import parse_period

    zh = lang == "zh-CN"
    win = parse_period(period)
    reps = data.reps[(data.reps["role"] == "rep") & (data.reps["team_id"] == tid)]
    hired = pd.to_datetime(reps["hire_date"], errors="coerce")
    left = pd.to_datetime(reps["leave_date"], errors="coerce") if "leave_date" in reps else None
    active = hired.isna() | (hired <= win.end)
    if left is not None:
        active &= left.isna() | (left >= win.start)
    reps = reps[active]
    t = data.tables.get("targets")
    quotas, team_quota = {}, None
    if t is not None:
        rows = t[t["period"].astype(str) == period]
        if "metric" in rows.columns:
            rows = rows[rows["metric"] == pool.funded_on]
        owner = "owner_id" if "owner_id" in rows.columns else "rep_id"
        rep_rows = rows[rows["level"] == "rep"] if "level" in rows.columns else rows
        quotas = {str(o): float(a) for o, a in zip(rep_rows[owner], rep_rows["amount"])}
        if "level" in rows.columns:
            team_rows = rows[(rows["level"] == "team") & (rows[owner] == tid)]
            if len(team_rows):
                team_quota = float(team_rows["amount"].iloc[0])
    needs_quota = pool.rank_by == "attainment" or pool.min_attainment is not None
    members, excluded = [], []
    for rid in reps["rep_id"].astype(str):
        if needs_quota and not quotas.get(rid):
            excluded.append((rid, f"无{period}定额" if zh else f"no quota for {period}"))
        else:
            members.append(rid)
    if not members:
        return {
            "error": ("本期没有可参与奖金池的销售" if zh else "no reps in the pool this period")
        }
    quota_from = "team"
    if team_quota is None and members and all(quotas.get(r) for r in members):
        team_quota = sum(quotas[r] for r in members)
        quota_from = "reps"
    if pool.funded_above is not None and not team_quota:
        msg = (
            f"奖金池需团队达成率 ≥ {_pct(pool.funded_above)} 才计提，但 {period} 没有团队定额"
            if zh
            else f"the pool is funded above {_pct(pool.funded_above)} of the team quota, and "
            f"there is no team quota for {period} in the targets table"
        )
        return {"error": msg}
    frame = pd.DataFrame(
        {
            "rep_id": members,
            "result": [float(credits.get((r, period), 0)) for r in members],
        }
    )
    if quotas and all(quotas.get(r) for r in members):
        frame["quota"] = [quotas[r] for r in members]
    return {
        "frame": frame,
        "team_quota": team_quota,
        "quota_from": quota_from,
        "excluded": excluded,
    }


def pool_payout_list(data, pool, period: str, team: str | None = None, since=None, lang="en"):
    """Per team: the pool's allocation for ``period`` as plain data (see ``--json``)."""
    from simlib.periods import check_label, shift
    from simlib.plans import allocate_pool

    kind = pool.period
    try:
        check_label(period, kind, "--period")
        if since is not None:
            check_label(since, kind, "--since")
    except ValueError as e:
        raise UserError(f"{e} (the pool {pool.name} is paid per {kind})") from None
    if pool.rank_by == "score":
        raise UserError(
            f"pool {pool.name} ranks by score, and the data has no scores per rep for "
            "simlib pool to read: rank by attainment or result"
        )
    chain = [period]
    if since is not None:
        if since > period:
            raise UserError(f"--since {since} is after --period {period}")
        chain = [since]
        while chain[-1] != period:
            chain.append(shift(chain[-1], 1))
    credits = _credits_by_rep(data, pool)
    teams = _teams(data, lang)
    names_col = "name_zh" if lang == "zh-CN" and "name_zh" in data.reps.columns else "name"
    rep_names = {
        str(r): (str(n) if isinstance(n, str) and n else str(fallback))
        for r, n, fallback in zip(data.reps["rep_id"], data.reps[names_col], data.reps["name"])
    }
    out = []
    for tid in _pick_team(teams, team, data):
        carry = Decimal(0)
        res, info = None, None
        for p in chain:
            info = _team_result(data, pool, tid, p, credits, lang)
            if "error" in info:
                if p == period:
                    break
                continue  # an earlier period without data: nothing to carry
            try:
                res = allocate_pool(
                    pool, info["frame"], team_quota=info["team_quota"], carried_in=carry
                )
            except ValueError as e:
                raise UserError(str(e)) from None
            carry = Decimal(res.carried_out_cents).scaleb(-2)
        entry = {"team": teams[tid], "team_id": tid, "period": period, "pool": pool.name}
        if "error" in info:
            out.append({**entry, "error": info["error"]})
            continue
        out.append({**entry, **_as_dict(pool, res, info, rep_names, lang)})
    return out


def _as_dict(pool, res, info, rep_names, lang) -> dict:
    zh = lang == "zh-CN"
    frame = info["frame"].set_index("rep_id")
    rows = []
    for s in res.shares:
        note = ""
        if s.review:
            note = "末位：绩效面谈，不参与分配" if zh else "bottom of the ranking: review, no share"
        elif s.note:
            note = (
                f"达成率低于 {_pct(pool.min_attainment)}，不参与分配"
                if zh
                else f"below {_pct(pool.min_attainment)} attainment, no share"
            )
        quota = frame["quota"].get(s.rep_id) if "quota" in frame.columns else None
        rows.append(
            {
                "rank": s.rank,
                "rep": rep_names.get(s.rep_id, s.rep_id),
                "rep_id": s.rep_id,
                "result": _amount_text(frame["result"][s.rep_id]),
                "quota": None if quota is None else float(quota),
                "attainment": None if quota is None else float(frame["result"][s.rep_id]) / quota,
                "share": s.cents / res.split_cents if res.split_cents else 0.0,
                "amount": str(s.amount),
                "review": s.review,
                "note": note,
            }
        )
    note = ""
    if not res.funded:
        note = (
            f"团队达成率 {_pct(res.team_attainment)}，低于计提门槛 "
            f"{_pct(pool.funded_above)}：本期奖金池不计提"
            if zh
            else f"team at {_pct(res.team_attainment)} of quota, below the "
            f"{_pct(pool.funded_above)} funding threshold: the pool is not funded"
        )
    where = (
        _WHERE.get(res.unallocated_to, ("", ""))[1 if zh else 0] if res.unallocated_cents else ""
    )
    return {
        "funded_on": pool.funded_on,
        "team_result": _amount_text(res.team_result),
        "team_quota": res.team_quota,
        "team_quota_from": info["quota_from"] if res.team_quota is not None else None,
        "team_attainment": res.team_attainment,
        "funded_above": pool.funded_above,
        "funding_base_rule": pool.funding_base,
        "funding_base": _amount_text(res.funding_base),
        "funded": res.funded,
        "funding_rate": pool.funding_rate,
        "pool_amount": _plain(res.pool_cents),
        "holdback": _plain(res.holdback_cents),
        "carried_in": _plain(res.carried_in_cents),
        "split": _plain(res.split_cents),
        "paid": _plain(res.paid_cents),
        "unallocated": _plain(res.unallocated_cents),
        "unallocated_to": res.unallocated_to or None,
        "unallocated_where": where or None,
        "note": note or None,
        "reps": rows,
        "not_in_pool": [
            {"rep": rep_names.get(r, r), "rep_id": r, "reason": why} for r, why in info["excluded"]
        ],
    }
