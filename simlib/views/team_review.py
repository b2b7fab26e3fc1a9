"""Team reviews and the rep's review pack: what the weekly and monthly review templates
and the rep pack template show (SPEC R7, R8, R16, R18, R20).

Each view is a pure function of its parameters (:func:`weekly_review`,
:func:`monthly_review`, :func:`rep_pack`) returning an object whose methods give one
displayable section per notebook cell. :func:`load_facts` prepares a company's facts
once per kernel for a batch of reports.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simlib import scorecard as sc
from simlib import tracking
from simlib.cache import Cache, memo_on
from simlib.data import load_source
from simlib.display import Markdown
from simlib.i18n import check_lang as _check_lang
from simlib.i18n import escape as _esc
from simlib.i18n import escape_md as _md
from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.plots import use_cjk_font
from simlib.present import MISSING, Col, Units
from simlib.present import table as present_table
from simlib.tracking import text
from simlib.tracking.facts import Facts
from simlib.tracking.reviews import _EFFECT_NAMES, _GROUP_NAMES
from simlib.views import governance as gov
from simlib.views import reach
from simlib.views.alerts import alert_words, alerts_html
from simlib.views.commission_summary import MIN_GROUP, rep_pay
from simlib.views.governance import (
    PlanAcknowledgement,
    RepAppeals,
    Section,
    TeamAppeals,
)

__all__ = [
    "Markdown",
    "MonthlyReview",
    "RepPack",
    "Table",
    "WeeklyReview",
    "load_facts",
    "monthly_review",
    "rep_pack",
    "weekly_review",
]


_STATUS = text.STATUS_NAMES


_WORDS = {
    "title": ("Sales tracking dashboard", "销售跟踪看板"),
    "period": ("Period", "周期"),
    "level": ("Level", "层级"),
    "node": ("Node", "节点"),
    "lang": ("Language", "语言"),
    "drill": ("Drill into", "下钻"),
    "up": ("Up", "上一级"),
    "children": ("Breakdown", "下级明细"),
    "alerts": ("Active alerts", "当前预警"),
    "no_alerts": ("No active alert.", "无当前预警。"),
    "alerts_note": (
        "Alerts active on {d} (rules of params/alerts.yaml, checked weekly).",
        "截至{d}仍有效的预警（params/alerts.yaml 规则，每周检查）。",
    ),
    "wall": ("Target wall", "目标墙"),
    "pareto": ("Customer Pareto", "客户帕累托"),
    "funnel": ("Funnel", "销售漏斗"),
    "trend": ("Revenue trend", "销售额趋势"),
    "name": ("Name", "名称"),
    "rep": ("Rep", "销售"),
    "rule": ("Rule", "规则"),
    "raised": ("Raised", "触发日"),
    "evidence": ("Evidence", "依据"),
    "diagnosis": ("Diagnosis", "诊断"),
    "intervention": ("Intervention", "建议措施"),
    "computed": ("computed in {s:.0f} ms", "计算耗时 {s:.0f} 毫秒"),
    "as_of": ("data to {d}", "数据截至{d}"),
}


def _w(key: str, lang: str) -> str:
    en, zh = _WORDS[key]
    return zh if lang == "zh-CN" else en


def _alerts_view(a: pd.DataFrame, lang: str) -> pd.DataFrame:
    zh = lang == "zh-CN"
    cols = ["rep_id", "name", "team_id", "rule_id", "raised_on", "weeks_active", "classification"]
    out = a[cols].copy()
    out["evidence"] = a["evidence_zh" if zh else "evidence"].to_numpy()
    out["diagnosis"] = a["diagnosis_zh" if zh else "diagnosis"].to_numpy()
    out["intervention"] = a["intervention_zh" if zh else "intervention"].to_numpy()
    return out.reset_index(drop=True)


def _table_html(
    df: pd.DataFrame, lang: str, currency: str, money_cols=(), pct_cols=(), names=None
) -> str:
    if df.empty:
        return ""
    out = df.copy()
    for col in money_cols:
        if col in out:
            out[col] = [text.money(v, lang, currency) for v in out[col]]
    for col in pct_cols:
        if col in out:
            out[col] = ["–" if v != v else text.pct(v) for v in out[col]]
    if "status" in out:
        out["status"] = [_STATUS.get(s, (s, s))[lang == "zh-CN"] for s in out["status"]]
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    if names:
        out = out.rename(columns=names)
    return out.to_html(index=False, escape=True, border=0, na_rep="–")


def load_facts(demo_seed: int | None = None, *, source: str = "", mapping: str = "") -> Facts:
    """The company's facts, prepared once per dataset (see :func:`simlib.data.load_source`;
    no ``source``: the demo company, ``demo_seed=None`` the shipped one)."""
    data = load_source(source, mapping, demo_seed)
    # One company at a time, kept while its data is unchanged (load_source returns the
    # same object then): a report batch renders many documents in one kernel.
    f = FACTS_CACHE.get(data.fingerprint, lambda: tracking.prepare(data))
    memo_on(f, "dataset", lambda: data)  # for the pay sections (clawbacks): the deals
    return f


def _dataset_of(f: Facts, data=None):
    """The dataset ``f`` was prepared from by :func:`load_facts` (or ``data``)."""
    return data if data is not None else memo_on(f, "dataset", lambda: None)


#: A company's prepared facts, by the fingerprint of its data.
FACTS_CACHE = Cache("tracking facts for reports", size=1)


class Table:
    """A titled table that displays as HTML in a notebook and as text elsewhere."""

    def __init__(
        self, title: str, frame: pd.DataFrame, html_text: str | None = None, note: str = ""
    ):
        self.title, self.frame, self._html, self.note = title, frame, html_text, note

    def _repr_html_(self) -> str:
        body = (
            self._html
            if self._html is not None
            else self.frame.to_html(index=False, border=0, na_rep="–")
        )
        note = f"<p>{_esc(self.note)}</p>" if self.note else ""
        return f"<h3>{_esc(self.title)}</h3>{body}{note}"

    def __repr__(self) -> str:
        """The same table as plain text (what the page shows, not the frame behind it)."""
        if self._html is None:
            body = self.frame.to_string(index=False)
        else:
            rows = re.findall(r"<tr[^>]*>(.*?)</tr>", self._html, flags=re.S)
            cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S) for r in rows]
            body = (
                "\n".join(
                    "  ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in row)
                    for row in cells
                )
                or html.unescape(re.sub(r"<[^>]+>", " ", self._html)).strip()
            )
        return "\n".join(x for x in (self.title, body, self.note) if x)


def _week_of(f: Facts, week_ending) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    t = pd.Timestamp(week_ending).normalize()
    if t > f.as_of:
        raise ValueError(f"week_ending {t.date()} is after the data's last day {f.as_of.date()}")
    weeks = f.calendar.working_weeks(t - pd.Timedelta(days=21), t + pd.Timedelta(days=6))
    wk = weeks[(weeks["start"] <= t) & (weeks["end"] >= t)].iloc[-1]
    return str(wk["week"]), pd.Timestamp(wk["start"]), t


@dataclass(frozen=True)
class WeeklyReview:
    """A team's week: each rep's progress against pace, the week's activity, alerts."""

    team: str
    team_name: str
    week: str
    start: pd.Timestamp
    as_of: pd.Timestamp
    period: str
    lang: str
    progress: pd.DataFrame = field(repr=False)
    week_metrics: pd.DataFrame = field(repr=False)
    alerts: pd.DataFrame = field(repr=False)
    currency: str = "CNY"
    facts: Any = field(default=None, repr=False, compare=False)

    def followups(self) -> Section:
        """The team's follow-ups overdue or due and renewals coming up on the week's last
        day, grouped by rep with a count (:func:`simlib.views.reach.followups_due`)."""
        return reach.followups_due(self.facts, self.team, self.units, as_of=self.as_of)

    def key_accounts(self) -> Section:
        """The team's key accounts not visited for too long on the week's last day
        (:func:`simlib.views.reach.key_accounts_idle`)."""
        return reach.key_accounts_idle(self.facts, self.team, self.units, as_of=self.as_of)

    def header(self) -> Markdown:
        if self.lang == "zh-CN":
            return Markdown(
                f"# {_md(self.team_name)} 周例会 — {self.week}\n\n"
                f"本周 {self.start.date()} 至 {self.as_of.date()}；进度按 {self.period} 截至"
                f" {self.as_of.date()} 的工作日计算。"
            )
        return Markdown(
            f"# {_md(self.team_name)} weekly review — {self.week}\n\n"
            f"Week {self.start.date()} to {self.as_of.date()}; pace is {self.period} to "
            f"{self.as_of.date()} by working days."
        )

    @property
    def units(self) -> Units:
        return Units(self.lang, currency=self.currency)

    def _names(self, frame: pd.DataFrame) -> list[str]:
        zh = self.lang == "zh-CN"
        if zh and "name_zh" in frame:
            return [
                z if isinstance(z, str) and z else n
                for z, n in zip(frame["name_zh"], frame["name"])
            ]
        return [str(n) for n in frame["name"]]

    def progress_table(self) -> Table:
        zh = self.lang == "zh-CN"
        p = self.progress.assign(
            label=self._names(self.progress),
            status_text=[_STATUS.get(s, (MISSING, MISSING))[zh] for s in self.progress["status"]],
        )
        cols = [
            Col("label", "姓名", "Name"),
            Col("actual", "实际", "Revenue", "amount"),
            Col("target", "目标", "Target", "amount"),
            Col("expected", "进度目标", "Expected by pace", "amount"),
            Col("attainment", "达成率", "Attainment", "pct"),
            Col("pace_attainment", "进度达成率", "Revenue vs pace", "pct"),
            Col("status_text", "状态", "Status"),
        ]
        title = (
            f"{self.period} 进度（截至{self.as_of.date()}）"
            if zh
            else f"Progress against pace, {self.period} to {self.as_of.date()}"
        )
        return Table(title, self.progress, present_table(p, cols, self.units))

    def wall(self):
        """Each rep's attainment of the month's target, coloured by the same pace status
        as the table's words, with the pace tick (the share of working days elapsed)."""
        from simlib.plots.tracking import status_wall

        p, zh = self.progress, self.lang == "zh-CN"
        lights = [text.STATUS_LIGHT.get(s, "grey") for s in p["status"]]
        legend = {
            text.STATUS_LIGHT[s]: text.STATUS_NAMES[s][zh]
            for s in ("ahead", "on_pace", "behind", "no_target")
        }
        return status_wall(
            [_plot_text(n) for n in self._names(p)],
            p["attainment"],
            p["pace"],
            lights,
            lang=self.lang,
            legend_labels=legend,
            title=_plot_text(f"{self.team_name} {self.period}"),
        )

    def week_table(self) -> Table:
        zh = self.lang == "zh-CN"
        m = self.week_metrics.assign(label=self._names(self.week_metrics))

        def metric(c, kind):
            return Col(c, text.metric_name(c, "zh-CN"), _cap(text.metric_name(c, "en")), kind)

        cols = [Col("label", "姓名", "Name"), metric("revenue", "amount")]
        cols += [
            metric(c, "count")
            for c in ("deals_won", "visits", "qualified_visits", "leads", "proposals")
        ]
        return Table(
            f"本周（{self.week}）" if zh else f"This week ({self.week})",
            self.week_metrics,
            present_table(m, cols, self.units),
        )

    def alerts_table(self) -> Table:
        """The team's active alerts, ranked by severity and grouped by person."""
        zh = self.lang == "zh-CN"
        names = dict(zip(self.progress["node_id"], self._names(self.progress)))
        words = alert_words(
            tracking.rank_alerts(self.alerts),
            self.units,
            names.get,
            lambda _rep: self.team_name,
        )
        return Table(
            f"预警（截至{self.as_of.date()}）" if zh else f"Alerts active on {self.as_of.date()}",
            words,
            alerts_html(words, self.units, self.as_of, open_people=99, heading="h4"),
        )


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def weekly_review(facts: Facts, team: str, week_ending, lang: str = "en") -> WeeklyReview:
    """A team's weekly review to ``week_ending``: pace is the month to that day."""
    _check_lang(lang)
    f = tracking.prepare(facts)
    week, start, t = _week_of(f, week_ending)
    period = f"{t.year}-{t.month:02d}"
    wall = tracking.target_wall(f, period, within=team, as_of=t)
    wm = tracking.metrics(f, (start, t), level="rep", within=team, as_of=t)
    # The company's alerts once per kernel, then this team's (the same rows as within=team).
    everyone = memo_on(f, ("alerts", t), lambda: tracking.alerts(f, t))
    al = everyone[everyone["team_id"] == team].reset_index(drop=True)
    names = f.nodes.drop_duplicates("node_id").set_index("node_id")
    tn = names.at[team, "name_zh" if lang == "zh-CN" else "name"]
    return WeeklyReview(
        team=team,
        team_name=str(tn),
        week=week,
        start=start,
        as_of=t,
        period=period,
        lang=lang,
        progress=wall.reset_index(drop=True),
        week_metrics=wm,
        alerts=al,
        currency=text.company_currency(),
        facts=f,
    )


