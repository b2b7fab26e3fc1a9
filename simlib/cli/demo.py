"""``simlib demo``: the main job on the embedded demo company."""

from __future__ import annotations

import sys

from simlib.cli.common import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USER,
    LANG_CHOICES,
    load_dataset,
    print_table,
    user_lang,
)
from simlib.i18n import amount_unit


def cmd_demo(args) -> int:
    """The main job on the demo company: today, a plan summary."""
    from simlib.views.overview import build_overview

    lang = user_lang(args)
    data = load_dataset(args)
    ov = build_overview(data, lang=lang)
    unit = amount_unit(lang)
    zh = lang == "zh-CN"
    print(
        f"{ov.company} — {'计划概览' if zh else 'plan summary'} "
        f"({'数据截至' if zh else 'data as of'} {ov.as_of.date()})"
    )
    print()
    print(f"{'人员' if zh else 'Sales force'}:")
    print_table(ov.headcount[["name", "teams", "reps", "new_hires"]], lang=lang)
    print()
    print(f"{ov.last_year} {'全年业绩 vs 目标' if zh else 'results vs target'}:")
    print_table(
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
    print_table(
        ov.ytd_by_region[["name", "won", "target", "attainment"]],
        money_cols=("won", "target"),
        pct_cols=("attainment",),
        lang=lang,
        unit=unit,
    )
    print()
    print(f"{'在途商机' if zh else 'Open pipeline'}:")
    print_table(ov.pipeline_by_stage, money_cols=("amount", "weighted"), lang=lang, unit=unit)
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
    if batch.manifest_error:
        print(f"error: {batch.manifest_error}", file=sys.stderr)
        return EXIT_USER
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
        else (
            f"{period} attainment forecast as of {as_of.date()} "
            f"({res.n_trials:,} trials, seed {seed})"
        )
    )
    print(title + ":")
    print_table(
        s[["name", "quota", "p10", "p50", "p90", "p_attain"]],
        money_cols=("quota", "p10", "p50", "p90"),
        pct_cols=("p_attain",),
        lang=lang,
        unit=unit,
    )


def add_parser(sub) -> None:
    d = sub.add_parser("demo", help="run the main job on the embedded demo company")
    d.add_argument("--demo-seed", type=int, default=None, help="demo company seed")
    d.add_argument("--lang", choices=LANG_CHOICES, default=None)
    d.add_argument("--trials", type=int, default=10_000, help="forecast trials")
    d.add_argument(
        "--out", default="reports/demo", help="where the report pack goes (default: reports/demo)"
    )
    d.add_argument("--workers", type=int, default=None, help="render processes (default: CPUs)")
    d.add_argument("--no-reports", action="store_true", help="print the summary only")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_demo)
