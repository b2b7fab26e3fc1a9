"""``simlib targets allocate``: cascade a scenario to regions, teams, reps and months."""

from __future__ import annotations

import sys
from pathlib import Path

from simlib.cli.common import (
    EXIT_OK,
    UserError,
    add_data_args,
    json_rows,
    load_dataset,
    print_table,
    user_lang,
)
from simlib.i18n import amount_unit


def cmd_targets_allocate(args) -> int:
    """Handler of ``simlib targets allocate``."""
    from simlib.targets.allocate import AllocationError
    from simlib.targets.run import export_csv, export_xlsx, run_scenario
    from simlib.targets.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    levels = None if args.level == "all" else args.level.split(",")
    bad = [lv for lv in (levels or []) if lv not in ("company", "region", "team", "rep")]
    if bad:
        raise UserError(
            f"--level must be a comma list of company, region, team, rep or 'all'; "
            f"got {args.level!r}"
        )
    if args.commits and not Path(args.commits).exists():
        raise UserError(f"--commits: file not found: {args.commits}")
    data = load_dataset(args)
    try:
        alloc = run_scenario(scenario, data, commits=args.commits)
    except AllocationError as e:
        raise UserError(str(e)) from None
    table = alloc.to_frame()
    if levels:
        table = table[table["level"].isin(levels)]
    if args.json:
        print(json_rows(table))
        return EXIT_OK
    if args.xlsx:
        p = export_xlsx(alloc, args.xlsx)
        print(f"wrote {p}")
        return EXIT_OK
    if args.csv:
        p = export_csv(alloc, args.csv)
        print(f"wrote {p}")
        return EXIT_OK
    lang = user_lang(args)
    unit = amount_unit(lang)
    zh = lang == "zh-CN"
    print(
        f"{scenario.name}: {scenario.year} {'目标分解' if zh else 'target allocation'} "
        f"({'基准年' if zh else 'base year'} {alloc.final.history.base_year})"
    )
    from simlib.cli.ledger import approval_line

    approval = approval_line("scenario", scenario.name or "", scenario.source, lang)
    if approval:
        print(approval)
    from simlib.views.workshop import policy_text

    changes = policy_text(scenario, lang)
    if changes:
        print(changes)
    view = table[
        ["level", "node_id", "name", "last_year", "target", "growth", "status", "p_attain"]
    ]
    base = alloc.final.history.base_year
    from simlib.views.workshop import bound_keys

    view = view.assign(status=[k if k != "free" else "" for k in bound_keys(alloc, table)])
    if zh:
        names = [
            z if isinstance(z, str) and z else n for z, n in zip(table["name_zh"], table["name"])
        ]
        status = {
            "locked": "锁定",
            "floor": "增长下限",
            "cap": "增长上限",
            "no_history": "无可比基准年，未限增长",
            "peers": "无可比基准年，按同级限增长",
            "peers_floor": "无可比基准年，按同级的增长下限",
            "peers_cap": "无可比基准年，按同级的增长上限",
            "": "",
        }
        view = view.assign(name=names, status=[status.get(x, x) for x in view["status"]])
        cols = {"last_year": f"{base}年成交", "growth": "增长", "status": "约束"}
    else:
        view = view.assign(
            status=[
                {
                    "no_history": "no comparable year, not bounded",
                    "peers": "no comparable year, bounded by peers",
                    "peers_floor": "no comparable year, at the floor on peers",
                    "peers_cap": "no comparable year, at the cap on peers",
                }.get(x, x)
                for x in view["status"]
            ]
        )
        cols = {"last_year": f"won {base}", "growth": "growth", "status": "bound"}
    view = view.rename(columns=cols)
    print_table(
        view,
        money_cols=(cols["last_year"], "target"),
        pct_cols=(cols["growth"], "p_attain"),
        lang=lang,
        unit=unit,
    )
    fails = alloc.smart[alloc.smart["fails"] != ""]
    counts = ", ".join(f"{k}: {v}" for k, v in _letter_counts(fails).items()) or (
        "无" if zh else "none"
    )
    r = alloc.risk.set_index("measure")["value"]
    if zh:
        print(f"\nSMART 检查：{len(alloc.smart)} 个目标中 {len(fails)} 个未通过（{counts}）")
        print(
            f"公司达成总目标的预测概率 {r['p_company_forecast']:.1%}；超配 "
            f"{r['over_assignment_total']:+.2%}；{r['confidence']:.0%} 置信度所需超配 "
            f"{r['uplift_for_confidence']:+.2%}"
        )
    else:
        print(f"\nSMART: {len(fails)} of {len(alloc.smart)} targets fail a letter ({counts})")
        print(
            f"P(company ≥ number) forecast {r['p_company_forecast']:.1%}; over-assignment "
            f"{r['over_assignment_total']:+.2%}; for {r['confidence']:.0%} confidence "
            f"{r['uplift_for_confidence']:+.2%}"
        )
    for n in alloc.notes:
        print(f"note: {n}", file=sys.stderr)
    return EXIT_OK


def _letter_counts(fails) -> dict[str, int]:
    return {
        L: int(fails["fails"].str.contains(L).sum())
        for L in "SMART"
        if fails["fails"].str.contains(L).any()
    }


def add_parser(subparsers) -> None:
    """Add ``simlib targets allocate --scenario FILE [--json | --xlsx OUT | --csv OUT]``."""
    t = subparsers.add_parser(
        "targets", help="cascade next year's number to teams and reps (SPEC R1-R5)"
    )
    tsub = t.add_subparsers(dest="targets_command", metavar="SUBCOMMAND")
    t.set_defaults(func=lambda args: (t.print_help(), 2)[1])
    a = tsub.add_parser("allocate", help="run a target scenario and print or export the allocation")
    a.add_argument(
        "--scenario",
        required=True,
        help="scenario YAML, or a name in params/scenarios/ (e.g. baseline_2027)",
    )
    out = a.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON row per node")
    out.add_argument("--xlsx", metavar="OUT", default=None, help="write every table to a workbook")
    out.add_argument("--csv", metavar="OUT", default=None, help="write the allocation table as CSV")
    a.add_argument(
        "--commits", default=None, help="bottom-up commits CSV (overrides the scenario's)"
    )
    a.add_argument(
        "--level",
        default="company,region,team",
        help="levels to print: company,region,team,rep or all",
    )
    add_data_args(a)
    a.set_defaults(func=cmd_targets_allocate)