@dataclass(frozen=True)
class MonthlyReview:
    """A team's month: the gap to plan decomposed (:func:`simlib.tracking.deviation`)."""

    deviation: Any
    team_name: str
    lang: str
    row: pd.Series = field(repr=False)
    currency: str = "CNY"
    team_appeals: TeamAppeals | None = field(default=None, repr=False)
    facts: Any = field(default=None, repr=False, compare=False)
    data: Any = field(default=None, repr=False, compare=False)
    plan: str | None = "tiered_cn"

    @property
    def units(self) -> Units:
        return Units(self.lang, currency=self.currency)

    @property
    def _team(self) -> str:
        return str(self.deviation.node_id)

    def lead_sources(self) -> Section:
        """The team's lead-source conversion over the twelve months to the month's end,
        with its interval (:func:`simlib.views.reach.lead_sources`)."""
        return reach.lead_sources(self.facts, self._team, self.deviation.period, self.units)

    def drill(self) -> Section:
        """The month by product line and by customer type (:func:`simlib.views.reach.drill`)."""
        return reach.drill(self.facts, self._team, self.deviation.period, self.units)

    def key_accounts(self) -> Section:
        """Key-account follow-up coverage per rep on the month's last day."""
        return reach.key_account_coverage(self.facts, self._team, self.deviation.period, self.units)

    def milestones(self) -> Section:
        """The milestones of the team and its reps, on the month's last day."""
        f = self.facts
        end = min(_period_end(self.deviation.period), f.as_of)
        return reach.milestones(
            f, self.units, nodes=reach.milestone_nodes(f, self._team), as_of=end
        )

    def clawbacks(self) -> Section:
        """Commission taken back on the team's deals reversed in the month (under
        ``plan``; :func:`simlib.views.reach.clawbacks`)."""
        return reach.clawbacks(
            _dataset_of(self.facts, self.data),
            self.facts,
            self.plan,
            self.deviation.period,
            self._team,
            self.units,
        )

    def header(self) -> Markdown:
        d, zh = self.deviation, self.lang == "zh-CN"
        u = self.units
        m = lambda x: u.amount(x, unit=True)  # noqa: E731
        if zh:
            return Markdown(
                f"# {_md(self.team_name)} 月度复盘 — {d.period}\n\n"
                f"计划（截至{d.as_of.date()}）**{m(d.plan)}**，实际 **{m(d.actual)}**，"
                f"差额 **{u.amount(d.gap, unit=True, sign=True)}**。计划结构取自 "
                f"{d.baseline[0].date()} 至 {d.baseline[1].date()} 的成交。"
            )
        return Markdown(
            f"# {_md(self.team_name)} monthly review — {d.period}\n\n"
            f"Plan (to {d.as_of.date()}) **{m(d.plan)}**, actual **{m(d.actual)}**, "
            f"gap **{u.amount(d.gap, unit=True, sign=True)}**. The plan's composition comes "
            f"from the deals won {d.baseline[0].date()} to {d.baseline[1].date()}."
        )

    def decomposition(self) -> Table:
        d, zh = self.deviation, self.lang == "zh-CN"
        u = self.units
        t = d.table.copy()
        groups = {**{g: v[zh] for g, v in _GROUP_NAMES.items()}, "total": "合计" if zh else "Total"}
        t["group"] = t["customer_group"].map(groups).fillna(t["customer_group"])

        def signed(v):
            return u.amount(v, sign=True)

        cols = [
            Col("group", "客户类别", "Customer group"),
            Col("plan", "计划", "Plan", "amount"),
            Col("actual", "实际", "Actual", "amount"),
            *(Col(e, v[1], _cap(v[0]), "amount", fmt=signed) for e, v in _EFFECT_NAMES.items()),
            Col("gap", "差额", "Gap", "amount", fmt=signed),
        ]
        note = (
            "每行：数量 + 单价 + 结构 = 差额；新客户 + 老客户 = 合计（按分精确核对）。"
            if zh
            else "Each row: volume + price + mix = gap; new + existing = total "
            "(checked to the cent)."
        )
        return Table(
            "偏差分解" if zh else "Gap to plan, decomposed",
            d.table,
            present_table(
                t, cols, u, row_class=lambda r: "total" if r["customer_group"] == "total" else ""
            ),
            note,
        )

    def check(self) -> Markdown:
        """Run :meth:`Deviation.check` (every sum holds to the cent) and say so."""
        d, zh = self.deviation, self.lang == "zh-CN"
        d.check()
        n = len(d.table)
        return Markdown(
            f"**核对通过**：{n} 行中，数量 + 单价 + 结构均与差额按分完全一致，各类别之和等于合计。"
            if zh
            else f"**Check passed**: in all {n} rows volume + price + mix equals the gap to the "
            "cent, and the groups add up to the total."
        )

    def segments(self) -> Table:
        zh = self.lang == "zh-CN"
        s = self.deviation.segments.copy()
        groups = {g: v[zh] for g, v in _GROUP_NAMES.items()}
        s["group"] = s["customer_group"].map(groups).fillna(s["customer_group"])
        cols = [
            Col("group", "客户类别", "Customer group"),
            Col("segment", "产品线", "Product line"),
            Col("plan_revenue", "计划销售额", "Plan revenue", "amount"),
            Col("actual_revenue", "实际销售额", "Actual revenue", "amount"),
            Col("plan_deals", "计划单数", "Plan deals", "number", decimals=1),
            Col("actual_deals", "实际单数", "Actual deals", "count"),
            Col("plan_avg_deal", "计划平均单价", "Plan average deal", "amount"),
            Col("actual_avg_deal", "实际平均单价", "Actual average deal", "amount"),
        ]
        return Table(
            "按产品线" if zh else "By product line",
            self.deviation.segments,
            present_table(s, cols, self.units),
        )

    def actions(self) -> Markdown:
        a, zh = self.deviation.actions, self.lang == "zh-CN"
        col = "action_zh" if zh else "action"
        u = self.units
        # the engine's sentences carry the amount in yuan: say it in the page's unit
        said = [
            str(x).replace(text.money(-amt, self.lang, self.currency), u.amount(-amt, unit=True))
            for x, amt in zip(a[col], a["amount"])
        ]
        items = [f"- {_md(x)}" for x in said] or [
            "- 无明显缺口" if zh else "- no material shortfall"
        ]
        return Markdown(("## 建议措施\n\n" if zh else "## Proposed actions\n\n") + "\n".join(items))

    def appeals(self) -> Section:
        """The team's appeals of the month from the governance ledger (filed or decided in
        it, or still open from before), with their outcomes and a one-line count; one line
        when the ledger has none (see :func:`simlib.views.governance.team_appeals`)."""
        from simlib.views.governance import team_appeals

        ta = self.team_appeals or team_appeals(None, self.deviation.node_id, self.deviation.period)
        return ta.html(self.units)

    def figure(self):
        """A waterfall of the total gap: plan → volume → price → mix → actual, in the
        page's unit (万元 / ¥M), the axis starting near the smallest bar so the effects
        can be seen, green for what adds and red for what takes away."""
        from matplotlib.figure import Figure

        from simlib.present import STATUS_COLORS, Units

        use_cjk_font()
        d, zh = self.deviation, self.lang == "zh-CN"
        u = Units(self.lang, currency=self.currency)
        tot = d.table.set_index("customer_group").loc["total"]
        steps = [("计划" if zh else "Plan", d.plan, 0.0)]
        base = d.plan
        for e in ("volume", "price", "mix"):
            steps.append((_EFFECT_NAMES[e][zh], tot[e], base))
            base += tot[e]
        steps.append(("实际" if zh else "Actual", d.actual, 0.0))
        fig = Figure(figsize=(8, 3.6), dpi=100)  # not pyplot: shown once in a notebook
        ax = fig.add_subplot()
        tops, bottoms = [], []
        for i, (_lab, v, b) in enumerate(steps):
            ends = i in (0, len(steps) - 1)
            color = "#607d8b" if ends else STATUS_COLORS["green" if v >= 0 else "red"]
            bottom = b if v >= 0 or ends else b + v
            ax.bar(i, abs(v), bottom=bottom, color=color, width=0.6)
            label = u.amount(v, unit=True, sign=not ends)
            ax.text(i, bottom + abs(v), label, ha="center", va="bottom", fontsize=8)
            tops.append(bottom + abs(v))
            bottoms.append(bottom if not ends else min(v, b + v))
        lo, hi = min(bottoms + [min(tops)]), max(tops)
        span = max(hi - lo, abs(hi) * 0.05, 1.0)
        ax.set_ylim(max(0.0, lo - 0.6 * span) if lo >= 0 else lo - 0.2 * span, hi + 0.25 * span)
        ax.set_xticks(range(len(steps)), [s[0] for s in steps])
        u.format_axis(ax, "y", zh="金额", en="Amount")
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_title(_plot_text(f"{self.team_name} {d.period}"), fontsize=10, loc="left")
        fig.tight_layout()
        return fig


