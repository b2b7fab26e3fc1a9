"""``simlib solve``: plan and target design from risk in one command (SPEC R23).

* ``simlib solve rate --plan P (--cost-of-sales 1.2% | --budget AMOUNT) --period P``:
  the factor on every tier rate that makes the expected cost of sales (or the expected
  payout per period) what you ask, over simulated bookings of the period;
* ``simlib solve gate --plan P --eligible 80% --period P``: the highest attainment gate
  that keeps that share of reps eligible;
* ``simlib solve uplift --confidence 80% --scenario S``: the total over-assignment that
  gives the company its number with that confidence.

The trials are made exactly as the commission lab makes them
(:func:`simlib.simulate.simulate`, then :func:`simlib.apps.commission_lab.trials_record`
and :class:`~simlib.apps.commission_lab.LabContext`): the reps with a quota for the
period, gates the trials cannot see assumed met.
"""

from __future__ import annotations

from simlib.cli.common import EXIT_OK, UserError, add_data_args, parse_amount, parse_date
from simlib.cli.reach import dataset, dump_json, lang_of, say


def parse_share(text: str, flag: str, lang: str, *, allow_one: bool = True) -> float:
    """``1.2%`` → 0.012 (a plain number is a percentage too: ``80`` → 0.8); must be in
    (0, 100%]; errors in the user's terms (``-1%``, not ``-0.01``)."""
    s = str(text).strip()
    body = s[:-1].strip() if s.endswith("%") else s
    try:
        v = float(body.replace(",", ""))
    except ValueError:
        raise UserError(
            say(lang, f"{flag} must be a percentage like 80% or 1.2%; got {s!r}",
                f"{flag} 应为百分比，例如 80% 或 1.2%；输入为 {s!r}")
        ) from None  # fmt: skip
    if not 0 < v <= 100 or (not allow_one and v >= 100):
        rng = "between 0% and 100%" if allow_one else "strictly between 0% and 100%"
        rng_zh = "在 0% 与 100% 之间" if allow_one else "大于 0% 且小于 100%"
        raise UserError(
            say(lang, f"{flag} must be {rng}; got {body}%", f"{flag} 必须{rng_zh}；输入为 {body}%")
        )
    return v / 100


_PERIOD_ZH = {"month": "月", "quarter": "季度", "year": "年"}


def _context(args, plan, lang):
    """The lab's trials for ``--period`` (the plan's kind of period)."""
    import datetime as dt

    from simlib.apps.commission_lab import LabContext, trials_record
    from simlib.periods import check_label
    from simlib.simulate import simulate

    try:
        check_label(args.period, plan.period, "--period")
    except ValueError as e:
        raise UserError(
            say(lang, f"{e} (plan {plan.name} pays per {plan.period})",
                f"{e}（方案 {plan.label_zh or plan.name} 的结算期为"
                f"{_PERIOD_ZH.get(plan.period, plan.period)}）")
        ) from None  # fmt: skip
    if args.trials < 100:
        raise UserError(
            say(lang, f"--trials must be at least 100; got {args.trials}",
                f"--trials 至少为 100；输入为 {args.trials}")
        )  # fmt: skip
    data = dataset(args)
    day = parse_date(args.as_of) if args.as_of else data.as_of
    if isinstance(day, dt.datetime):
        day = day.date()
    try:
        sim = simulate(data, args.period, day, n_trials=args.trials, seed=args.seed)
        ctx = LabContext.from_record(trials_record(sim), lang=lang, plans={plan.name: plan})
    except ValueError as e:
        raise UserError(str(e)) from None
    return ctx


def _cost_of_sales(plan, ctx):
    """Per trial: total payout ÷ total bookings (and the payouts)."""
    import numpy as np

    from simlib.plans import evaluate

    pay = evaluate(plan, ctx.trials, ctx.quotas, **ctx.evaluate_kwargs([plan])).sum(axis=1)
    rev = ctx.trials.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(rev > 0, pay / rev, np.nan)
    return cos, pay, rev


