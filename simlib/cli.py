"""The ``simlib`` command line.

Every failure a user can cause (a bad file, a bad parameter, a bad flag) prints a
message naming what is wrong and exits with status 2; tracebacks are shown only with
``--debug``.
"""

from __future__ import annotations

import argparse
import json
import sys

from simlib.config import ParamError

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2


class UserError(Exception):
    """A mistake in how simlib was called; shown as a message, not a traceback."""


# --------------------------------------------------------------------------- helpers


def _lang(args) -> str:
    if getattr(args, "lang", None):
        return args.lang
    from simlib.params import load_params

    try:
        return load_params("company.yaml").language
    except ParamError:
        return "en"


def _load_dataset(args):
    """The demo company, or ``--data`` through ``--mapping``."""
    from simlib.data import load_data, load_demo

    if getattr(args, "data", None):
        if not getattr(args, "mapping", None):
            raise UserError("--data needs --mapping (a file in params/mappings/, e.g. salesforce)")
        return load_data(
            args.data,
            args.mapping,
            strict=not getattr(args, "lenient", False),
            rejects=getattr(args, "rejects", None),
        )
    return load_demo(seed=getattr(args, "demo_seed", None))


def add_data_args(parser) -> None:
    """The flags every data-reading command shares: --data/--mapping, or the demo."""
    parser.add_argument(
        "--data",
        default=None,
        help="CRM export folder/file or SQLAlchemy URL (default: the demo company)",
    )
    parser.add_argument("--mapping", default=None, help="column mapping for --data")
    parser.add_argument("--lenient", action="store_true", help="skip bad rows (see data check)")
    parser.add_argument("--demo-seed", type=int, default=None, help="demo company seed")
    parser.add_argument("--lang", choices=["en", "zh-CN"], default=None)


def _print_table(df, money_cols=(), pct_cols=(), lang="en", unit=None, out=None):
    from simlib.money import format_money, format_percent

    out = out or sys.stdout
    view = df.copy()
    for c in money_cols:
        view[c] = [("–" if v != v else format_money(v, "CNY", lang, unit=unit)) for v in view[c]]
    for c in pct_cols:
        view[c] = [format_percent(v) for v in view[c]]
    from simlib.labels import label, relabel

    if "stage" in view.columns:
        view["stage"] = [label(v, lang) for v in view["stage"]]
    if "level" in view.columns:
        view["level"] = [label(v, lang) for v in view["level"]]
    print(view.rename(columns=relabel(view.columns, lang)).to_string(index=False), file=out)


# --------------------------------------------------------------------------- commands


def cmd_demo(args) -> int:
    """The main job on the demo company: today, a plan summary."""
    from simlib.overview import build_overview

    lang = _lang(args)
    data = _load_dataset(args)
    ov = build_overview(data, lang=lang)
    unit = "wan" if lang == "zh-CN" else "m"
    zh = lang == "zh-CN"
    print(
        f"{ov.company} — {'计划概览' if zh else 'plan summary'} "
        f"({'数据截至' if zh else 'data as of'} {ov.as_of.date()})"
    )
    print()
    print(f"{'人员' if zh else 'Sales force'}:")
    _print_table(ov.headcount[["name", "teams", "reps", "new_hires"]], lang=lang)
    print()
    print(f"{ov.last_year} {'全年业绩 vs 目标' if zh else 'results vs target'}:")
    _print_table(
        ov.results_by_region[["name", "won", "target", "attainment"]],
        money_cols=("won", "target"),
        pct_cols=("attainment",),
        lang=lang,
        unit=unit,
    )
    print()
    print(
        f"{ov.as_of.year} {'年初至今 vs 全年目标' if zh else 'year to date vs full-year target'}:"
    )
    _print_table(
        ov.ytd_by_region[["name", "won", "target", "attainment"]],
        money_cols=("won", "target"),
        pct_cols=("attainment",),
        lang=lang,
        unit=unit,
    )
    print()
    print(f"{'在途商机' if zh else 'Open pipeline'}:")
    _print_table(ov.pipeline_by_stage, money_cols=("amount", "weighted"), lang=lang, unit=unit)
    print()
    _print_forecast(data, lang, unit, trials=args.trials)
    if args.no_reports:
        return EXIT_OK
    return _render_demo_pack(args, lang)