def monthly_review(
    facts: Facts,
    team: str,
    month: str,
    lang: str = "en",
    *,
    ledger: str | None = "",
    plan: str | None = "tiered_cn",
    data=None,
) -> MonthlyReview:
    """A team's monthly review: :func:`simlib.tracking.deviation`, the month's metrics
    and the team's appeals of the month from the governance ledger at ``ledger`` (a URL;
    empty: ``$SIMLIB_LEDGER`` or ``params/appeals.yaml``; None: not read). A ledger not
    created yet is not created: the appeals section says so. The clawbacks are those of
    ``plan`` on ``data`` (default: the dataset :func:`load_facts` prepared ``facts``
    from)."""
    _check_lang(lang)
    f = tracking.prepare(facts)
    dev = tracking.deviation(f, team, month)
    m = tracking.metrics(
        f,
        month,
        level=f.nodes.drop_duplicates("node_id").set_index("node_id").at[team, "level"],
        within=team,
    )
    names = f.nodes.drop_duplicates("node_id").set_index("node_id")
    tn = names.at[team, "name_zh" if lang == "zh-CN" else "name"]
    return MonthlyReview(
        deviation=dev,
        team_name=str(tn),
        lang=lang,
        row=m[m["node_id"] == team].iloc[0],
        currency=text.company_currency(),
        team_appeals=_read_ledger(
            f, ledger, lambda led, on: gov.team_appeals(led, team, month, on=on, lang=lang)
        ),
        facts=f,
        data=_dataset_of(f, data),
        plan=plan,
    )


