"""The demo company's report pack: every document of a review cycle and an index.

``render_pack`` renders, in one pool of warm kernels, what each role receives:

* director: the target-workshop summary, this quarter's attainment forecast and the
  commission summary of the last closed quarter (everyone);
* each manager: their team's weekly and monthly reviews;
* each rep: their own review pack (scorecard, pay, review) and their commission
  statement of the last closed quarter.

It then writes ``index.html`` linking every document by role (the analyst's index),
and one index per person under ``people/<id>/index.html`` listing only that person's
documents (the director's, each manager's, each rep's). Who may read a document is
part of its entry in the manifest (``audience``) and in ``index.json``.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from simlib.data import load_demo
from simlib.reports.batch import BatchResult, Item, brief_error, org_ids, run_items
from simlib.reports.render import _write_atomic, oserror_text, output_name
from simlib.reports.templates import ROOT, ReportError, check_parameters, template_info

_TITLES = {
    "target_workshop_summary": ("Target workshop summary", "目标研讨会纪要"),
    "attainment_forecast": ("Attainment forecast", "业绩达成预测"),
    "commission_summary": ("Commission summary", "提成汇总"),
    "weekly_team_review": ("Weekly team review", "团队周报"),
    "monthly_team_review": ("Monthly team review", "团队月度复盘"),
    "rep_review_pack": ("Review pack", "个人绩效面谈材料"),
    "commission_statement": ("Commission statement", "提成明细单"),
    "forecast_backtest": ("Forecast backtest", "预测回测"),
    "quote": ("Quote", "报价单"),
}
#: Each template's title for people, (English, Chinese).
TITLES = _TITLES


@dataclass(frozen=True)
class PackPlan:
    lang: str
    as_of: dt.date
    quarter: str  # the quarter being forecast (the data's current quarter)
    closed_quarter: str  # the last closed quarter (commission summary)
    month: str  # the last closed month (monthly and rep reviews)
    week_ending: str
    company: str = ""
    scenario: str = "baseline_2027"
    n_trials: int = 10_000


def plan_for(data, lang: str, n_trials: int = 10_000) -> PackPlan:
    t = pd.Timestamp(data.as_of)
    co = data.tables["org"].query("level == 'company'").iloc[0]
    company = (
        co["name_zh"] if lang == "zh-CN" and isinstance(co.get("name_zh"), str) else co["name"]
    )
    q = t.to_period("Q")
    return PackPlan(
        lang=lang,
        as_of=t.date(),
        quarter=f"{q.year}-Q{q.quarter}",
        closed_quarter=f"{(q - 1).year}-Q{(q - 1).quarter}",
        month=str(t.to_period("M") - 1),
        week_ending=t.date().isoformat(),
        n_trials=n_trials,
        company=str(company),
    )


def pack_items(
    plan: PackPlan,
    out_dir: Path,
    demo_seed: int | None = None,
    select: Collection[str] | None = None,
) -> list[tuple[Item, str, str]]:
    """(item, audience, label) for every document of the pack (``select``: only those of
    these audiences, e.g. ``{"director", "manager:T-SH", "rep:S003"}``)."""
    data = load_demo(seed=demo_seed)
    zh = plan.lang == "zh-CN"
    reps = data.tables["reps"].set_index("rep_id")
    org = data.tables["org"].set_index("node_id")

    def name_of(rep_or_node: str) -> str:
        if rep_or_node in reps.index:
            r = reps.loc[rep_or_node]
            return str(r["name_zh"] if zh and isinstance(r.get("name_zh"), str) else r["name"])
        n = org.loc[rep_or_node]
        return str(n["name_zh"] if zh and isinstance(n.get("name_zh"), str) else n["name"])

    seed = {"demo_seed": demo_seed} if demo_seed is not None else {}
    wanted: list[tuple[str, dict, str, str, str]] = [
        (
            "target_workshop_summary",
            {"scenario": plan.scenario, "n_trials": plan.n_trials},
            "director",
            "director/target_workshop_summary",
            name_of("CO"),
        ),
        (
            "attainment_forecast",
            {"node": "CO", "period": plan.quarter, "n_trials": plan.n_trials, **seed},
            "director",
            f"director/attainment_forecast_{plan.quarter}",
            name_of("CO"),
        ),
        (
            "commission_summary",
            {"scope": "CO", "period": plan.closed_quarter, **seed},
            "director",
            f"director/commission_summary_{plan.closed_quarter}",
            name_of("CO"),
        ),
    ]
    for team in org_ids("teams", demo_seed):
        wanted.append(
            (
                "weekly_team_review",
                {"team": team, "week_ending": plan.week_ending, **seed},
                f"manager:{team}",
                f"teams/{team}/weekly_{plan.week_ending}",
                name_of(team),
            )
        )
        wanted.append(
            (
                "monthly_team_review",
                {"team": team, "month": plan.month, **seed},
                f"manager:{team}",
                f"teams/{team}/monthly_{plan.month}",
                name_of(team),
            )
        )
    for rep in org_ids("reps", demo_seed):
        wanted.append(
            (
                "rep_review_pack",
                {"rep_id": rep, "period": plan.month, **seed},
                f"rep:{rep}",
                f"reps/{rep}/review_{plan.month}",
                name_of(rep),
            )
        )
        wanted.append(
            (
                "commission_statement",
                {"rep_id": rep, "period": plan.closed_quarter, **seed},
                f"rep:{rep}",
                f"statements/{rep}/statement_{plan.closed_quarter}",
                name_of(rep),
            )
        )
    out = []
    for tname, params, audience, name, label in wanted:
        if select is not None and audience not in select:
            continue
        t = template_info(tname)
        params = check_parameters(
            t, {**params, "lang": plan.lang} if "lang" in t.parameters else params
        )
        out.append(
            (
                Item(str(t.path), params, name or output_name(t, params), str(out_dir), str(ROOT)),
                audience,
                label,
            )
        )
    return out


def render_pack(
    out_dir: str | Path = "reports/demo",
    *,
    lang: str = "zh-CN",
    n_trials: int = 10_000,
    demo_seed: int | None = None,
    workers: int | None = None,
    client=None,
    progress: bool = True,
    pdf: bool = True,
    select: Collection[str] | None = None,
) -> tuple[BatchResult, Path]:
    """Render the demo company's whole pack into ``out_dir``; returns (batch, index.html).

    ``select`` renders only the documents of these audiences (``"director"``,
    ``"manager:<team id>"``, ``"rep:<rep id>"``).
    """
    out_dir = Path(out_dir)
    plan = plan_for(load_demo(seed=demo_seed), lang, n_trials)
    planned = pack_items(plan, out_dir, demo_seed, select)
    if not planned:
        raise ReportError(f"report pack: no document for {sorted(select or ())}")
    items = [it for it, _, _ in planned]
    run = {
        "job": "demo pack",
        "template": sorted({Path(it.template).stem for it in items}),
        "templates_sha256": {
            Path(it.template).stem: template_info(it.template).checksum for it in items
        },
        "audience": {it.name: aud for it, aud, _ in planned},
    }
    batch = run_items(
        items,
        out_dir,
        run=run,
        workers=workers,
        client=client,
        progress=progress,
        pdf=pdf,
        desc="report pack",
    )
    try:
        index = write_index(out_dir, plan, planned, batch, people=_people(demo_seed))
    except OSError as e:
        raise ReportError(
            f"report pack index: {oserror_text(e)}; the reports themselves are in {out_dir}"
        ) from None
    return batch, index


def period_text(params: dict, lang: str) -> str:
    """The period a document covers, for people: ``2026-10``, ``2026-Q3``, or the week."""
    zh = lang == "zh-CN"
    if params.get("week_ending"):
        w = str(params["week_ending"])
        return f"截至 {w} 的一周" if zh else f"week ending {w}"
    for key in ("period", "month"):
        if params.get(key):
            return str(params[key])
    return ""


def _people(demo_seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The people and org units of the demo company (reps and org tables)."""
    data = load_demo(seed=demo_seed)
    return data.tables["reps"], data.tables["org"]


