"""``simlib simulate`` and ``simlib backtest``: the attainment forecast and its quality."""

from __future__ import annotations

import json
import sys

from simlib.cli.common import (
    EXIT_OK,
    UserError,
    add_data_args,
    json_rows,
    load_dataset,
    parse_date,
    print_table,
    user_lang,
)
from simlib.i18n import amount_unit, label


def cmd_simulate(args) -> int:
    """Monte Carlo of bookings in a period, per rep, team, region and company."""
    from simlib.periods import parse_period
    from simlib.simulate import simulate

    try:
        window = parse_period(args.period)
    except ValueError as e:
        raise UserError(str(e)) from None
    data = load_dataset(args)
    as_of = parse_date(args.as_of) if args.as_of else None
    if args.trials < 1:
        raise UserError(f"--trials must be at least 1; got {args.trials}")
    if args.seed < 0:
        raise UserError(f"--seed must be >= 0; got {args.seed}")
    client = _dask_client(args.dask) if args.dask else None
    try:
        res = simulate(
            data,
            window,
            as_of,
            n_trials=args.trials,
            seed=args.seed,
            threads=args.threads,
            progress=not args.json and sys.stderr.isatty(),
            client=client,
            keep_trials=_keep_trials(args.trials, data),
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    finally:
        if client is not None:
            client.close()
    s = res.summary
    if args.level != "all":
        s = s[s["level"].isin(args.level.split(","))]
    if args.json:
        print(
            json_rows(
                s.assign(
                    period=window.label,
                    as_of=str(res.calibration.as_of.date()),
                    trials=res.n_trials,
                    seed=res.seed,
                )
            )
        )
        return _interrupted(res.n_trials, args.trials)
    lang = user_lang(args)
    unit = amount_unit(lang)
    if lang == "zh-CN":
        s = s.assign(name=s["name_zh"].fillna(s["name"]))
    as_of_day = res.calibration.as_of.date()
    print(
        f"{window.label} 业绩预测（截至 {as_of_day}，"
        f"蒙特卡洛 {res.n_trials:,} 次，种子 {res.seed}）"
        if lang == "zh-CN"
        else f"{window.label} bookings forecast as of {as_of_day} "
        f"({res.n_trials:,} trials, seed {res.seed})"
    )
    cols = ["level", "node_id", "name", "quota", "mean", "p10", "p50", "p90", "p_attain"]
    print_table(
        s[cols],
        money_cols=("quota", "mean", "p10", "p50", "p90"),
        pct_cols=("p_attain",),
        lang=lang,
        unit=unit,
    )
    if args.explain:
        _print_explain(res, data, lang)
    return _interrupted(res.n_trials, args.trials)


#: The command prints a summary only: it keeps the trials (and can summarise the finished
#: ones after Ctrl-C) while they take less than this, and streams the summary beyond.
KEEP_TRIALS_BYTES = 512 * 2**20


def _keep_trials(n_trials: int, data) -> bool:
    from simlib.simulate import memory_needed

    n_reps = len(data.tables.get("reps", ()))
    n_nodes = n_reps + len(data.tables.get("org", ()))
    return memory_needed(n_trials, n_reps, n_nodes) <= KEEP_TRIALS_BYTES


def _dask_client(address: str):
    try:
        from dask.distributed import Client
    except ImportError:
        raise UserError("--dask needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        return Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as e:
        raise UserError(f"--dask {address}: cannot reach the Dask scheduler ({e})") from None


def _print_explain(res_or_cal, data, lang: str) -> None:
    from simlib.views.calibration import calibration_lines

    cal = getattr(res_or_cal, "calibration", res_or_cal)
    print()
    print("校准说明：" if lang == "zh-CN" else "What the calibration learnt:")
    for line in calibration_lines(cal, lang, data=data):
        print(f"- {line}")


def cmd_calibrate(args) -> int:
    """What the forecast learns from the data as of a date, and from how much data."""
    from simlib.periods import parse_period
    from simlib.pipeline import calibrate
    from simlib.views.calibration import explain_json

    try:
        window = parse_period(args.period)
    except ValueError as e:
        raise UserError(str(e)) from None
    data = load_dataset(args)
    as_of = parse_date(args.as_of) if args.as_of else None
    try:
        cal = calibrate(data, window, as_of)
    except ValueError as e:
        raise UserError(str(e)) from None
    if args.json:
        print(
            json.dumps(
                {"period": window.label, **explain_json(cal)},
                ensure_ascii=False,
                indent=1,
                default=str,
            )
        )
        return EXIT_OK
    lang = user_lang(args)
    print(
        f"{window.label} 预测的校准（截至 {cal.as_of.date()} 当日结束）"
        if lang == "zh-CN"
        else f"Calibration of the {window.label} forecast as of the end of {cal.as_of.date()}"
    )
    _print_explain(cal, data, lang)
    return EXIT_OK


def _interrupted(done: int, asked: int) -> int:
    """Exit 130 with a note when Ctrl-C cut the run short (the summary above is of ``done``)."""
    if done < asked:
        print(f"interrupted: summary of the first {done:,} of {asked:,} trials", file=sys.stderr)
        return 130
    return EXIT_OK


def cmd_backtest(args) -> int:
    """Forecast from past dates and score against what happened; CRM baseline alongside."""
    from simlib.backtest import backtest, summarise_backtest

    data = load_dataset(args)
    dates = [parse_date(x) for x in args.as_of]
    horizon = int(args.horizon) if str(args.horizon).isdigit() else args.horizon
    try:
        bt = backtest(data, dates, horizon, n_trials=args.trials, seed=args.seed)
    except ValueError as e:
        raise UserError(str(e)) from None
    summary = summarise_backtest(bt)
    if args.json:
        print(
            json.dumps(
                {"summary": json.loads(json_rows(summary)), "rows": json.loads(json_rows(bt))},
                ensure_ascii=False,
                indent=1,
            )
        )
        return EXIT_OK
    lang = user_lang(args)
    zh = lang == "zh-CN"
    company = bt[bt["level"] == "company"]
    inside = int(company["covered"].sum())
    span = {"quarter": "一个季度", "month": "一个月"}.get(str(args.horizon), f"{args.horizon} 天")
    print(
        f"回测：{len(dates)} 个预测日期，预测期 {span}，每次模拟 {args.trials:,} 次；"
        f"公司实际值落在 P10–P90 区间内 {inside}/{len(company)} 次"
        if zh
        else f"Backtest: {len(dates)} as-of dates, horizon {args.horizon}, "
        f"{args.trials:,} trials each; the company's actual inside its P10–P90 band "
        f"{inside} of {len(company)} times"
    )
    import pandas as pd

    from simlib.money import format_money, format_percent

    unit = amount_unit(lang)
    cols = [
        ("level", "层级", "level", lambda v: label(v, lang)),
        ("rows", "预测数", "forecasts", lambda v: f"{int(v):,}"),
        ("coverage_p10_p90", "P10–P90 覆盖率", "P10–P90 coverage", format_percent),
        ("bias", "偏差（模型）", "bias (model)", format_percent),
        ("crm_bias", "偏差（CRM）", "bias (CRM)", format_percent),
        ("pinball_ratio", "分位损失比", "pinball vs CRM", lambda v: f"{v:.2f}×"),
        ("wape", "WAPE（模型）", "WAPE (model)", format_percent),
        ("crm_wape", "WAPE（CRM）", "WAPE (CRM)", format_percent),
        ("mae_p50", "MAE（P50）", "MAE (P50)", lambda v: format_money(v, "CNY", lang, unit=unit)),
        ("mae_crm", "MAE（CRM）", "MAE (CRM)", lambda v: format_money(v, "CNY", lang, unit=unit)),
    ]
    view = pd.DataFrame(
        {
            (zh_h if zh else en_h): [("–" if v != v else fmt(v)) for v in summary[key]]
            for key, zh_h, en_h, fmt in cols
        }
    )
    print(view.to_string(index=False))
    print(
        "CRM：在途商机金额 × 阶段概率（CRM 的加权管道）；分位损失比 < 1 表示模型更好。"
        if zh
        else "CRM: open deals' amount × stage probability (the CRM's weighted pipeline); "
        "a pinball ratio below 1 means the model did better."
    )
    return EXIT_OK


def add_parser(sub) -> None:
    sm = sub.add_parser("simulate", help="Monte Carlo of bookings in a period (SPEC R21)")
    sm.add_argument("--period", required=True, help="2026-Q3, 2026-07, 2026 or A..B")
    sm.add_argument(
        "--as-of",
        default=None,
        help="forecast date, meaning the end of that day: records dated on or before it "
        "are known (default: the day before the period)",
    )
    sm.add_argument("--explain", action="store_true", help="also say what the calibration learnt")
    sm.add_argument("--trials", type=int, default=10_000)
    sm.add_argument("--seed", type=int, default=0)
    sm.add_argument("--threads", type=int, default=None)
    sm.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="draw the trials on a Dask cluster (scheduler address, e.g. tcp://host:8786); "
        "the result is bit-identical to a local run",
    )
    sm.add_argument(
        "--level",
        default="company,region,team",
        help="levels to print: company,region,team,rep or all",
    )
    sm.add_argument("--json", action="store_true", help="one JSON row per node")
    add_data_args(sm)
    sm.set_defaults(func=cmd_simulate)

    cb = sub.add_parser(
        "calibrate", help="what the forecast learns from the data, and from how much"
    )
    cb.add_argument("--period", required=True, help="2026-Q3, 2026-07, 2026 or A..B")
    cb.add_argument(
        "--as-of",
        default=None,
        help="the end of this day is 'today' (default: the day before the period)",
    )
    cb.add_argument("--json", action="store_true", help="the figures as JSON")
    add_data_args(cb)
    cb.set_defaults(func=cmd_calibrate)

    bt = sub.add_parser("backtest", help="score forecasts from past dates against what happened")
    bt.add_argument(
        "--as-of",
        nargs="+",
        required=True,
        help="one or more past dates (each the end of that day)",
    )
    bt.add_argument("--horizon", default="quarter", help="quarter, month or a number of days")
    bt.add_argument("--trials", type=int, default=2_000)
    bt.add_argument("--seed", type=int, default=0)
    bt.add_argument("--json", action="store_true")
    add_data_args(bt)
    bt.set_defaults(func=cmd_backtest)