def _read_ledger(f: Facts, url: str | None, read):
    """``read(ledger, on)`` on the report's ledger (None when not created yet), closed
    after; ``on`` is the day overdue is judged on (:func:`governance.judged_on`)."""
    if url is None:
        return None
    led = gov.open_report_ledger(f, url)
    try:
        return read(led, gov.judged_on(led, f.as_of))
    finally:
        if led is not None:
            led.close()


_PACK: dict[str, tuple[str, str]] = {
    "quarterly": (
        "Your team is evaluated quarterly: this review covers {period}.",
        "你所在团队按季度考核：本次评估为 {period}。",
    ),
    "small_team": (
        "Team figures are not shown: your team has fewer than {k} reps, so a team average, "
        "a rank in the team or a comparison with the team would reveal a colleague's own "
        "figures (k-anonymity, k = {k}).",
        "团队人数少于{k}人，不显示团队平均、团队排名及与团队的比较，"
        "以免推知同事的个人数据（k-匿名，k = {k}）。",
    ),
    "hidden": ("vs the team average: not shown", "与团队平均的比较：不显示"),
}


def _p(key: str, lang: str, **kw) -> str:
    en, zh = _PACK[key]
    return (zh if lang == "zh-CN" else en).format(**kw)


class Preformatted:
    """Plain text shown as is: an escaped ``<pre>`` block in HTML, itself elsewhere."""

    def __init__(self, data: str):
        self.data = data

    def _repr_html_(self) -> str:
        return f"<pre>{_esc(self.data)}</pre>"

    def __repr__(self) -> str:
        return self.data