def _render_demo_pack(args, lang: str) -> int:
    """The demo company's report pack (SPEC job 3) and its index.html."""
    from simlib.reports.pack import render_pack

    zh = lang == "zh-CN"
    print()
    print(
        "正在生成报告包（总监、经理、每位销售）…"
        if zh
        else "Rendering the report pack (director, managers, every rep)...",
        flush=True,
    )
    batch, index = render_pack(
        args.out,
        lang=lang,
        n_trials=args.trials,
        demo_seed=args.demo_seed,
        workers=args.workers,
        progress=not args.quiet,
    )
    print(batch.summary())
    print(f"{'报告包索引' if zh else 'Report pack'}: {index.resolve()}")
    return EXIT_OK if batch.ok else EXIT_INTERNAL


def _print_forecast(data, lang, unit, trials=10_000, seed=0):
    """This quarter's attainment forecast as of the data's date (SPEC R21)."""
    import pandas as pd

    from simlib.simulate import simulate

    as_of = pd.Timestamp(data.as_of)
    period = f"{as_of.year}-Q{as_of.quarter}"
    res = simulate(data, period, as_of, n_trials=trials, seed=seed)
    s = res.summary[res.summary["level"].isin(["company", "region"])].copy()
    zh = lang == "zh-CN"
    if zh:
        s["name"] = s["name_zh"].fillna(s["name"])
    title = (
        f"{period} 业绩预测（截至 {as_of.date()}，蒙特卡洛 {res.n_trials:,} 次，种子 {seed}）"
        if zh
        else f"{period} attainment forecast as of {as_of.date()} ({res.n_trials:,} trials, seed {seed})"
    )
    print(title + ":")
    _print_table(
        s[["name", "quota", "p10", "p50", "p90", "p_attain"]],
        money_cols=("quota", "p10", "p50", "p90"),
        pct_cols=("p_attain",),
        lang=lang,
        unit=unit,
    )


def cmd_data_check(args) -> int:
    """Validate a CRM export through a mapping; exit 2 when it has errors."""
    from simlib.data import DataError, load_data

    try:
        data = load_data(args.data, args.mapping, strict=not args.lenient, rejects=args.rejects)
    except DataError as e:
        print(e.report.format(limit=args.limit))
        print(
            f"\n{args.data}: {len(e.report.errors):,} error(s); nothing loaded "
            "(use --lenient to load the good rows and write the rest to a rejects file)",
            file=sys.stderr,
        )
        return EXIT_USER
    print(data.report.format(limit=args.limit))
    if data.report.errors:  # lenient: loaded the good rows, but the input had errors
        return EXIT_USER
    return EXIT_OK


def cmd_data_demo(args) -> int:
    """Write the demo company's canonical tables to a folder."""
    from simlib.data import load_demo, write_tables

    data = load_demo(seed=args.seed)
    paths = write_tables(data.tables, args.out, fmt=args.format)
    for p in paths:
        print(p)
    print(
        f"{len(paths)} tables written to {args.out} "
        f"(read them back with: simlib data check --data {args.out} --mapping demo)"
    )
    return EXIT_OK


def _date(text: str):
    import pandas as pd

    try:
        return pd.Timestamp(text).date()
    except (ValueError, TypeError):
        raise UserError(f"not a date: {text!r}; expected a date like 2026-06-30") from None