def cmd_solve_rate(args) -> int:
    import numpy as np

    from simlib.plans import load_plan, solve_rate
    from simlib.present import Units, pct

    lang = lang_of(args)
    if (args.cost_of_sales is None) == (args.budget is None):
        raise UserError(
            say(lang, "give --cost-of-sales (e.g. 1.2%) or --budget (e.g. 2000000), not both",
                "请给出 --cost-of-sales（如 1.2%）或 --budget（如 200万）其中之一")
        )  # fmt: skip
    cos_target = (
        parse_share(args.cost_of_sales, "--cost-of-sales", lang, allow_one=False)
        if args.cost_of_sales is not None
        else None
    )
    budget = parse_amount(args.budget, "--budget") if args.budget is not None else None
    if budget is not None and budget <= 0:
        raise UserError(say(lang, f"--budget must be above 0; got {args.budget}",
                            f"--budget 必须大于 0；输入为 {args.budget}"))  # fmt: skip
    plan = load_plan(args.plan)
    if not plan.tiers:
        raise UserError(say(lang, f"plan {plan.name} has no tier rates to solve",
                            f"方案 {plan.name} 没有可求解的档位费率"))  # fmt: skip
    ctx = _context(args, plan, lang)
    try:
        sol = solve_rate(
            plan,
            ctx.trials,
            ctx.quotas if plan.uses_quota else None,
            cost_of_sales=cos_target,
            budget=budget,
            **ctx.evaluate_kwargs([plan]),
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    cos, pay, rev = _cost_of_sales(sol.plan, ctx)
    p10, p50, p90 = (float(np.nanpercentile(cos, q)) for q in (10, 50, 90))
    b10, b50, b90 = (float(np.percentile(pay, q)) for q in (10, 50, 90))
    expected_cos = float(pay.mean() / rev.mean()) if rev.mean() > 0 else float("nan")
    out = {
        "plan": plan.name,
        "period": args.period,
        "trials": int(ctx.trials.shape[0]),
        "reps": int(ctx.trials.shape[1]),
        "target": {"cost_of_sales": cos_target, "budget": budget},
        "factor": sol.value,
        "rates_before": [t.rate for t in plan.tiers],
        "rates": [t.rate for t in sol.plan.tiers],
        "expected_cost_of_sales": expected_cos,
        "cost_of_sales_p10": p10,
        "cost_of_sales_p50": p50,
        "cost_of_sales_p90": p90,
        "expected_payout": float(pay.mean()),
        "payout_p10": b10,
        "payout_p50": b50,
        "payout_p90": b90,
    }
    if args.json:
        dump_json(out)
        return EXIT_OK
    units = Units(lang, currency=plan.currency)
    title = plan.label_zh if lang == "zh-CN" and plan.label_zh else plan.name
    rates = "/".join(pct(r, 2) for r in out["rates"])
    before = "/".join(pct(r, 2) for r in out["rates_before"])
    ask = (
        say(lang, f"cost of sales {pct(cos_target, 2)}", f"销售成本率 {pct(cos_target, 2)}")
        if cos_target is not None
        else say(lang, f"a budget of {units.amount(budget, unit=True)} per period",
                 f"每期预算 {units.amount(budget, unit=True)}")
    )  # fmt: skip
    print(
        say(
            lang,
            f"{title} · {args.period} · {out['trials']:,} trials of {out['reps']} reps: for {ask}",
            f"{title} · {args.period} · {out['reps']} 名销售 × {out['trials']:,} 次模拟：目标{ask}",
        )
    )
    print(
        say(
            lang,
            f"rate × {sol.value:.2f}: tier rates {rates} (now {before}); expected cost of sales "
            f"{pct(expected_cos, 2)} (P10–P90 {pct(p10, 2)}–{pct(p90, 2)}); expected payout "
            f"{units.amount(out['expected_payout'], unit=True)} per period "
            f"(P90 {units.amount(b90, unit=True)})",
            f"费率 × {sol.value:.2f}：各档费率 {rates}（现为 {before}）；预期销售成本率 "
            f"{pct(expected_cos, 2)}（P10–P90 {pct(p10, 2)}–{pct(p90, 2)}）；预期每期提成 "
            f"{units.amount(out['expected_payout'], unit=True)}（P90 "
            f"{units.amount(b90, unit=True)}）",
        )
    )
    return EXIT_OK


def cmd_solve_gate(args) -> int:
    import numpy as np

    from simlib.plans import load_plan, solve_gate
    from simlib.present import pct

    lang = lang_of(args)
    share = parse_share(args.eligible, "--eligible", lang)
    plan = load_plan(args.plan)
    ctx = _context(args, plan, lang)
    try:
        sol = solve_gate(plan, ctx.trials, ctx.quotas, share, teams=np.asarray(ctx.teams))
    except ValueError as e:
        raise UserError(str(e)) from None
    old = plan.gate.min_attainment if plan.gate is not None else None
    out = {
        "plan": plan.name,
        "period": args.period,
        "trials": int(ctx.trials.shape[0]),
        "reps": int(ctx.trials.shape[1]),
        "eligible_target": share,
        "gate": sol.value,
        "gate_before": old,
        "eligible": sol.achieved,
    }
    if args.json:
        dump_json(out)
        return EXIT_OK
    title = plan.label_zh if lang == "zh-CN" and plan.label_zh else plan.name
    now = pct(old, 1) if old is not None else say(lang, "no gate", "无门槛")
    print(
        say(
            lang,
            f"{title} · {args.period} · {out['trials']:,} trials of {out['reps']} reps: a gate at "
            f"{pct(sol.value, 1)} of quota keeps {pct(sol.achieved, 1)} of reps eligible "
            f"(asked {pct(share, 0)}; now {now})",
            f"{title} · {args.period} · {out['reps']} 名销售 × {out['trials']:,} 次模拟："
            f"门槛设为定额的 {pct(sol.value, 1)}，可使 {pct(sol.achieved, 1)} 的销售达到提成资格"
            f"（目标 {pct(share, 0)}；现为 {now}）",
        )
    )
    return EXIT_OK


def cmd_solve_uplift(args) -> int:
    from simlib.present import pct
    from simlib.targets.allocate import AllocationError
    from simlib.targets.run import run_scenario
    from simlib.targets.scenario import load_scenario

    lang = lang_of(args)
    conf = parse_share(args.confidence, "--confidence", lang, allow_one=False)
    scenario = load_scenario(args.scenario)
    att = scenario.attainability.model_copy(update={"company_confidence": conf})
    update = {"attainability": att}
    if args.trials is not None:
        if args.trials < 100:
            raise UserError(
                say(lang, f"--trials must be at least 100; got {args.trials}",
                    f"--trials 至少为 100；输入为 {args.trials}")
            )  # fmt: skip
        update["simulation"] = scenario.simulation.model_copy(update={"n_trials": args.trials})
    scenario = scenario.model_copy(update=update)
    data = dataset(args)
    try:
        alloc = run_scenario(scenario, data)
    except AllocationError as e:
        raise UserError(str(e)) from None
    r = alloc.risk.set_index("measure")["value"]
    out = {
        "scenario": scenario.name,
        "year": scenario.year,
        "confidence": conf,
        "uplift_for_confidence": float(r["uplift_for_confidence"]),
        "over_assignment_total": float(r["over_assignment_total"]),
        "p_company_if_reps_on_quota": float(r["p_company_if_reps_on_quota"]),
        "p_company_forecast": float(r["p_company_forecast"]),
        "trials": scenario.simulation.n_trials,
    }
    if args.json:
        dump_json(out)
        return EXIT_OK
    u = out["uplift_for_confidence"]
    print(
        say(
            lang,
            f"{scenario.name} · {scenario.year}: to reach the company number with "
            f"{pct(conf, 0)} confidence, the reps' quotas must add up to {pct(u, 1, sign=True)} "
            f"above it (the scenario assigns {pct(out['over_assignment_total'], 1, sign=True)}, "
            f"which gives {pct(out['p_company_if_reps_on_quota'], 0)})",
            f"{scenario.name} · {scenario.year}：要以 {pct(conf, 0)} 的把握完成公司目标，"
            f"销售定额合计需高出公司目标 {pct(u, 1, sign=True)}（当前方案超配 "
            f"{pct(out['over_assignment_total'], 1, sign=True)}，对应把握 "
            f"{pct(out['p_company_if_reps_on_quota'], 0)}）",
        )
    )
    return EXIT_OK


def add_parser(sub) -> None:
    s = sub.add_parser("solve", help="solve a plan's rate or gate, or the uplift (SPEC R23)")
    ssub = s.add_subparsers(dest="solve_command", metavar="SUBCOMMAND")
    s.set_defaults(func=lambda args: (s.print_help(), 2)[1])

    def sim_args(p):
        p.add_argument("--plan", required=True, help="plan file or shipped plan name")
        p.add_argument("--period", required=True, help="the plan's kind of period, e.g. 2026-Q4")
        p.add_argument("--as-of", default=None, help="forecast date (default: data end)")
        p.add_argument("--trials", type=int, default=2000, help="Monte Carlo trials (2000)")
        p.add_argument("--seed", type=int, default=7, help="random seed (7, as the lab)")
        p.add_argument("--json", action="store_true", help="plain data for scripts")
        add_data_args(p)

    r = ssub.add_parser("rate", help="the rate factor that hits a cost of sales or a budget")
    r.add_argument("--cost-of-sales", default=None, help="expected payout ÷ revenue, e.g. 1.2%")
    r.add_argument("--budget", default=None, help="expected payout per period, e.g. 2000000")
    sim_args(r)
    r.set_defaults(func=cmd_solve_rate)

    g = ssub.add_parser("gate", help="the attainment gate that keeps a share of reps eligible")
    g.add_argument("--eligible", required=True, help="share of reps to keep eligible, e.g. 80%")
    sim_args(g)
    g.set_defaults(func=cmd_solve_gate)

    u = ssub.add_parser("uplift", help="the over-assignment for a confidence in the number")
    u.add_argument("--confidence", required=True, help="e.g. 80%")
    u.add_argument("--scenario", required=True, help="scenario YAML or a name in params/scenarios")
    u.add_argument("--trials", type=int, default=None, help="trials (default: the scenario's)")
    u.add_argument("--json", action="store_true", help="plain data for scripts")
    add_data_args(u)
    u.set_defaults(func=cmd_solve_uplift)