@dataclass(frozen=True)
class RepPack:
    """One rep's review pack: only the rep's own row, team averages, anonymised rank, and
    the rep's own pay (:meth:`pay`: the team only as total, average and rank).

    Every text is scrubbed of other people's names (a mentor named in a support offer
    becomes "a top seller of the team"), and nothing per other rep is kept.

    In a team of fewer than :data:`~simlib.views.commission_summary.MIN_GROUP` reps
    (``small_team``) every team figure would reveal a colleague's (with two reps, twice
    the team average less one's own value is the other's), so none is kept: no team average,
    rank in the team, target or score set against the team average, comparison with the
    team (strengths, gaps, the targets and support offers drawn from them) or team
    honour; the pack says why, in its language.

    Every name and text from data is escaped for where it goes (Markdown:
    :func:`simlib.i18n.escape_md`; HTML: :func:`simlib.i18n.escape`).
    """

    rep_id: str
    name: str
    lang: str
    period: str
    summary: pd.Series = field(repr=False)
    kpis: pd.DataFrame = field(repr=False)
    honours: pd.DataFrame = field(repr=False)
    explanation: str = ""
    markdown: str = ""
    pay_section: Any = field(default=None, repr=False)  # simlib.views.commission_summary.RepPay
    small_team: bool = False
    own_appeals: RepAppeals | None = field(default=None, repr=False)
    plan_acks: tuple[PlanAcknowledgement, ...] | None = field(default=None, repr=False)
    #: Said when the rep is evaluated on another cycle than the period asked for.
    cycle_note: str = ""
    facts: Any = field(default=None, repr=False, compare=False)
    data: Any = field(default=None, repr=False, compare=False)
    plan: str | None = "tiered_cn"

    def my_followups(self) -> Section:
        """The rep's own follow-ups overdue or due and renewals coming up, on the data's
        last day."""
        return reach.followups_due(self.facts, self.rep_id, self._yuan, own=True)

    def my_leads(self) -> Section:
        """The rep's open leads ranked by their chance to convert (the top 10), with the
        main reason in words."""
        return reach.open_leads(self.facts, self.rep_id, self._yuan, top=10)

    def my_milestones(self) -> Section:
        """The rep's own milestones (params/milestones.yaml), on the data's last day."""
        return reach.milestones(self.facts, self._yuan, nodes={self.rep_id}, own=True)

    def my_clawbacks(self) -> Section:
        """Commission taken back on the rep's deals reversed in the review period."""
        return reach.clawbacks(
            _dataset_of(self.facts, self.data),
            self.facts,
            self.plan,
            self.period,
            self.rep_id,
            self._yuan,
            own=True,
        )

    def privacy_note(self) -> str:
        """Why team figures are not shown ("" when they are)."""
        return _p("small_team", self.lang, k=MIN_GROUP) if self.small_team else ""

    def header(self) -> Markdown:
        zh = self.lang == "zh-CN"
        s = self.summary
        who = _md(self.name)
        note = f"\n\n{_md(self.privacy_note())}" if self.small_team else ""
        if self.cycle_note:
            note = f"\n\n{_md(self.cycle_note)}" + note
        if zh:
            team = (
                ""
                if self.small_team
                else f"，团队第 {int(s['team_rank'])}/{int(s['team_size'])} 名"
            )
            return Markdown(
                f"# {who} — {self.period} 个人评估\n\n"
                f"综合得分 **{s['score']:.1f}**；全公司第 {int(s['rank'])}/{int(s['reps'])} 名"
                f"{team}（前 {s['percentile_top']:.0%}）。{note}"
            )
        team = (
            ""
            if self.small_team
            else f", {int(s['team_rank'])} of {int(s['team_size'])} in the team"
        )
        return Markdown(
            f"# {who} — review {self.period}\n\n"
            f"Score **{s['score']:.1f}**; rank {int(s['rank'])} of {int(s['reps'])} in the "
            f"company{team} (top {s['percentile_top']:.0%}).{note}"
        )

    def scorecard(self) -> Table:
        zh = self.lang == "zh-CN"
        k = self.kpis
        # the values are already worded per KPI (amount, %, count): shown as they are,
        # right-aligned as numbers; "–" (hidden or none) reads as the page's "—"
        cols = [Col("label", "指标", "KPI")] + [
            Col(key, zh_, en, "number", fmt=str)
            for key, zh_, en in (
                ("value", "本人", "You"),
                ("target", "目标", "Target"),
                ("team_value", "团队平均", "Team average"),
                ("ratio", "达成", "Vs target"),
                ("weight", "权重", "Weight"),
                ("contribution", "得分", "Points"),
            )
            if key in k.columns
        ]
        shown = k.replace({"–": MISSING})
        if self.small_team:
            title = "个人计分卡（仅本人）" if zh else "Scorecard (you only)"
        else:
            title = (
                "个人计分卡（仅本人与团队平均）"
                if zh
                else "Scorecard (you and the team average only)"
            )
        units = Units(self.lang)
        return Table(title, k, present_table(shown, cols, units), self.privacy_note())

    def explain(self) -> Preformatted:
        return Preformatted(self.explanation)

    def honours_list(self) -> Markdown:
        zh = self.lang == "zh-CN"
        h = self.honours
        if h.empty:
            return Markdown("## 荣誉\n\n- 本期无" if zh else "## Honours\n\n- none this period")
        items = [
            f"- **{_md(r['award_name_zh' if zh else 'award_name'])}** "
            f"({_md(r['scope_label'])}): {_md(r['reason_text'])}"
            for _, r in h.iterrows()
        ]
        return Markdown(("## 荣誉\n\n" if zh else "## Honours\n\n") + "\n".join(items))

    def review(self) -> Markdown:
        return Markdown(self.markdown)

    @property
    def _yuan(self) -> Units:
        return Units(self.lang, scale="yuan", currency=text.company_currency())

    def my_appeals(self) -> Section:
        """The rep's own appeals from the governance ledger: the open ones with their
        decision due dates, and those decided since the review period began."""
        ra = self.own_appeals or gov.rep_appeals(None, self.rep_id, _period_start(self.period))
        return ra.html(self._yuan)

    def plan_acknowledged(self) -> Section:
        """The plan version the rep acknowledged (签字确认) against the approved one."""
        items = list(self.plan_acks) if self.plan_acks is not None else []
        if self.plan_acks is None:
            items = gov.plan_acknowledgement(None, self.rep_id)
        return gov.plan_acknowledgement_html(items, self.lang, who=self.name)

    def pay(self):
        """The rep's own commission for the plan period containing the review period,
        with the team only as total, average and the rep's rank (see
        :func:`simlib.views.commission_summary.rep_pay`)."""
        if self.pay_section is None:
            zh = self.lang == "zh-CN"
            return Markdown(
                "## 提成\n\n- 未指定提成方案" if zh else "## Pay\n\n- no commission plan given"
            )
        return self.pay_section


