"""``simlib pool``: the bonus pool payout list for a period, per team.

Each team's pool is funded and split exactly (:func:`simlib.plans.pool.allocate_pool`)
from the period's results in the data (the pool's ``funded_on`` measure, credited to
the deal owner), the reps' quotas and the team's quota from the targets table (the
reps' quotas summed when the team has none). Under ``unallocated: carry_forward``,
``--since`` runs the pool from an earlier period so that money carried forward arrives.
"""

from __future__ import annotations

import json
from decimal import Decimal

from simlib.cli.common import EXIT_OK, UserError, add_data_args, load_dataset, user_lang

_WHERE = {
    "company": ("returned to the company", "退回公司"),
    "carry_forward": ("carried to the next period's pool", "结转至下期奖金池"),
}


def _money(cents: int) -> str:
    return f"{Decimal(cents).scaleb(-2):,.2f}"


def _pct(x) -> str:
    from simlib.money import format_percent

    return format_percent(float(x))


def _load_pool(path):
    from simlib.config import default_params_dir
    from simlib.plans import load_pool

    return load_pool(path or default_params_dir() / "bonus_pool.yaml")


def pool_payout_list(data, pool, period: str, team=None, since=None, lang="en"):
    """See :func:`simlib.plans.pool_list.pool_payout_list` (its refusals as messages)."""
    from simlib.plans.pool_list import PoolListError
    from simlib.plans.pool_list import pool_payout_list as _list

    try:
        return _list(data, pool, period, team, since, lang)
    except PoolListError as e:
        raise UserError(str(e)) from None


def _cents(text) -> int:
    return int(Decimal(text) * 100)


def _print_team(t: dict, pool, lang: str) -> None:
    import pandas as pd

    zh = lang == "zh-CN"
    title = pool.label_zh if zh and pool.label_zh else pool.name
    print(f"{'团队奖金池' if zh else 'Bonus pool'} · {t['team']} · {t['period']}")
    if "error" in t:
        print(f"  {t['error']}")
        return
    if zh:
        print(f"  {title}")
    measure = {
        "revenue": ("revenue", "业绩"),
        "gross_margin": ("gross margin", "毛利"),
        "collected_revenue": ("collected revenue", "回款"),
        "new_customer_revenue": ("new-customer revenue", "新客户业绩"),
    }[t["funded_on"]][1 if zh else 0]
    line = (
        f"  团队{measure} {_money(_cents(t['team_result']))} 元"
        if zh
        else f"  Team {measure} {_money(_cents(t['team_result']))} yuan"
    )
    if t["team_quota"] is not None:
        q = _money(round(t["team_quota"] * 100))
        att = _pct(t["team_attainment"])
        line += f"，定额 {q} 元（达成 {att}）" if zh else f" of quota {q} ({att})"
    print(line)
    if t["funded_above"] is not None:
        thr = _pct(t["funded_above"])
        if t["funded"]:
            on = (
                ("超额部分" if zh else "the excess over the threshold")
                if t["funding_base_rule"] == "excess"
                else ("全部业绩" if zh else "the whole result")
            )
            print(
                f"  达到计提门槛 {thr}：按{on}计提"
                if zh
                else f"  Funded: at or above the {thr} threshold, on {on}"
            )
        else:
            print(f"  {t['note']}")
    rate = _pct(t["funding_rate"]).replace(".0%", "%")
    base = _money(_cents(t["funding_base"]))
    parts = [
        f"奖金池 {rate} × {base} = {_money(_cents(t['pool_amount']))}"
        if zh
        else f"Pool {rate} × {base} = {_money(_cents(t['pool_amount']))}"
    ]
    if _cents(t["holdback"]):
        parts.append(
            f"预留 {_money(_cents(t['holdback']))}"
            if zh
            else f"held back {_money(_cents(t['holdback']))}"
        )
    if _cents(t["carried_in"]):
        parts.append(
            f"上期结转 {_money(_cents(t['carried_in']))}"
            if zh
            else f"carried in {_money(_cents(t['carried_in']))}"
        )
    parts.append(
        f"可分配 {_money(_cents(t['split']))} 元"
        if zh
        else f"to split {_money(_cents(t['split']))} yuan"
    )
    print("  " + " · ".join(parts))
    cols = (
        ["排名", "销售", "达成率", "份额", "金额（元）", "备注"]
        if zh
        else ["Rank", "Rep", "Attainment", "Share", "Amount (yuan)", "Note"]
    )
    view = pd.DataFrame(
        [
            [
                r["rank"],
                r["rep"],
                "—" if r["attainment"] is None else _pct(r["attainment"]),
                _pct(r["share"]),
                _money(_cents(r["amount"])),
                r["note"] or "",
            ]
            for r in t["reps"]
        ],
        columns=cols,
    )
    print(view.to_string(index=False))
    review = [r["rep"] for r in t["reps"] if r["review"]]
    if review:
        print(("  绩效面谈：" if zh else "  Flagged for review: ") + ", ".join(review))
    if _cents(t["unallocated"]):
        amt = _money(_cents(t["unallocated"]))
        print(
            f"  未分配 {amt} 元：{t['unallocated_where']}"
            if zh
            else f"  Unallocated {amt} yuan: {t['unallocated_where']}"
        )
    else:
        print("  未分配 0" if zh else "  Unallocated 0")
    for x in t["not_in_pool"]:
        print(
            f"  未参与：{x['rep']}（{x['reason']}）"
            if zh
            else f"  Not in the pool: {x['rep']} ({x['reason']})"
        )


def cmd_pool(args) -> int:
    """The bonus pool payout list for a period, per team."""
    pool = _load_pool(args.pool)
    lang = user_lang(args)
    data = load_dataset(args)
    teams = pool_payout_list(data, pool, args.period, args.team, args.since, lang)
    if args.json:
        print(json.dumps(teams, ensure_ascii=False, indent=1))
        return EXIT_OK
    for i, t in enumerate(teams):
        if i:
            print()
        _print_team(t, pool, lang)
    return EXIT_OK


def add_parser(sub) -> None:
    p = sub.add_parser("pool", help="the bonus pool payout list for a period, per team")
    p.add_argument("--period", required=True, help="e.g. 2026-Q2 (the pool's kind of period)")
    p.add_argument("--team", default=None, help="one team (name or id)")
    p.add_argument("--pool", default=None, help="pool file (default params/bonus_pool.yaml)")
    p.add_argument(
        "--since",
        default=None,
        help="run the pool from this period on, carrying unallocated money forward",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per team")
    add_data_args(p)
    p.set_defaults(func=cmd_pool)
