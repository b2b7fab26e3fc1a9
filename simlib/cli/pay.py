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

#: Column names a deals file may use, → the canonical name.
_DEAL_COLUMNS = {
    "opportunity_id": ("opportunity_id", "deal", "deal_id", "id", "opportunity"),
    "owner_id": ("owner_id", "rep", "rep_id", "owner", "sales_agent", "salesperson"),
    "amount": ("amount", "value", "close_value", "revenue", "sales"),
    "close_date": ("close_date", "date", "closed", "won_date"),
    "product_id": ("product_id", "product"),
    "deal_type": ("deal_type", "type"),
    "gross_margin": ("gross_margin", "margin", "profit"),
    "cost": ("cost",),
}
_QUOTA_COLUMNS = {
    "owner_id": ("owner_id", "rep", "rep_id", "owner", "sales_agent"),
    "period": ("period",),
    "quota": ("quota", "target", "amount"),
    "target_incentive": ("target_incentive", "ti"),
}
_REVERSAL_COLUMNS = {
    "opportunity_id": ("opportunity_id", "deal", "deal_id", "id"),
    "reversal_date": ("reversal_date", "date", "reversed", "cancelled"),
}


def _read_table(path: str, flag: str, columns: dict, required: tuple[str, ...]):
    """A CSV or Excel file with the columns a command needs (a few common names each).

    Amounts and dates are parsed; every bad cell is a message naming the file, the row
    (as a spreadsheet shows it), the column and the value.
    """
    from pathlib import Path

    import pandas as pd

    from simlib.data.io import parse_amounts, parse_dates

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{flag} {path}: file not found")
    try:
        raw = (
            pd.read_excel(p, dtype=str)
            if p.suffix.lower() in (".xlsx", ".xls")
            else pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        )
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise UserError(f"{flag} {path}: cannot read it as CSV or Excel ({e})") from None
    lower = {str(c).strip().lower().replace(" ", "_"): c for c in raw.columns}
    out = pd.DataFrame(index=raw.index)
    for canon, names in columns.items():
        src = next((lower[n] for n in names if n in lower), None)
        if src is not None:
            out[canon] = raw[src].replace("", None)
        elif canon in required:
            raise UserError(
                f"{flag} {path}: no {canon} column (any of {', '.join(names)}); "
                f"columns: {', '.join(map(str, raw.columns))}"
            )
    problems = []
    for c in out.columns:
        if c in ("amount", "quota", "target_incentive", "gross_margin", "cost"):
            val, bad = parse_amounts(out[c])
            what = "an amount like 1500000 or 150万"
        elif c in ("close_date", "reversal_date"):
            val, bad, _ = parse_dates(out[c])
            what = "a date like 2026-03-31"
        else:
            continue
        for i in bad[bad].index[:5]:
            problems.append(f"{path}, row {i + 2}, column {c}: got {out[c][i]!r}; expected {what}")
        missing = val.isna() & ~bad
        out[c] = val
        if c in required and missing.any():
            i = missing[missing].index[0]
            problems.append(f"{path}, row {i + 2}, column {c}: missing value")
    if problems:
        raise UserError("\n".join(problems))
    return out


def _payout_many(args, plan) -> int:
    """Every rep's statement for every period of a deals file."""
    from simlib.plans import compute_statements

    deals = _read_table(args.deals, "--deals", _DEAL_COLUMNS, ("owner_id", "amount", "close_date"))
    if "opportunity_id" not in deals:
        deals["opportunity_id"] = [f"row {i + 2}" for i in deals.index]
    quotas = (
        _read_table(args.quotas, "--quotas", _QUOTA_COLUMNS, ("owner_id", "period", "quota"))
        if args.quotas
        else None
    )
    if quotas is None and plan.uses_quota:
        raise UserError(
            f"plan {plan.name} needs each rep's quota per {plan.period}: pass --quotas FILE "
            "(columns rep, period, quota; e.g. R1,2026-Q1,1000000)"
        )
    reversals = (
        _read_table(
            args.reversals,
            "--reversals",
            _REVERSAL_COLUMNS,
            ("opportunity_id", "reversal_date"),
        )
        if args.reversals
        else None
    )
    try:
        sts = compute_statements(plan, deals, quotas, reversals=reversals)
    except ValueError as e:
        raise UserError(str(e)) from None
    frame = sts.to_frame()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "rep_id": st.rep_id,
                        "period": st.period,
                        "result": st.result,
                        "quota": st.quota,
                        "attainment": st.attainment,
                        "earned": str(st.earned),
                        "payable": str(st.payable),
                        "balance_owed": str(st.balance_out_cents / 100),
                        "lines": [
                            {"kind": ln.kind, "text": ln.text, "amount": str(ln.amount)}
                            for ln in st.lines
                        ],
                    }
                    for st in sts
                ],
                ensure_ascii=False,
                indent=1,
            )
        )
        return EXIT_OK
    lang = user_lang(args)
    zh = lang == "zh-CN"
    has_quota = frame["quota"].notna().any()
    cols = ["rep_id", "period", "result"] + (["quota", "attainment"] if has_quota else [])
    cols += ["earned", "payable", "balance_out"]
    heads = {
        "rep_id": ("销售", "rep"),
        "period": ("期间", "period"),
        "result": ("业绩", "result"),
        "quota": ("指标", "quota"),
        "attainment": ("达成率", "attainment"),
        "earned": ("应得", "earned"),
        "payable": ("应付", "payable"),
        "balance_out": ("结转欠款", "balance owed"),
    }
    head = {c: heads[c][0 if zh else 1] for c in cols}
    view = frame.assign(attainment=frame["attainment"].astype(float))[cols].rename(columns=head)
    n_reps, n_periods = frame["rep_id"].nunique(), frame["period"].nunique()
    print(
        f"{plan.label_zh or plan.name}：{len(frame)} 份对账单（{n_reps} 名销售 × {n_periods} 期）"
        if zh
        else f"{plan.name}: {len(frame)} statements ({n_reps} reps × {n_periods} periods)"
    )
    print_table(
        view,
        money_cols=[
            head[c] for c in ("result", "quota", "earned", "payable", "balance_out") if c in cols
        ],
        pct_cols=[head["attainment"]] if has_quota else [],
        lang=lang,
        unit=None,
    )
    if args.lines:
        for st in sts:
            print(f"\n{st.rep_id} {st.period}:")
            for ln in st.lines:
                print(f"  {ln.text}")
    total = int(frame["payable_cents"].sum())
    print(
        f"合计应付 {total / 100:,.2f}"
        if zh
        else f"total payable {total / 100:,.2f} {plan.currency}"
    )
    return EXIT_OK