def _scrub(s: str, others: list[str], lang: str) -> str:
    """Replace other people's names in ``s`` by a neutral phrase."""
    word = "团队销冠" if lang == "zh-CN" else "a top seller of the team"
    for n in sorted({o for o in others if isinstance(o, str) and o}, key=len, reverse=True):
        s = s.replace(n, word)
    return s.replace("a top seller (a top seller of the team)", "a top seller of the team").replace(
        "销冠团队销冠", "团队销冠"
    )


def _in_yuan(targets: pd.DataFrame, col: str, lang: str) -> list[str]:
    """The next targets' sentences with a money target in yuan (the rep pack's one unit:
    its pay section is to the cent) instead of the engine's 万元."""
    cur = text.company_currency()
    yuan = Units(lang, scale="yuan", currency=cur)
    out = []
    for r in targets.to_dict("records"):
        sentence = str(r[col])
        if r.get("kpi") in text.MONEY_METRICS and r.get("target") == r.get("target"):
            said = text.money(r["target"], lang, cur)
            sentence = sentence.replace(said, yuan.amount(r["target"], unit=True, decimals=0))
        out.append(sentence)
    return out


def _review_markdown(pack, name: str, lang: str, small: bool, others: list[str]) -> str:
    """The review (strengths, gaps with data, next targets, support) as Markdown, every
    text from data escaped; in a small team without anything drawn from the team."""
    zh = lang == "zh-CN"
    none = "- 无" if zh else "- none"

    def items(texts) -> list[str]:
        return [f"- {_md(_scrub(str(x), others, lang))}" for x in texts] or [none]

    col = "sentence_zh" if zh else "sentence"
    title = "绩效面谈" if zh else "Performance review"
    score = f"{'综合得分' if zh else 'Score'}: **{pack.score:.1f}** — "
    if zh:
        score += f"全公司第{pack.rank}/{pack.reps}名"
        score += "" if small else f"，团队第{pack.team_rank}/{pack.team_size}名"
    else:
        score += f"rank {pack.rank} of {pack.reps}"
        score += "" if small else f", {pack.team_rank} of {pack.team_size} in the team"
    out = [f"## {title}"]  # the page's title (name, period, score) is the header's
    targets, support = pack.targets, pack.support
    if small:
        # Strengths, gaps and the targets and training drawn from them compare with the
        # team average; the diagnosis behind a mentoring or leads offer compares with the
        # team too. Only the own quota and the manager's coaching remain.
        out += ["", "## 优势与待改进" if zh else "## Strengths and gaps", ""]
        out.append(_md(_p("small_team", lang, k=MIN_GROUP)))
        targets = targets[targets["basis"] == "quota"]
        support = support[support["kind"] == "coaching"]
        if support.empty:
            support = pd.DataFrame(
                {
                    "kind": ["coaching"],
                    "offer": ["Regular one-to-one coaching with the manager"],
                    "offer_zh": ["主管定期一对一辅导"],
                }
            )
    else:
        for head, frame in (
            (("优势", "Strengths"), pack.strengths),
            (("待改进", "Gaps"), pack.gaps),
        ):
            out += ["", f"## {head[0] if zh else head[1]}", ""]
            out += items(frame[col])
    nxt = "下期改进目标" if zh else f"Targets for {_md(pack.next_period)}"
    out += ["", f"## {nxt}", ""]
    out += items(_in_yuan(targets, col, lang))
    out += ["", f"## {'支持措施' if zh else 'Support offered'}", ""]
    out += items(support["offer_zh" if zh else "offer"])
    return "\n".join(out) + "\n"


