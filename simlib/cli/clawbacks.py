"""``simlib clawbacks --period P [--plan PLAN]``: the clawback lines of a period's
statements (SPEC R13): deals won and paid earlier, reversed in the period, per rep, with
the deal and the commission taken back (nothing when the reversal came after the plan's
window).

The statements are computed as ``simlib statements`` computes them (the data's won
deals, collections and rep quotas; reversals from the data's ``reversals`` table and/or
``--reversals FILE``: columns deal, reversal date).
"""

from __future__ import annotations

from simlib.cli.common import EXIT_OK, UserError, add_data_args
from simlib.cli.reach import (
    Names,
    dataset,
    date_text,
    dump_json,
    lang_of,
    plural,
    print_table,
    say,
)


def _reversals(args, data):
    """The data's reversals and those of ``--reversals FILE`` (None: none)."""
    from simlib.cli.pay import _REVERSAL_COLUMNS, _read_table
    from simlib.plans.clawbacks import reversals_of

    extra = None
    if args.reversals:
        extra = _read_table(
            args.reversals, "--reversals", _REVERSAL_COLUMNS, ("opportunity_id", "reversal_date")
        )
    return reversals_of(data, extra)


def clawback_lines(args, data, names: Names, lang: str):
    """``(plan, rows)``: the period's clawback lines as records (see ``--json``); the
    lines themselves are :func:`simlib.plans.clawbacks.clawback_lines`'."""
    from simlib.periods import check_label
    from simlib.plans import load_plan
    from simlib.plans.clawbacks import clawback_lines as lines_of

    plan = load_plan(args.plan)
    try:
        check_label(args.period, plan.period, "--period")
    except ValueError as e:
        raise UserError(
            say(lang, f"{e} (plan {plan.name} pays per {plan.period})",
                f"{e}（方案 {plan.label_zh or plan.name} 按"
                f"{ {'month': '月', 'quarter': '季度', 'year': '年'}.get(plan.period, plan.period)}"
                "结算）")
        ) from None  # fmt: skip
    reversals = _reversals(args, data)
    if plan.clawback is None or reversals is None:
        return plan, []
    try:
        found = lines_of(data, plan, args.period, reversals=reversals)
    except ValueError as e:
        raise UserError(str(e)) from None
    rows = [
        {"rep_id": r["rep_id"], "rep": names(r["rep_id"]), **{k: v for k, v in r.items()
                                                               if k != "rep_id"}}
        for r in found
    ]  # fmt: skip
    rows.sort(key=lambda r: (r["rep"], str(r["reversed"])))
    return plan, rows


def cmd_clawbacks(args) -> int:
    from decimal import Decimal

    from simlib.present import Units
    from simlib.tracking import prepare

    lang = lang_of(args)
    data = dataset(args)
    names = Names(prepare(data), lang)
    plan, rows = clawback_lines(args, data, names, lang)
    if args.json:
        dump_json(
            {
                "plan": plan.name,
                "period": args.period,
                "has_clawback": plan.clawback is not None,
                "within_days": plan.clawback.within_days if plan.clawback else None,
                "lines": rows,
            }
        )
        return EXIT_OK
    title = plan.label_zh if lang == "zh-CN" and plan.label_zh else plan.name
    units = Units(lang, scale="yuan", currency=plan.currency)
    if plan.clawback is None:
        print(
            say(
                lang,
                f"{title} · {args.period}: the plan has no clawback — commission on a reversed "
                "deal is kept",
                f"{title} · {args.period}：该方案没有追回条款——已撤销订单的提成不追回",
            )
        )
        return EXIT_OK
    total = sum(Decimal(r["amount"]) for r in rows)
    print(
        say(
            lang,
            f"{title} · {args.period}: {plural(len(rows), 'reversed deal')}, commission taken back "
            f"{units.amount(-total, unit=True)} (deals reversed within "
            f"{plan.clawback.within_days} days of closing)",
            f"{title} · {args.period}：撤销订单 {len(rows)} 笔，追回提成 "
            f"{units.amount(-total, unit=True)}"
            f"（成交后 {plan.clawback.within_days} 天内撤销的订单）",
        )
    )
    if not rows:
        print(say(lang, "No deal was reversed in this period.", "本期没有撤销的订单。"))
        return EXIT_OK
    print_table(
        [say(lang, "Rep", "销售"), say(lang, "Deal", "订单"), say(lang, "Customer", "客户"),
         say(lang, "Closed", "成交日"), say(lang, "Reversed", "撤销日"),
         say(lang, "Days", "间隔天数"), units.header("追回提成", "Taken back"),
         say(lang, "Note", "说明")],
        [[r["rep"], r["deal"], r["customer"], date_text(r["closed"]), date_text(r["reversed"]),
          "—" if r["days"] is None else str(r["days"]),
          units.amount(-Decimal(r["amount"])),
          "" if r["clawed_back"] else say(lang, "outside the window: nothing taken back",
                                          "超出追回期限：不追回")]
         for r in rows],
        right=(5, 6),
    )  # fmt: skip
    return EXIT_OK


def add_parser(sub) -> None:
    p = sub.add_parser(
        "clawbacks", help="commission taken back on deals reversed in a period (SPEC R13)"
    )
    p.add_argument("--period", required=True, help="the plan's kind of period, e.g. 2026-10")
    p.add_argument("--plan", default="tiered_cn", help="plan file or shipped plan name")
    p.add_argument(
        "--reversals", default=None, help="CSV/Excel of reversed deals: deal, reversal date"
    )
    p.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(p)
    p.set_defaults(func=cmd_clawbacks)