def cmd_payout(args) -> int:
    """Payout of a sales figure (``--sales``), or of every rep and period of a deals
    file (``--deals``), with every line's arithmetic."""
    from simlib.plans import load_plan, statement_for

    plan = load_plan(args.plan)
    if (args.sales is None) == (args.deals is None):
        raise UserError("give either --sales AMOUNT (one figure) or --deals FILE (many deals)")
    if args.deals is not None:
        return _payout_many(args, plan)
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
    from simlib.plans import load_plan

    if args.action == "issue":
        from simlib.cli.ledger import cmd_issue

        zh = user_lang(args) == "zh-CN"
        if not args.actor:
            raise UserError(
                "发布对账单需要 --as 发布人（总监或管理员）"
                if zh
                else "statements issue needs --as WHO (a director or an admin)"
            )
        if args.rep or args.json:
            raise UserError(
                "发布对账单会发布每位销售的对账单：请去掉 --rep/--json"
                if zh
                else "statements issue issues every rep's statement: drop --rep/--json"
            )
        return cmd_issue(args)
    data = load_dataset(args)
    plan = load_plan(args.plan)
    from simlib.plans.from_data import statements_for_data

    try:
        sts = statements_for_data(data, plan)
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
    """Payments through invoices (see :func:`simlib.plans.from_data.collections_of`)."""
    from simlib.plans.from_data import collections_of

    return collections_of(data)


def add_parser(sub) -> None:
    po = sub.add_parser(
        "payout", help="payout of a sales figure, or of a deals file, under a plan, line by line"
    )
    po.add_argument("--plan", required=True, help="plan file (any path) or a shipped plan name")
    po.add_argument("--sales", default=None, help="the period's result, e.g. 1500000 or 150万")
    po.add_argument(
        "--deals",
        default=None,
        help="CSV/Excel of won deals (rep, amount, close date; optional deal id, product, "
        "deal type, margin, cost): every rep's statement for every period",
    )
    po.add_argument("--quotas", default=None, help="with --deals: CSV of rep, period, quota")
    po.add_argument(
        "--reversals", default=None, help="with --deals: CSV of deal, reversal date (clawbacks)"
    )
    po.add_argument("--lines", action="store_true", help="with --deals: print every line")
    po.add_argument("--lang", default=None, choices=("en", "zh-CN"))
    po.add_argument("--quota", default=None)
    po.add_argument("--collection-rate", type=float, default=None)
    po.add_argument("--kpi-score", type=float, default=None)
    po.add_argument("--json", action="store_true")
    po.set_defaults(func=cmd_payout)

    st = sub.add_parser(
        "statements",
        help="exact commission statements for a period; 'statements issue' issues them",
        description="Print a period's statements, or with 'issue' store them in the ledger as "
        "the issued version reps may appeal (the same as 'simlib ledger issue').",
    )
    st.add_argument(
        "action", nargs="?", choices=("issue",), default=None, help="issue: into the ledger"
    )
    st.add_argument("--period", required=True, help="e.g. 2026-Q3 (the plan's period kind)")
    st.add_argument("--plan", default="tiered_cn")
    st.add_argument("--rep", default=None, help="one rep's statement")
    st.add_argument("--json", action="store_true")
    st.add_argument("--as", dest="actor", default=None, help="with issue: who issues them")
    st.add_argument("--ledger", default=None, help="with issue: the ledger's database URL")
    st.add_argument("--reason", default="", help="with issue: why (e.g. a correction)")
    add_data_args(st)
    st.set_defaults(func=cmd_statements)