def _small_team_explanation(row: pd.Series, d: pd.DataFrame, period: str, n: int, lang: str) -> str:
    """:meth:`simlib.scorecard.Scorecard.explain` without the team: no rank in the team, and
    no target, ratio or points of a KPI whose target is the team average."""
    zh = lang == "zh-CN"
    cur = text.company_currency()
    lines = [
        f"{row['name']}：{period} 综合得分 {row['score']:.1f}，排名 {int(row['rank'])}/{n}"
        if zh
        else f"{row['name']}: {period} score {row['score']:.1f}, rank {int(row['rank'])} of {n}"
    ]
    for r in d.itertuples():
        lab = r.label_zh if zh else r.label
        if r.target_basis == "team average":
            v = text.value(r.kpi, r.value, lang, cur)
            lines.append(f"  {lab}: {v} ({_p('hidden', lang)}) × {r.effective_weight:.1%}")
            continue
        if r.normalised != r.normalised:
            lines.append(f"  {lab}: –  ({r.note_zh if zh else r.note})")
            continue
        cap = (" 已封顶" if zh else " capped") if r.capped else ""
        lines.append(
            f"  {lab}: {text.value(r.kpi, r.value, lang, cur)} / "
            f"{text.value(r.kpi, r.target, lang, cur)} = {r.ratio:.0%}{cap} × "
            f"{r.effective_weight:.1%} → {r.contribution:.1f}"
        )
    return "\n".join(lines)


def _period_start(period: str):
    from simlib.periods import parse_period

    return parse_period(period).start


def _period_end(period: str) -> pd.Timestamp:
    from simlib.periods import parse_period

    return pd.Timestamp(parse_period(period).end)


def _plan_name(plan: str | None) -> str | None:
    """The ledger's name of a plan given by name or by file (its stem)."""
    if plan is None:
        return None
    p = str(plan)
    return Path(p).stem if p.endswith((".yaml", ".yml")) else p


