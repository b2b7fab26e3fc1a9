"""``simlib appeals``, ``simlib plans``, ``simlib ledger``: the governance ledger in a shell.

* ``simlib statements issue --period P [--plan PLAN] --as WHO`` (the same as
  ``simlib ledger issue``) issues a period's statements into the ledger.
* ``simlib appeals file|list|show|review|decide|withdraw`` — the appeal flow (R17).
* ``simlib plans submit|approve|reject|accept|status --plan NAME_OR_PATH`` — plans and
  scenarios under change control: submit records the file as a version, a director
  approves, a rep acknowledges (签字确认), status says whether the file on disk is still
  the approved one.
* ``simlib ledger log [--rep R] [--period P] [--object O]`` — the trail;
  ``simlib ledger verify`` — check the hash chain and every row against it.

Every command says who is acting (``--as``: an id or a name from the org data); the
ledger itself decides what that person may do. The ledger is ``--ledger URL``, else
``$SIMLIB_LEDGER``, else ``ledger_url`` in ``params/appeals.yaml`` (a relative SQLite
path is relative to the folder simlib is run from).
"""

from __future__ import annotations

import json

from simlib.cli.common import (
    EXIT_OK,
    LANG_CHOICES,
    UserError,
    add_data_args,
    load_dataset,
    parse_amount,
    user_lang,
)

_KIND = {
    "statement.issued": ("statement issued", "发布对账单"),
    "statement.reissued": ("statement re-issued", "重新发布对账单"),
    "batch.issued": ("batch issued", "发布批次"),
    "appeal.filed": ("appeal filed", "提交申诉"),
    "appeal.review_started": ("review started", "开始审核"),
    "appeal.decided": ("appeal decided", "裁决申诉"),
    "appeal.withdrawn": ("appeal withdrawn", "撤回申诉"),
    "plan.version_recorded": ("plan version recorded", "登记方案版本"),
    "plan.submitted": ("plan submitted", "提交方案"),
    "plan.approved": ("plan approved", "批准方案"),
    "plan.rejected": ("plan rejected", "驳回方案"),
    "plan.acknowledged": ("plan acknowledged", "确认方案"),
    "scenario.version_recorded": ("scenario version recorded", "登记情景版本"),
    "scenario.submitted": ("scenario submitted", "提交情景"),
    "scenario.approved": ("scenario approved", "批准情景"),
    "scenario.rejected": ("scenario rejected", "驳回情景"),
}


def _state_name(state: str, lang: str) -> str:
    """An appeal's state in ``lang`` (the ledger's words; imported when used: the
    command line starts without SQLAlchemy)."""
    from simlib.ledger.records import appeal_state_label

    return appeal_state_label(state, lang)


def _doc_state_name(state: str, lang: str) -> str:
    from simlib.ledger.change import state_label

    return state_label(state, lang)