def _json_rows(df) -> str:
    import numpy as np

    def clean(v):
        if isinstance(v, (np.floating, float)):
            return None if v != v else float(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        if hasattr(v, "isoformat"):
            return v.isoformat()
        return v

    return json.dumps(
        [{k: clean(v) for k, v in r.items()} for r in df.to_dict("records")],
        ensure_ascii=False,
        indent=1,
    )


def cmd_simulate(args) -> int:
    """Monte Carlo of bookings in a period, per rep, team, region and company."""
    from simlib.periods import parse_period
    from simlib.simulate import simulate

    try:
        window = parse_period(args.period)
    except ValueError as e:
        raise UserError(str(e)) from None
    data = _load_dataset(args)
    as_of = _date(args.as_of) if args.as_of else None
    if args.trials < 1:
        raise UserError(f"--trials must be at least 1; got {args.trials}")
    if args.seed < 0:
        raise UserError(f"--seed must be >= 0; got {args.seed}")
    try:
        res = simulate(
            data,
            window,
            as_of,
            n_trials=args.trials,
            seed=args.seed,
            threads=args.threads,
            progress=not args.json and sys.stderr.isatty(),
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    s = res.summary
    if args.level != "all":
        s = s[s["level"].isin(args.level.split(","))]
    if args.json:
        print(
            _json_rows(
                s.assign(
                    period=window.label,
                    as_of=str(res.calibration.as_of.date()),
                    trials=res.n_trials,
                    seed=res.seed,
                )
            )
        )
        return EXIT_OK
    lang = _lang(args)
    unit = "wan" if lang == "zh-CN" else "m"
    if lang == "zh-CN":
        s = s.assign(name=s["name_zh"].fillna(s["name"]))
    print(
        f"{window.label} bookings forecast as of {res.calibration.as_of.date()} "
        f"({res.n_trials:,} trials, seed {res.seed})"
    )
    cols = ["level", "node_id", "name", "quota", "mean", "p10", "p50", "p90", "p_attain"]
    _print_table(
        s[cols],
        money_cols=("quota", "mean", "p10", "p50", "p90"),
        pct_cols=("p_attain",),
        lang=lang,
        unit=unit,
    )
    if res.n_trials < args.trials:
        print(
            f"interrupted: summary of the first {res.n_trials:,} of {args.trials:,} trials",
            file=sys.stderr,
        )
        return 130
    return EXIT_OK


def cmd_backtest(args) -> int:
    """Forecast from past dates and score against what happened; CRM baseline alongside."""
    from simlib.backtest import backtest, summarise_backtest

    data = _load_dataset(args)
    dates = [_date(x) for x in args.as_of]
    horizon = int(args.horizon) if str(args.horizon).isdigit() else args.horizon
    try:
        bt = backtest(data, dates, horizon, n_trials=args.trials, seed=args.seed)
    except ValueError as e:
        raise UserError(str(e)) from None
    summary = summarise_backtest(bt)
    if args.json:
        print(
            json.dumps(
                {"summary": json.loads(_json_rows(summary)), "rows": json.loads(_json_rows(bt))},
                ensure_ascii=False,
                indent=1,
            )
        )
        return EXIT_OK
    print(
        f"Backtest: {len(dates)} as-of dates, horizon {args.horizon}, {args.trials:,} trials each"
    )
    view = summary.copy()
    lang = _lang(args)
    _print_table(
        view,
        money_cols=("pinball10", "pinball50", "pinball90", "crps", "mae_p50", "mae_crm"),
        pct_cols=("coverage_p10_p90", "bias", "crm_bias"),
        lang=lang,
        unit="wan" if lang == "zh-CN" else "m",
    )
    return EXIT_OK


def _number(text: str, flag: str) -> float:
    import pandas as pd

    from simlib.data.io import parse_amounts

    val, bad = parse_amounts(pd.Series([text]))
    if bad.iloc[0] or val.isna().iloc[0]:
        raise UserError(f"{flag} must be an amount like 1500000, 1,500,000 or 150万; got {text!r}")
    return float(val.iloc[0])


def cmd_payout(args) -> int:
    """One period's payout for a sales figure, with every line's arithmetic."""
    from simlib.plans import load_plan, statement_for

    plan = load_plan(args.plan)
    sales = _number(args.sales, "--sales")
    quota = _number(args.quota, "--quota") if args.quota is not None else None
    if sales < 0:
        raise UserError(f"--sales must be >= 0; got {args.sales}")
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

    data = _load_dataset(args)
    plan = load_plan(args.plan)
    won = data.opportunities[data.opportunities["stage"] == "won"]
    collections = _collections(data)
    t = data.targets
    from simlib.periods import LABEL_PATTERNS

    kind = LABEL_PATTERNS[plan.period]
    # Rep quotas for the plan's kind of period (a team plan sums its members').
    quotas = t[t["period"].str.match(kind) & (t["level"] == "rep")]
    try:
        sts = compute_statements(
            plan, won, quotas, collections=collections, teams=data.reps, products=data.products
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
    print(frame.to_string(index=False))
    return EXIT_OK


def _collections(data):
    """Payments as (opportunity_id, date, amount) through their invoices."""
    inv = data.invoices.set_index("invoice_id")["opportunity_id"]
    pay = data.payments
    out = pay.assign(opportunity_id=pay["invoice_id"].map(inv))[
        ["opportunity_id", "date", "amount"]
    ]
    return out.dropna(subset=["opportunity_id"])


def cmd_params_check(args) -> int:
    """Validate every parameter file."""
    from simlib.params import validate_params

    loaded = validate_params(args.dir)
    for rel, model in loaded.items():
        print(f"ok  {rel}  ({type(model).__name__})")
    print(f"{len(loaded)} parameter files valid")
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="simlib",
        description="Sales targets, commission design and performance tracking.",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="run the main job on the embedded demo company")
    d.add_argument("--demo-seed", type=int, default=None, help="demo company seed")
    d.add_argument("--lang", choices=["en", "zh-CN"], default=None)
    d.add_argument("--trials", type=int, default=10_000, help="forecast trials")
    d.add_argument(
        "--out", default="reports/demo", help="where the report pack goes (default: reports/demo)"
    )
    d.add_argument("--workers", type=int, default=None, help="render processes (default: CPUs)")
    d.add_argument("--no-reports", action="store_true", help="print the summary only")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_demo)

    data = sub.add_parser("data", help="check CRM exports, write the demo company")
    dsub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    c = dsub.add_parser("check", help="validate a CRM export through a column mapping")
    c.add_argument("--data", required=True, help="folder, file or SQLAlchemy URL")
    c.add_argument("--mapping", required=True, help="mapping file or name in params/mappings/")
    c.add_argument(
        "--lenient",
        action="store_true",
        help="load the good rows and write rejected ones to a rejects file",
    )
    c.add_argument("--rejects", default=None, help="where to write rejected rows (lenient)")
    c.add_argument("--limit", type=int, default=200, help="show at most this many issues")
    c.set_defaults(func=cmd_data_check)
    w = dsub.add_parser("demo", help="write the demo company's tables")
    w.add_argument("--out", required=True)
    w.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    w.add_argument("--seed", type=int, default=None)
    w.set_defaults(func=cmd_data_demo)

    sm = sub.add_parser("simulate", help="Monte Carlo of bookings in a period (SPEC R21)")
    sm.add_argument("--period", required=True, help="2026-Q3, 2026-07, 2026 or A..B")
    sm.add_argument(
        "--as-of", default=None, help="forecast date (default: the day before the period)"
    )
    sm.add_argument("--trials", type=int, default=10_000)
    sm.add_argument("--seed", type=int, default=0)
    sm.add_argument("--threads", type=int, default=None)
    sm.add_argument(
        "--level",
        default="company,region,team",
        help="levels to print: company,region,team,rep or all",
    )
    sm.add_argument("--json", action="store_true", help="one JSON row per node")
    add_data_args(sm)
    sm.set_defaults(func=cmd_simulate)

    bt = sub.add_parser("backtest", help="score forecasts from past dates against what happened")
    bt.add_argument("--as-of", nargs="+", required=True, help="one or more past dates")
    bt.add_argument("--horizon", default="quarter", help="quarter, month or a number of days")
    bt.add_argument("--trials", type=int, default=2_000)
    bt.add_argument("--seed", type=int, default=0)
    bt.add_argument("--json", action="store_true")
    add_data_args(bt)
    bt.set_defaults(func=cmd_backtest)

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

    from simlib.targets import add_cli as add_targets_cli

    add_targets_cli(sub)
    from simlib.scorecard import add_cli as add_scorecard_cli
    from simlib.tracking import add_cli as add_alerts_cli

    add_alerts_cli(sub)
    add_scorecard_cli(sub)
    from simlib.reports.cli import add_cli as add_reports_cli

    add_reports_cli(sub)
    from simlib.app import add_cli as add_app_cli

    add_app_cli(sub)

    pc = sub.add_parser("params", help="validate parameter files")
    psub = pc.add_subparsers(dest="params_command", metavar="SUBCOMMAND")
    chk = psub.add_parser("check", help="validate every file in params/")
    chk.add_argument("dir", nargs="?", default=None)
    chk.set_defaults(func=cmd_params_check)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USER
    from simlib.data.io import DataError
    from simlib.reports.templates import ReportError

    try:
        return args.func(args)
    except (ParamError, DataError, UserError, ReportError) as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # noqa: BLE001 - last line of defence: a message, not a traceback
        if args.debug:
            raise
        print(
            f"internal error: {type(e).__name__}: {e}\n(rerun with --debug for the traceback "
            "and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