_BODY_CSS = (
    'body { font-family: system-ui, "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; '
    "margin: 2em auto; max-width: 60em; }"
)
_ROLE_WORDS = {
    "director": ("Director", "总监"),
    "manager": ("Manager", "经理"),
    "rep": ("Sales rep", "销售"),
}


@dataclass(frozen=True)
class Reader:
    """Whom a per-person index is for: ``key`` names its folder under ``people/``."""

    key: str
    name: str
    role: str  # director | manager | rep
    unit: str  # the team (or company) they belong to, by name
    note: str = ""  # e.g. "no manager in the org data"

    @property
    def index(self) -> str:
        return f"people/{self.key}/index.html"


def readers_of(audience: str, people, zh: bool) -> list[Reader]:
    """The people who read documents of ``audience`` (by the org data), each with the
    folder of their own index. A team without a manager gets an index of its own, named
    after the team, saying so."""
    reps, org = people
    role, _, target = audience.partition(":")

    def pick(row) -> str:
        zh_name = row.get("name_zh")
        return str(zh_name if zh and isinstance(zh_name, str) and zh_name else row["name"])

    org_i = org.set_index("node_id")

    def unit_name(node: str) -> str:
        return pick(org_i.loc[node]) if node in org_i.index else ""

    if role == "director":
        rows = reps[reps["role"] == "director"]
        if rows.empty:
            return [Reader("director", _ROLE_WORDS["director"][zh], "director", "")]
        return [
            Reader(str(r["rep_id"]), pick(r), "director", unit_name(str(r["team_id"])))
            for _, r in rows.iterrows()
        ]
    if role == "manager":
        rows = reps[(reps["role"] == "manager") & (reps["team_id"] == target)]
        active = rows[rows["leave_date"].isna()] if "leave_date" in rows else rows
        rows = active if not active.empty else rows
        if rows.empty:
            note = "组织数据中没有该团队的经理" if zh else "no manager of this team in the org data"
            return [Reader(target, unit_name(target), "manager", unit_name(target), note)]
        return [
            Reader(str(r["rep_id"]), pick(r), "manager", unit_name(target))
            for _, r in rows.iterrows()
        ]
    rows = reps[reps["rep_id"] == target]
    if rows.empty:
        return [Reader(target, target, "rep", "")]
    r = rows.iloc[0]
    return [Reader(target, pick(r), "rep", unit_name(str(r["team_id"])))]