def _t(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "zh-CN" else pair[0]


def _money(cents: int, sign: bool = False) -> str:
    from decimal import Decimal

    v = Decimal(int(cents)).scaleb(-2)
    return f"{v:+,.2f}" if sign else f"{v:,.2f}"


def _appeal_params():
    from simlib.ledger.params import load_appeal_params

    return load_appeal_params()


def _open(args, roster_needed: bool = True):
    """The ledger, the roster behind it and the language, from the flags."""
    import pandas as pd
    from sqlalchemy.exc import ArgumentError

    from simlib.ledger.params import open_ledger, resolve_ledger_url

    data = load_dataset(args) if roster_needed else None
    reps = data.reps if data is not None else pd.DataFrame({"rep_id": []})
    org = data.tables.get("org") if data is not None else None
    url = resolve_ledger_url(getattr(args, "ledger", None), _appeal_params())
    try:
        led = open_ledger(reps, org, url=url)
    except ArgumentError:
        raise UserError(
            f"--ledger must be a database URL like sqlite:///ledger.sqlite or "
            f"postgresql://host/db; got {url!r}"
        ) from None
    return led, data, user_lang(args)


def approval_line(kind: str, name: str, path, lang: str, url: str | None = None) -> str | None:
    """One line saying whether the file at ``path`` is the approved version of ``name``
    (None when the ledger has no such document or has not been created: nothing to say)."""
    from simlib.ledger import Ledger, LedgerError, Roster
    from simlib.ledger.params import ledger_exists, resolve_ledger_url

    url = resolve_ledger_url(url, _appeal_params())
    if path is None or not ledger_exists(url):
        return None
    from simlib.calendar import load_calendar

    try:
        led = Ledger(url, roster=Roster(people={}), calendar=load_calendar())
    except Exception:  # noqa: BLE001 - a status line must not stop the command
        return None
    try:
        if not led.versions(kind, name):
            return None
        check = led.check_file(kind, name, path)
    except LedgerError:
        return None
    finally:
        led.close()
    label = ("情景" if kind == "scenario" else "方案") if lang == "zh-CN" else kind
    sep = "：" if lang == "zh-CN" else ": "
    return f"{label} {name}{sep}{check.message(lang)}"


def _run(args, body, roster_needed: bool = True) -> int:
    """Run ``body(ledger, data, lang)``; a refusal becomes a message in the user's language."""
    from simlib.ledger import LedgerError

    lang = user_lang(args)
    try:
        led, data, lang = _open(args, roster_needed)
    except LedgerError as e:
        raise UserError(e.message(lang)) from None
    try:
        return body(led, data, lang)
    except LedgerError as e:
        raise UserError(e.message(lang)) from None
    finally:
        led.close()


def _when(led, at) -> str:
    return at.astimezone(led.tz).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------- ledger issue


def _plan_hash(plan) -> str:
    import hashlib

    body = json.dumps(plan.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _period_statements(data, plan, period: str):
    """The plan's statements for one period, computed as ``simlib statements`` does."""
    from simlib.plans import StatementSet
    from simlib.plans.from_data import statements_for_data

    try:
        sts = statements_for_data(data, plan)
    except ValueError as e:
        raise UserError(str(e)) from None
    mine = tuple(s for s in sts if s.period == period)
    if not mine:
        periods = sorted({s.period for s in sts})
        raise UserError(
            f"no statements for period {period!r} under plan {plan.name}; periods with "
            f"statements: {', '.join(periods[-8:])}"
        )
    return StatementSet(sts.plan, mine)


def cmd_issue(args) -> int:
    from simlib.plans import load_plan

    plan = load_plan(args.plan)

    def body(led, data, lang):
        sts = _period_statements(data, plan, args.period)
        res = led.issue(
            sts,
            actor=args.actor,
            plan_hash=_plan_hash(plan),
            data_fingerprint=str(getattr(data, "fingerprint", "")),
            reason=args.reason or "",
        )
        total = sum(s.payable_cents for s in res.issued)
        changed = sum(s.version > 1 for s in res.issued)
        if lang == "zh-CN":
            print(
                f"{plan.label_zh or plan.name} · {args.period}：发布 {len(res.issued)} 份对账单"
                f"（首次发布 {len(res.issued) - changed} 份，更正后的新版本 {changed} 份），"
                f"{len(res.unchanged)} 份内容未变"
            )
            if res.issued:
                print(f"本次发布应付合计 {_money(total)} 元")
        else:
            print(
                f"{plan.name} · {args.period}: issued {len(res.issued)} statement(s) "
                f"({len(res.issued) - changed} first issue(s), {changed} corrected version(s)), "
                f"{len(res.unchanged)} unchanged"
            )
            if res.issued:
                print(f"payable in the issued statements {_money(total)} CNY")
        return EXIT_OK

    return _run(args, body)


# ---------------------------------------------------------------------- appeals


def cmd_file(args) -> int:
    def body(led, data, lang):
        me = led.roster.resolve(args.actor)
        if args.statement is not None:
            sid = args.statement
        else:
            mine = [s for s in led.statements(viewer=me, rep=me.id, period=args.period)]
            if args.plan:
                mine = [s for s in mine if s.plan == args.plan]
            if not mine:
                raise UserError(
                    f"{me.display('zh-CN')} {args.period} 没有已发布的对账单"
                    if lang == "zh-CN"
                    else f"{me.name} has no issued statement for {args.period}"
                )
            if len(mine) > 1:
                plans = ", ".join(s.plan for s in mine)
                raise UserError(
                    f"{args.period} 有多份对账单（{plans}）：请用 --plan 指定"
                    if lang == "zh-CN"
                    else f"{args.period} has statements under several plans ({plans}): "
                    "choose one with --plan"
                )
            sid = mine[0].id
        a = led.file(me, sid, args.line, args.reason)
        st = led.statement(a.statement_id)
        line = st.line(a.line_no)
        if lang == "zh-CN":
            print(f"申诉 #{a.id} 已提交：{st.period} 对账单第 {a.line_no} 行（{line.text}）")
            print(f"裁决截止日 {a.decision_due}")
        else:
            print(f"appeal #{a.id} filed on line {a.line_no} of the {st.period} statement")
            print(f"  {line.text}")
            print(f"decision due by {a.decision_due}")
        return EXIT_OK

    return _run(args, body)


def _appeal_rows(led, appeals, lang):
    import pandas as pd

    zh = lang == "zh-CN"
    heads = (
        ["申诉", "销售", "期间", "行", "状态", "提交时间", "裁决截止", "调整（元）"]
        if zh
        else ["appeal", "rep", "period", "line", "state", "filed", "decision due", "adjustment"]
    )
    rows = [
        [
            f"#{a.id}",
            led.roster.name_of(a.rep_id, lang),
            a.period,
            a.line_no,
            _state_name(a.state, lang),
            _when(led, a.filed_at),
            str(a.decision_due),
            _money(a.cents, sign=True) if a.cents else "—",
        ]
        for a in appeals
    ]
    return pd.DataFrame(rows, columns=heads)


def cmd_list(args) -> int:
    def body(led, data, lang):
        viewer = led.roster.resolve(args.actor)
        rep = led.roster.resolve(args.rep).id if args.rep else None
        if args.overdue:
            appeals = [
                a
                for a in led.overdue(viewer=viewer)
                if (rep is None or a.rep_id == rep) and (not args.period or a.period == args.period)
            ]
        else:
            appeals = led.appeals(viewer=viewer, rep=rep, period=args.period, open_only=args.open)
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "appeal": a.id,
                            "rep_id": a.rep_id,
                            "period": a.period,
                            "statement": a.statement_id,
                            "line": a.line_no,
                            "state": a.state,
                            "filed_at": a.filed_at.isoformat(),
                            "window_ends": str(a.window_ends),
                            "decision_due": str(a.decision_due),
                            "cents": a.cents,
                        }
                        for a in appeals
                    ],
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return EXIT_OK
        if not appeals:
            print("没有符合条件的申诉" if lang == "zh-CN" else "no appeals")
            return EXIT_OK
        print(_appeal_rows(led, appeals, lang).to_string(index=False))
        return EXIT_OK

    return _run(args, body)