def rep_pack(
    facts: Facts,
    rep_id: str,
    period: str,
    lang: str = "en",
    *,
    plan: str | None = "tiered_cn",
    ledger: str | None = "",
    data=None,
) -> RepPack:
    """One rep's scorecard, honours and review content (strengths, gaps with data, next
    targets, support), and their own pay under ``plan`` (None: no pay section), with no
    other rep's figures or names; in a team of fewer than
    :data:`~simlib.views.commission_summary.MIN_GROUP` reps, no team figure at all (see
    :class:`RepPack`). From the governance ledger at ``ledger`` (a URL; empty:
    ``$SIMLIB_LEDGER`` or ``params/appeals.yaml``; None: not read), read as the rep: their
    own appeals and where they stand on ``plan`` (and any plan they acknowledged)."""
    _check_lang(lang)
    f = tracking.prepare(facts)
    # a rep of a team evaluated quarterly is reviewed on the quarter (params/scorecard.yaml)
    asked, period = period, sc.evaluation_period(f, rep_id, period)
    cycle_note = _p("quarterly", lang, period=period) if period != asked else ""
    key = sc.params_key()
    card = memo_on(f, ("scorecard", period, key), lambda: sc.scorecard(f, period))
    tab = card.table.set_index("rep_id")
    if rep_id not in tab.index:
        raise ValueError(f"{rep_id!r} has no scorecard for {card.period}")
    row = tab.loc[rep_id]
    others = f.reps.loc[f.reps["rep_id"] != rep_id, ["name", "name_zh"]].to_numpy().ravel().tolist()
    small = int(row["team_size"]) < MIN_GROUP
    summary = pd.Series(
        {
            "score": float(row["score"]),
            "rank": int(row["rank"]),
            "reps": len(tab),
            "team_rank": None if small else int(row["team_rank"]),
            "team_size": int(row["team_size"]),
            "percentile_top": 1.0 - float(row["percentile"]) + 1.0 / len(tab),
            "team_id": row["team_id"],
        }
    )
    d = card.detail[card.detail["rep_id"] == rep_id]
    zh = lang == "zh-CN"
    cur = text.company_currency()
    # in a small team a target set at the team average is the team average
    hide = (d["target_basis"] == "team average").to_numpy() & small
    yuan = Units(lang, scale="yuan", currency=cur)

    def value(k, v) -> str:
        """A KPI's value; amounts in yuan like the pay section below (one unit a page)."""
        if k in text.MONEY_METRICS or k == "revenue_attainment":
            return MISSING if v != v else yuan.amount(v, unit=True, decimals=0)
        return text.value(k, v, lang, cur)

    kpis = pd.DataFrame(
        {
            "label": d["label_zh" if zh else "label"].to_numpy(),
            "value": [value(k, v) for k, v in zip(d["kpi"], d["value"])],
            "target": ["–" if h else value(k, v) for k, v, h in zip(d["kpi"], d["target"], hide)],
            "team_value": [value(k, v) for k, v in zip(d["kpi"], d["team_value"])],
            "ratio": ["–" if h or v != v else text.pct(v, 0) for v, h in zip(d["ratio"], hide)],
            "weight": [text.pct(v, 1) for v in d["effective_weight"]],
            "contribution": ["–" if h else f"{v:.1f}" for v, h in zip(d["contribution"], hide)],
        }
    )
    if small:
        kpis = kpis.drop(columns="team_value")
    hon = memo_on(f, ("honours", period, key), lambda: sc.honours(f, period, card=card))
    hon = hon[hon["rep_id"] == rep_id]
    if small:  # "the most in the team" is a rank in the team
        hon = hon[hon["scope"] != row["team_id"]]
    hon = hon.reset_index(drop=True)
    # the scope by name (the company, or the team), the amount in yuan like the pay section
    node_names = f.nodes.drop_duplicates("node_id").set_index("node_id")
    hon["scope_label"] = [
        ("全公司" if zh else "company")
        if sc_ == "company"
        else str(
            node_names.at[sc_, "name_zh" if zh else "name"] if sc_ in node_names.index else sc_
        )
        for sc_ in hon["scope"]
    ]
    reason = hon["reason_zh" if zh else "reason"].astype(str)
    hon["reason_text"] = [
        t.replace(text.money(v, lang, cur), yuan.amount(v, unit=True, decimals=0))
        if isinstance(v, (int, float)) and v == v
        else t
        for t, v in zip(reason, hon["value"])
    ]
    pack = sc.review_pack(f, rep_id, period, card=card)
    name = pack.name_zh if zh and pack.name_zh else pack.name
    md = _review_markdown(pack, name, lang, small, others)
    if small:
        expl = _small_team_explanation(row, d, card.period, len(tab), lang)
    else:
        expl = card.explain(rep_id, lang)
    if expl.startswith(str(row["name"])):  # the rep in the page's language
        expl = name + expl[len(str(row["name"])) :]
    expl = _scrub(expl, others, lang)
    pay = None
    if plan is not None:
        pay = rep_pay(f, rep_id, card.period, plan, lang=lang)
    since = _period_start(card.period)
    plans = [n for n in (_plan_name(plan),) if n]
    gov_read = _read_ledger(
        f,
        ledger,
        lambda led, on: (
            gov.rep_appeals(led, rep_id, since, on=on, lang=lang),
            tuple(gov.plan_acknowledgement(led, rep_id, plans)),
        ),
    )
    own_appeals, acks = gov_read if gov_read is not None else (None, None)
    return RepPack(
        rep_id=rep_id,
        name=name,
        lang=lang,
        period=card.period,
        summary=summary,
        kpis=kpis,
        honours=hon,
        explanation=expl,
        markdown=md,
        pay_section=pay,
        small_team=small,
        own_appeals=own_appeals,
        plan_acks=acks,
        cycle_note=cycle_note,
        facts=f,
        data=_dataset_of(f, data),
        plan=plan,
    )