def _page(lang: str, head: str, body: str, extra_css: str = "") -> str:
    esc = html.escape
    return f"""<!DOCTYPE html>
<html lang="{esc(lang)}"><head><meta charset="utf-8">
<title>{esc(head)}</title>
<style>
{_BODY_CSS}
ul.reps li {{ margin: .3em 0; }} li.failed {{ color: #b00020; }} .meta {{ color: #555; }}
{extra_css}
</style></head><body>
{body}
</body></html>
"""


def write_index(out_dir: Path, plan: PackPlan, planned, batch: BatchResult, people=None) -> Path:
    """``index.html``: every document of the pack, by role, with its status (the analyst's
    index); with ``people`` (the reps and org tables), one index per person as well
    (``people/<id>/index.html``: the director's, each manager's, each rep's), each listing
    only that person's documents."""
    zh = plan.lang == "zh-CN"
    by_name = {r.name: r for r in batch.results}
    esc = html.escape

    def title(tname: str) -> str:
        en, cn = _TITLES.get(tname, (tname, tname))
        return cn if zh else en

    def anchor(item: Item, label: str, up: str = "") -> tuple[str, bool]:
        """(the link to a document and its PDF, or why there is none; whether it is there)"""
        r = by_name.get(item.name)
        tname = Path(item.template).stem
        when = period_text(item.params, plan.lang)
        text = " — ".join(esc(x) for x in (title(tname), label, when) if x)
        if r is not None and r.ok:
            pdf = f' · <a href="{up}{esc(item.name)}.pdf">PDF</a>' if r.pdf else ""
            return f'<a href="{up}{esc(item.name)}.html">{text}</a>{pdf}', True
        why = (
            esc(brief_error(r.error))
            if r is not None and r.error
            else ("未生成" if zh else "not rendered")
        )
        return f"{text} — <b>{'失败' if zh else 'failed'}</b>{'：' if zh else ': '}{why}", False

    def link(item: Item, label: str, up: str = "") -> str:
        a, ok = anchor(item, label, up)
        return f"<li>{a}</li>" if ok else f'<li class="failed">{a}</li>'

    readers: dict[str, list[Reader]] = {}
    if people is not None:
        for _, audience, _ in planned:
            if audience not in readers:
                readers[audience] = readers_of(audience, people, zh)

    def their_index(audience: str) -> str:
        rs = readers.get(audience, [])
        if not rs:
            return ""
        links = "、".join(f'<a href="{esc(r.index)}">{esc(r.name)}</a>' for r in rs)
        if zh:
            return f' <span class="meta">（个人索引：{links}）</span>'
        return f' <span class="meta">(own index: {links})</span>'

    sections = {"director": [], "manager": {}, "rep": {}}
    for item, audience, label in planned:
        role = audience.split(":")[0]
        if role == "director":
            sections["director"].append((item, label))
        else:
            sections[role].setdefault(audience, []).append((item, label))
    heads = {
        "director": ("Director — the whole company", "总监 — 全公司"),
        "manager": ("Managers — their team", "经理 — 本团队"),
        "rep": ("Reps — their own results and pay", "销售 — 本人业绩与提成"),
    }
    h = lambda k: heads[k][1] if zh else heads[k][0]  # noqa: E731
    parts = [f"<h2>{h('director')}{their_index('director')}</h2><ul>"]
    parts += [link(i, lab) for i, lab in sections["director"]]
    parts.append(f"</ul><h2>{h('manager')}</h2>")
    for audience, entries in sections["manager"].items():
        parts.append(
            f"<h3>{esc(entries[0][1])}{their_index(audience)}</h3><ul>"
            + "".join(link(i, lab) for i, lab in entries)
            + "</ul>"
        )
    # one line per rep: their name, their documents, their own index
    parts.append(f"<h2>{h('rep')}</h2><ul class='reps'>")
    for audience, entries in sections["rep"].items():
        made = [anchor(i, "") for i, _ in entries]
        docs = "；".join(a for a, _ in made) if zh else "; ".join(a for a, _ in made)
        own = ""
        if readers.get(audience):
            r = readers[audience][0]
            open_, close = ("（", "）") if zh else ("(", ")")
            word = "个人索引" if zh else "own index"
            own = f' <span class="meta">{open_}<a href="{esc(r.index)}">{word}</a>{close}</span>'
        css = "" if all(ok for _, ok in made) else ' class="failed"'
        parts.append(f"<li{css}><b>{esc(entries[0][1])}</b>{own}{'：' if zh else ': '}{docs}</li>")
    parts.append("</ul>")
    ok, n = sum(r.ok for r in batch.results), len(planned)
    manifest = batch.manifest.relative_to(out_dir) if batch.manifest else None
    head = f"{plan.company} — {'报告包' if zh else 'report pack'}"
    summary = (
        f"数据截至 {plan.as_of}；{ok}/{n} 份报告已生成，用时 {batch.duration_s:.0f} 秒。"
        if zh
        else f"Data as of {plan.as_of}; {ok} of {n} reports rendered in {batch.duration_s:.0f} s."
    )
    # The run record is linked by name, not by its file name: a run id is no text for people
    # (and its random part can read like a number, e.g. ``71e5``).
    manifest_label = "本次运行记录（JSON）" if zh else "record of this run (JSON)"
    manifest_link = f'<a href="{esc(str(manifest))}">{manifest_label}</a>' if manifest else ""
    doc = _page(
        plan.lang,
        head,
        f'<h1>{esc(head)}</h1>\n<p class="meta">{esc(summary)} {manifest_link}</p>\n'
        + "".join(parts),
    )
    path = out_dir / "index.html"
    _write_atomic(path, doc)  # whole or not at all, no temporary file left on a full disk

    # One index per person: only their documents, links relative to people/<key>/.
    mine: dict[str, tuple[Reader, list]] = {}
    for item, audience, label in planned:
        for r in readers.get(audience, []):
            mine.setdefault(r.key, (r, []))[1].append((item, label))
    for reader, entries in mine.values():
        role = _ROLE_WORDS[reader.role][zh]
        who = f"{reader.unit} · {role}" if reader.unit and reader.unit != reader.name else role
        head_p = f"{reader.name} — {'我的报告' if zh else 'my documents'}"
        intro = (
            f"{plan.company}；数据截至 {plan.as_of}。此页只列出发给您本人的报告。"
            if zh
            else f"{plan.company}; data as of {plan.as_of}. This page lists only your documents."
        )
        body = [
            f"<h1>{esc(head_p)}</h1>",
            f'<p class="meta">{esc(who)}</p>',
            f"<p>{esc(intro)}</p>",
        ]
        if reader.note:
            body.append(f'<p class="meta">{esc(reader.note)}</p>')
        own = reader.role == "rep"  # a rep's documents are all about them: no name on each
        body.append(
            "<ul>" + "".join(link(i, "" if own else lab, "../../") for i, lab in entries) + "</ul>"
        )
        if reader.role == "director":
            every = "全部报告（所有团队与销售）" if zh else "every document (all teams and reps)"
            body.append(f'<p><a href="../../index.html">{esc(every)}</a></p>')
        _write_atomic(out_dir / reader.index, _page(plan.lang, head_p, "\n".join(body)))

    _write_atomic(
        out_dir / "index.json",
        json.dumps(
            [
                {
                    "name": i.name,
                    "audience": a,
                    "label": lab,
                    "template": Path(i.template).stem,
                    "status": by_name[i.name].status if i.name in by_name else "not rendered",
                    "indexes": [r.index for r in readers.get(a, [])],
                }
                for i, a, lab in planned
            ],
            ensure_ascii=False,
            indent=1,
        ),
    )
    return path