def cmd_show(args) -> int:
    def body(led, data, lang):
        viewer = led.roster.resolve(args.actor)
        a = led.appeal(args.appeal, viewer=viewer)
        st = led.statement(a.statement_id, viewer=viewer)
        line = st.line(a.line_no)
        name = led.roster.name_of
        zh = lang == "zh-CN"
        out = [
            (f"申诉 #{a.id} · {_state_name(a.state, lang)}")
            if zh
            else f"appeal #{a.id} · {_state_name(a.state, lang)}",
            (
                f"销售：{name(a.rep_id, lang)} · {a.period} 对账单第 {st.version} 版 "
                f"第 {a.line_no} 行"
                if zh
                else f"rep: {name(a.rep_id, lang)} · {a.period} statement version {st.version}, "
                f"line {a.line_no}"
            ),
            f"  {line.text}  ({_money(line.cents)})",
            (f"理由：{a.reason}" if zh else f"reason: {a.reason}"),
            (
                f"提交：{_when(led, a.filed_at)} · 申诉期至 {a.window_ends} · "
                f"裁决截止 {a.decision_due}"
                if zh
                else f"filed {_when(led, a.filed_at)} · window ended {a.window_ends} · "
                f"decision due {a.decision_due}"
            ),
        ]
        if a.reviewer:
            out.append(
                f"审核人：{name(a.reviewer, lang)}（{_when(led, a.review_started_at)} 起）"
                if zh
                else f"under review by {name(a.reviewer, lang)} since "
                f"{_when(led, a.review_started_at)}"
            )
        if a.outcome:
            who = name(a.decided_by, lang)
            out.append(
                f"{_state_name(a.outcome, lang)}：{who} · {_when(led, a.decided_at)}"
                + (f" · 调整 {_money(a.cents, sign=True)} 元" if a.cents else "")
                + (f" · {a.outcome_reason}" if a.outcome_reason else "")
                if zh
                else f"{_state_name(a.outcome, lang)} by {who} at {_when(led, a.decided_at)}"
                + (f" · adjustment {_money(a.cents, sign=True)} CNY" if a.cents else "")
                + (f" · {a.outcome_reason}" if a.outcome_reason else "")
            )
        if a.reissued_statement_id:
            new = led.statement(a.reissued_statement_id, viewer=viewer)
            out.append(
                f"重新发布：第 {new.version} 版，应付 {_money(new.payable_cents)} 元"
                if zh
                else f"re-issued as version {new.version}, payable {_money(new.payable_cents)} CNY"
            )
        print("\n".join(out))
        return EXIT_OK

    return _run(args, body)


