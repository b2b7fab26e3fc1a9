"""The demo company's report pack: every document of a review cycle and an index.

``render_pack`` renders, in one pool of warm kernels, what each role receives:

* director: the target-workshop summary, this quarter's attainment forecast and the
  commission summary of the last closed quarter (everyone);
* each manager: their team's weekly and monthly reviews;
* each rep: their own review pack (scorecard, pay, review).

It then writes ``index.html`` linking every document by role. Who may read a
document is part of its entry in the manifest (``audience``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
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
}


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
    plan: PackPlan, out_dir: Path, demo_seed: int | None = None
) -> list[tuple[Item, str, str]]:
    """(item, audience, label) for every document of the pack."""
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
    out = []
    for tname, params, audience, name, label in wanted:
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
) -> tuple[BatchResult, Path]:
    """Render the demo company's whole pack into ``out_dir``; returns (batch, index.html)."""
    out_dir = Path(out_dir)
    plan = plan_for(load_demo(seed=demo_seed), lang, n_trials)
    planned = pack_items(plan, out_dir, demo_seed)
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
        index = write_index(out_dir, plan, planned, batch)
    except OSError as e:
        raise ReportError(
            f"report pack index: {oserror_text(e)}; the reports themselves are in {out_dir}"
        ) from None
    return batch, index


def write_index(out_dir: Path, plan: PackPlan, planned, batch: BatchResult) -> Path:
    """``index.html``: every document of the pack, by role, with its status."""
    zh = plan.lang == "zh-CN"
    by_name = {r.name: r for r in batch.results}
    esc = html.escape

    def title(tname: str) -> str:
        en, cn = _TITLES.get(tname, (tname, tname))
        return cn if zh else en

    def link(item: Item, label: str) -> str:
        r = by_name.get(item.name)
        tname = Path(item.template).stem
        text = f"{esc(title(tname))} — {esc(label)}"
        if r is not None and r.ok:
            pdf = f' · <a href="{esc(item.name)}.pdf">PDF</a>' if r.pdf else ""
            return f'<li><a href="{esc(item.name)}.html">{text}</a>{pdf}</li>'
        why = esc(brief_error(r.error)) if r is not None and r.error else "not rendered"
        return f'<li class="failed">{text} — <b>{"失败" if zh else "failed"}</b>: {why}</li>'

    sections = {"director": [], "manager": {}, "rep": []}
    for item, audience, label in planned:
        role = audience.split(":")[0]
        if role == "manager":
            sections["manager"].setdefault(audience, []).append((item, label))
        else:
            sections[role].append((item, label))
    heads = {
        "director": ("Director — the whole company", "总监 — 全公司"),
        "manager": ("Managers — their team", "经理 — 本团队"),
        "rep": ("Reps — their own results and pay", "销售 — 本人业绩与提成"),
    }
    h = lambda k: heads[k][1] if zh else heads[k][0]  # noqa: E731
    parts = [f"<h2>{h('director')}</h2><ul>"]
    parts += [link(i, lab) for i, lab in sections["director"]]
    parts.append(f"</ul><h2>{h('manager')}</h2>")
    for _, entries in sections["manager"].items():
        parts.append(
            f"<h3>{esc(entries[0][1])}</h3><ul>"
            + "".join(link(i, lab) for i, lab in entries)
            + "</ul>"
        )
    parts.append(f"<h2>{h('rep')}</h2><ul class='reps'>")
    parts += [link(i, lab) for i, lab in sections["rep"]]
    parts.append("</ul>")
    ok, n = sum(r.ok for r in batch.results), len(planned)
    manifest = batch.manifest.relative_to(out_dir) if batch.manifest else None
    head = f"{plan.company} — {'报告包' if zh else 'report pack'}"
    summary = (
        f"数据截至 {plan.as_of}；{ok}/{n} 份报告已生成，用时 {batch.duration_s:.0f} 秒。"
        if zh
        else f"Data as of {plan.as_of}; {ok} of {n} reports rendered in {batch.duration_s:.0f} s."
    )
    body_css = (
        'body { font-family: system-ui, "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; '
        "margin: 2em auto; max-width: 60em; }"
    )
    # The run record is linked by name, not by its file name: a run id is no text for people
    # (and its random part can read like a number, e.g. ``71e5``).
    manifest_label = "本次运行记录（JSON）" if zh else "record of this run (JSON)"
    manifest_link = f'<a href="{esc(str(manifest))}">{manifest_label}</a>' if manifest else ""
    doc = f"""<!DOCTYPE html>
<html lang="{esc(plan.lang)}"><head><meta charset="utf-8">
<title>{esc(head)}</title>
<style>
{body_css}
ul.reps {{ columns: 3; }} li.failed {{ color: #b00020; }} .meta {{ color: #555; }}
</style></head><body>
<h1>{esc(head)}</h1>
<p class="meta">{esc(summary)} {manifest_link}</p>
{"".join(parts)}
</body></html>
"""
    path = out_dir / "index.html"
    _write_atomic(path, doc)  # whole or not at all, no temporary file left on a full disk
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
                }
                for i, a, lab in planned
            ],
            ensure_ascii=False,
            indent=1,
        ),
    )
    return path
