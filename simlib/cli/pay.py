"""``simlib payout`` and ``simlib statements``: commission on the command line."""

from __future__ import annotations

import json

from simlib.cli.common import (
    EXIT_OK,
    UserError,
    add_data_args,
    load_dataset,
    parse_amount,
    print_table,
    user_lang,
)


def cmd_payout(args) -> int:
    """One period's payout for a sales figure, with every line's arithmetic."""
    from simlib.plans import load_plan, statement_for

    plan = load_plan(args.plan)
    sales = parse_amount(args.sales, "--sales")
    quota = parse_amount(args.quota, "--quota") if args.quota is not None else None
    if sales < 0:
        raise UserError(f"--sales must be >= 0; got {args.sales}")
    if quota is not None and quota <= 0:
        raise UserError(f"--quota must be above 0; got {args.quota}")
    if plan.uses_quota and quota is None:
        why = (
            "its bands are in % of quota"
            if plan.basis == "attainment"
            else "its multipliers are by attainment"
            if plan.multipliers
            else "its gate is on attainment"
        )
        raise UserError(
            f"plan {plan.name} needs the period's quota ({why}): pass --quota, e.g. --quota 1000000"
        )
    try:
        st = statement_for(
            plan, sales, quota, collection_rate=args.collection_rate, kpi_score=args.kpi_score
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    if args.json:
        print(
            json.dumps(
                {
                    "plan": st.plan,
                    "sales": sales,
                    "quota": quota,
                    "attainment": st.attainment,
                    "band": st.band,
                    "gate_met": st.gate_met,
                    "payout": str(st.payable),
                    "currency": st.currency,
                    "lines": [
                        {"kind": ln.kind, "text": ln.text, "amount": str(ln.amount)}
                        for ln in st.lines
                    ],
                },
                ensure_ascii=False,
                indent=1,
            )
        )
        return EXIT_OK
    print(f"{plan.name}: {args.sales} → payout {st.payable:,} {st.currency}")
    for ln in st.lines:
        print(f"  {ln.text}")
    return EXIT_OK


def cmd_statements(args) -> int:
    """Exact commission statements for every rep of the demo company (or --data)."""
    from simlib.plans import compute_statements, load_plan

    data = load_dataset(args)
    plan = load_plan(args.plan)
    won = data.opportunities[data.opportunities["stage"] == "won"]
    collections = _collections(data)
    t = data.tables.get("targets")
    from simlib.periods import LABEL_PATTERNS

    kind = LABEL_PATTERNS[plan.period]
    if t is None and plan.uses_quota:
        raise UserError(
            f"plan {plan.name} pays by attainment, and the data has no targets table to "
            "take quotas from: map one (tables.targets in the mapping) or choose a plan on "
            "amounts"
        )
    # Rep quotas for the plan's kind of period (a team plan sums its members').
    quotas = t[t["period"].str.match(kind) & (t["level"] == "rep")] if t is not None else None
    if plan.measure == "collected_revenue" and collections is None:
        raise UserError(
            f"plan {plan.name} pays on collected revenue, and the data has no invoices and "
            "payments to collect from: map them, or choose a plan on revenue"
        )
    try:
        sts = compute_statements(
            plan,
            won,
            quotas,
            reversals=data.tables.get("reversals"),
            collections=collections,
            teams=data.reps,
            products=data.products,
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    frame = sts.to_frame()
    frame = frame[frame["period"] == args.period]
    if args.rep:
        frame = frame[frame["rep_id"] == args.rep]
    if frame.empty:
        periods = sorted(set(sts.to_frame()["period"]))
        raise UserError(
            f"no statements for period {args.period!r}"
            + (f" and rep {args.rep!r}" if args.rep else "")
            + f"; periods with statements: {', '.join(periods[-8:])}"
        )
    if args.json:
        rows = []
        for r in frame.itertuples(index=False):
            st = sts.get(r.rep_id, r.period)
            rows.append(
                {
                    "rep_id": st.rep_id,
                    "period": st.period,
                    "result": st.result,
                    "quota": st.quota,
                    "attainment": st.attainment,
                    "payable": str(st.payable),
                    "lines": [ln.text for ln in st.lines],
                }
            )
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return EXIT_OK
    lang = user_lang(args)
    zh = lang == "zh-CN"
    reps = data.reps.set_index("rep_id")
    names = reps["name_zh"].fillna(reps["name"]) if zh and "name_zh" in reps else reps["name"]
    has_quota = frame["quota"].notna().any()
    view = frame.assign(
        rep=frame["rep_id"].map(names).fillna(frame["rep_id"]),
        attainment=frame["attainment"].astype(float),
    )
    cols = ["rep", "period", "result"] + (["quota", "attainment"] if has_quota else [])
    cols += ["commission", "payable"]
    print(
        f"{plan.label_zh or plan.name} · {args.period} · {len(view)} 份对账单"
        if zh
        else f"{plan.name} · {args.period} · {len(view)} statement(s)"
    )
    heads = {
        "rep": ("销售", "rep"),
        "period": ("期间", "period"),
        "result": ("业绩", "result"),
        "quota": ("指标", "quota"),
        "attainment": ("达成率", "attainment"),
        "commission": ("提成", "commission"),
        "payable": ("应付", "payable"),
    }
    head = {c: heads[c][0 if zh else 1] for c in cols}
    money = [head[c] for c in ("result", "quota", "commission", "payable") if c in cols]
    print_table(
        view[cols].rename(columns=head),
        money_cols=money,
        pct_cols=[head["attainment"]] if has_quota else [],
        lang=lang,
        unit=None,
    )
    total = int(frame["payable_cents"].sum())
    print(f"合计应付 {total / 100:,.2f} 元" if zh else f"total payable {total / 100:,.2f} CNY")
    return EXIT_OK


def _collections(data):
    """Payments as (opportunity_id, date, amount) through their invoices (None when the
    data has no invoices or payments: an opportunity-only export)."""
    if "invoices" not in data.tables or "payments" not in data.tables:
        return None
    inv = data.invoices.set_index("invoice_id")["opportunity_id"]
    pay = data.payments
    out = pay.assign(opportunity_id=pay["invoice_id"].map(inv))[
        ["opportunity_id", "date", "amount"]
    ]
    return out.dropna(subset=["opportunity_id"])


def add_parser(sub) -> None:
    po = sub.add_parser("payout", help="payout of one sales figure under a plan, line by line")
    po.add_argument("--plan", required=True, help="plan file or name in params/plans/")
    po.add_argument("--sales", required=True, help="the period's result, e.g. 1500000 or 150万")
    po.add_argument("--quota", default=None)
    po.add_argument("--collection-rate", type=float, default=None)
    po.add_argument("--kpi-score", type=float, default=None)
    po.add_argument("--json", action="store_true")
    po.set_defaults(func=cmd_payout)

    st = sub.add_parser("statements", help="exact commission statements for a period")
    st.add_argument("--period", required=True, help="e.g. 2026-Q3 (the plan's period kind)")
    st.add_argument("--plan", default="tiered_cn")
    st.add_argument("--rep", default=None, help="one rep's statement")
    st.add_argument("--json", action="store_true")
    add_data_args(st)
    st.set_defaults(func=cmd_statements)