def cmd_review(args) -> int:
    def body(led, data, lang):
        a = led.start_review(args.actor, args.appeal)
        who = led.roster.name_of(a.reviewer, lang)
        print(
            f"申诉 #{a.id} 进入审核（{who}），裁决截止 {a.decision_due}"
            if lang == "zh-CN"
            else f"appeal #{a.id} under review by {who}; decision due by {a.decision_due}"
        )
        return EXIT_OK

    return _run(args, body)


def cmd_decide(args) -> int:
    cents = 0
    if args.amount is not None:
        from decimal import ROUND_HALF_UP, Decimal

        yuan = Decimal(str(parse_amount(args.amount, "--amount")))
        cents = int((yuan * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def body(led, data, lang):
        a = led.decide(args.actor, args.appeal, args.outcome, cents, args.reason)
        state = _state_name(a.state, lang)
        if lang == "zh-CN":
            print(f"申诉 #{a.id}：{state}")
        else:
            print(f"appeal #{a.id}: {state}")
        if a.reissued_statement_id:
            new = led.statement(a.reissued_statement_id)
            print(
                f"对账单重新发布为第 {new.version} 版：调整 {_money(a.cents, sign=True)} 元，"
                f"应付 {_money(new.payable_cents)} 元"
                if lang == "zh-CN"
                else f"statement re-issued as version {new.version}: adjustment "
                f"{_money(a.cents, sign=True)} CNY, payable {_money(new.payable_cents)} CNY"
            )
        return EXIT_OK

    return _run(args, body)


def cmd_withdraw(args) -> int:
    def body(led, data, lang):
        a = led.withdraw(args.actor, args.appeal, args.reason or "")
        print(f"申诉 #{a.id} 已撤回" if lang == "zh-CN" else f"appeal #{a.id} withdrawn")
        return EXIT_OK

    return _run(args, body)


# ---------------------------------------------------------------------- ledger log/verify


def cmd_log(args) -> int:
    def body(led, data, lang):
        import pandas as pd

        viewer = led.roster.resolve(args.actor)
        rep = led.roster.resolve(args.rep).id if args.rep else None
        evs = led.log(viewer=viewer, rep=rep, period=args.period, object=args.object)
        if args.json:
            print(
                json.dumps(
                    [
                        {
                            "seq": e.seq,
                            "at": e.at.isoformat(),
                            "actor": e.actor,
                            "role": e.role,
                            "kind": e.kind,
                            "object": f"{e.object_type}:{e.object_id}",
                            "rep_id": e.rep_id,
                            "period": e.period,
                            "reason": e.reason,
                            "before": e.before,
                            "after": e.after,
                            "hash": e.hash,
                        }
                        for e in evs
                    ],
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return EXIT_OK
        if not evs:
            print("没有记录" if lang == "zh-CN" else "no events")
            return EXIT_OK
        zh = lang == "zh-CN"
        heads = (
            ["序号", "时间", "操作人", "事件", "对象", "销售", "期间", "理由"]
            if zh
            else ["#", "time", "by", "event", "object", "rep", "period", "reason"]
        )
        obj = {"statement": ("statement", "对账单"), "appeal": ("appeal", "申诉")}
        docs = {"plan": ("plan", "方案"), "scenario": ("scenario", "情景")}
        rows = [
            [
                e.seq,
                _when(led, e.at),
                led.roster.name_of(e.actor, lang),
                _t(_KIND.get(e.kind, (e.kind, e.kind)), lang),
                (
                    f"{_t(obj[e.object_type], lang)} #{e.object_id}"
                    if e.object_type in obj
                    else f"{_t(docs[e.object_type], lang)} {e.object_id}"
                    if e.object_type in docs
                    else ("批次" if zh else "batch")
                ),
                led.roster.name_of(e.rep_id, lang) if e.rep_id else "—",
                e.period or "—",
                (e.reason[:40] + "…") if len(e.reason) > 40 else (e.reason or "—"),
            ]
            for e in evs
        ]
        print(pd.DataFrame(rows, columns=heads).to_string(index=False))
        return EXIT_OK

    return _run(args, body)


def cmd_verify(args) -> int:
    def body(led, data, lang):
        v = led.verify()
        if v.ok:
            print(
                f"账本完好：{v.events} 条记录，哈希链完整"
                if lang == "zh-CN"
                else f"ledger intact: {v.events} events, hash chain unbroken"
            )
            return EXIT_OK
        where = v.first_broken if v.first_broken is not None else "?"
        print(
            f"账本已损坏：第 {where} 条记录 — {v.problem}"
            if lang == "zh-CN"
            else f"ledger broken at event {where}: {v.problem}"
        )
        return 1

    return _run(args, body, roster_needed=False)


# ---------------------------------------------------------------------- plans


def _doc(args, need_file: bool) -> tuple[str, str, object]:
    """(kind, name, path or None) from ``--plan NAME_OR_PATH`` and ``--kind``.

    A path names itself (its stem is the name); a bare name is looked up as
    ``params/plans/NAME.yaml`` (``params/scenarios/`` for ``--kind scenario``).
    """
    from pathlib import Path

    from simlib.config import default_params_dir

    kind = args.kind
    given = str(args.plan).strip()
    p = Path(given).expanduser()
    if p.suffix in (".yaml", ".yml") or p.is_file():
        if p.is_file():
            return kind, p.stem, p
        if need_file:
            raise UserError(f"no file {p} (--plan takes a plan name or a file path)")
        return kind, p.stem, None
    folder = default_params_dir() / ("plans" if kind == "plan" else "scenarios")
    for ext in (".yaml", ".yml"):
        if (folder / f"{given}{ext}").is_file():
            return kind, given, folder / f"{given}{ext}"
    if need_file:
        have = sorted(f.stem for f in folder.glob("*.y*ml")) if folder.is_dir() else []
        raise UserError(
            f"no {kind} called {given!r} in {folder}"
            + (f" (there are: {', '.join(have)})" if have else "")
            + "; give a name from there or a file path"
        )
    return kind, given, None


def _pick(led, kind, name, version, state: str, lang: str) -> int:
    """``--version``, else the latest version in ``state``."""
    if version is not None:
        return version
    vs = [v for v in led.versions(kind, name) if v.state == state]
    if not vs:
        st = _doc_state_name(state, lang)
        raise UserError(
            f"{name} 没有“{st}”的版本（用 simlib plans status 查看）"
            if lang == "zh-CN"
            else f"{name} has no {st} version (see simlib plans status)"
        )
    return vs[-1].version


def _say_version(led, v, lang: str) -> None:
    who = led.roster.name_of(v.decided_by or v.submitted_by or v.author, lang)
    st = _doc_state_name(v.state, lang)
    if lang == "zh-CN":
        print(f"{v.name} 第 {v.version} 版：{st}（{who}）")
    else:
        print(f"{v.name} version {v.version}: {st} ({who})")


def cmd_plans_submit(args) -> int:
    def body(led, data, lang):
        kind, name, path = _doc(args, need_file=True)
        me = led.roster.resolve(args.actor)
        v = led.record_version(me, kind, name, path.read_bytes(), args.reason)
        if v.state != "draft":
            st = _doc_state_name(v.state, lang)
            raise UserError(
                f"{path} 与第 {v.version} 版相同，该版本已是“{st}”：无需再提交"
                if lang == "zh-CN"
                else f"{path} is version {v.version}, which is already {st}: nothing to submit"
            )
        _say_version(led, led.submit(me, kind, name, v.version, args.reason), lang)
        return EXIT_OK

    return _run(args, body)


def cmd_plans_approve(args) -> int:
    def body(led, data, lang):
        kind, name, _ = _doc(args, need_file=False)
        n = _pick(led, kind, name, args.version, "submitted", lang)
        _say_version(led, led.approve(args.actor, kind, name, n, args.reason), lang)
        return EXIT_OK

    return _run(args, body)


def cmd_plans_reject(args) -> int:
    def body(led, data, lang):
        kind, name, _ = _doc(args, need_file=False)
        n = _pick(led, kind, name, args.version, "submitted", lang)
        _say_version(led, led.reject(args.actor, kind, name, n, args.reason), lang)
        return EXIT_OK

    return _run(args, body)


def cmd_plans_accept(args) -> int:
    def body(led, data, lang):
        _, name, _ = _doc(args, need_file=False)
        cur = led.approved("plan", name)
        if cur is None and args.version is None:
            raise UserError(
                f"方案 {name} 尚无批准版本，无法确认"
                if lang == "zh-CN"
                else f"plan {name} has no approved version to acknowledge yet"
            )
        n = args.version if args.version is not None else cur.version
        a = led.acknowledge(args.actor, name, n)
        who = led.roster.name_of(a.rep_id, lang)
        if lang == "zh-CN":
            print(f"{who} 已确认方案 {name} 第 {a.version} 版（{_when(led, a.at)}）")
        else:
            print(f"{who} acknowledged plan {name} version {a.version} ({_when(led, a.at)})")
        return EXIT_OK

    return _run(args, body)


def cmd_plans_status(args) -> int:
    def body(led, data, lang):
        import pandas as pd

        kind, name, path = _doc(args, need_file=False)
        zh = lang == "zh-CN"
        vs = led.versions(kind, name)
        if not vs:
            print(f"{name} 尚无登记的版本" if zh else f"{name} has no recorded version")
        else:
            heads = (
                ["版本", "状态", "编写人", "时间", "由", "理由"]
                if zh
                else ["version", "state", "written by", "time", "by", "reason"]
            )
            rows = [
                [
                    v.version,
                    _doc_state_name(v.state, lang),
                    led.roster.name_of(v.author, lang),
                    _when(led, v.at),
                    led.roster.name_of(v.decided_by or v.submitted_by, lang)
                    if (v.decided_by or v.submitted_by)
                    else "—",
                    (v.decision_reason or v.reason or "—")[:40],
                ]
                for v in vs
            ]
            print(pd.DataFrame(rows, columns=heads).to_string(index=False))
        if path is not None:
            c = led.check_file(kind, name, path)
            print(f"{path}：{c.message('zh-CN')}" if zh else f"{path}: {c.message()}")
        return EXIT_OK

    return _run(args, body)


# ---------------------------------------------------------------------- parser


def _common(p, write: bool = True) -> None:
    p.add_argument(
        "--as",
        dest="actor",
        required=True,
        help="who is acting: an id or name from the org data" if write else "who is asking",
    )
    p.add_argument(
        "--ledger",
        default=None,
        help="ledger database URL (default: $SIMLIB_LEDGER, else params/appeals.yaml)",
    )
    add_data_args(p)


def add_parser(sub) -> None:
    ap = sub.add_parser("appeals", help="appeal a statement line, and decide appeals (R17)")
    asub = ap.add_subparsers(dest="appeals_command", metavar="ACTION", required=True)

    f = asub.add_parser("file", help="appeal a line of your own issued statement")
    f.add_argument("--period", required=True, help="the statement's period, e.g. 2026-Q3")
    f.add_argument("--line", type=int, required=True, help="the line number on the statement")
    f.add_argument("--reason", required=True, help="what is wrong with the line")
    f.add_argument("--plan", default=None, help="the plan, when several issued statements")
    f.add_argument("--statement", type=int, default=None, help="a statement number instead")
    _common(f)
    f.set_defaults(func=cmd_file)

    ls = asub.add_parser("list", help="the appeals you may see")
    ls.add_argument("--rep", default=None)
    ls.add_argument("--period", default=None)
    ls.add_argument("--open", action="store_true", help="only appeals not yet decided")
    ls.add_argument("--overdue", action="store_true", help="only appeals past their deadline")
    ls.add_argument("--json", action="store_true")
    _common(ls, write=False)
    ls.set_defaults(func=cmd_list)

    sh = asub.add_parser("show", help="one appeal: the line, the reason, the decision")
    sh.add_argument("appeal", type=int, help="appeal number")
    _common(sh, write=False)
    sh.set_defaults(func=cmd_show)

    rv = asub.add_parser("review", help="take an appeal up for review (manager, director)")
    rv.add_argument("appeal", type=int)
    _common(rv)
    rv.set_defaults(func=cmd_review)

    de = asub.add_parser("decide", help="decide an appeal (the rep's manager or a director)")
    de.add_argument("appeal", type=int)
    de.add_argument("--outcome", required=True, choices=("accepted", "partly_accepted", "rejected"))
    de.add_argument("--amount", default=None, help="the adjustment in yuan, e.g. 1200 or -300")
    de.add_argument("--reason", required=True)
    _common(de)
    de.set_defaults(func=cmd_decide)

    wd = asub.add_parser("withdraw", help="withdraw your appeal before it is decided")
    wd.add_argument("appeal", type=int)
    wd.add_argument("--reason", default="")
    _common(wd)
    wd.set_defaults(func=cmd_withdraw)

    lg = sub.add_parser("ledger", help="issue statements into the ledger; its trail; verify it")
    lsub = lg.add_subparsers(dest="ledger_command", metavar="ACTION", required=True)

    iss = lsub.add_parser("issue", help="issue a period's statements (director, admin)")
    iss.add_argument("--period", required=True, help="e.g. 2026-Q3 (the plan's period kind)")
    iss.add_argument("--plan", default="tiered_cn")
    iss.add_argument("--reason", default="", help="why (e.g. a correction)")
    _common(iss)
    iss.set_defaults(func=cmd_issue)

    log = lsub.add_parser("log", help="the trail of changes, oldest first")
    log.add_argument("--rep", default=None)
    log.add_argument("--period", default=None)
    log.add_argument("--object", default=None, help="appeal, statement, or e.g. appeal:12")
    log.add_argument("--json", action="store_true")
    _common(log, write=False)
    log.set_defaults(func=cmd_log)

    pl = sub.add_parser("plans", help="plans and scenarios under change control (approve, sign)")
    psub = pl.add_subparsers(dest="plans_command", metavar="ACTION", required=True)
    for name, func, text in (
        ("submit", cmd_plans_submit, "record the file as a new version and submit it (manager+)"),
        ("approve", cmd_plans_approve, "approve a submitted version (director, admin)"),
        ("reject", cmd_plans_reject, "reject a submitted version, with a reason"),
        ("accept", cmd_plans_accept, "acknowledge (sign) the approved plan (签字确认)"),
        ("status", cmd_plans_status, "versions, states, and whether the file is the approved one"),
    ):
        c = psub.add_parser(name, help=text)
        c.add_argument("--plan", required=True, help="a plan or scenario name, or its file")
        c.add_argument("--kind", choices=("plan", "scenario"), default="plan")
        if name != "status":
            c.add_argument("--version", type=int, default=None, help="default: the latest")
            c.add_argument("--reason", required=name == "reject", default="")
        _common(c, write=name != "status")
        c.set_defaults(func=func)

    ve = lsub.add_parser("verify", help="check the hash chain and every row against it")
    ve.add_argument("--ledger", default=None, help="ledger database URL")
    ve.add_argument("--lang", choices=LANG_CHOICES, default=None)
    ve.set_defaults(func=cmd_verify, actor=None)
