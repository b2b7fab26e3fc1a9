"""Early-warning alerts for people: ranked by severity, grouped by person, in words.

One path for the tracking dashboard and the team reviews: :func:`alert_words` turns the
ranked alerts of :func:`simlib.tracking.rank_alerts` into the reader's words (names, a
title per rule, the evidence in the page's units), :func:`alerts_html` shows them as one
fold per person, the most urgent first.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from simlib.i18n import escape as _esc
from simlib.i18n import translator
from simlib.present import MISSING, STATUS_COLORS, Col, Units, number, pct, table
from simlib.tracking import text

__all__ = ["SEVERITY", "alert_words", "alerts_html", "badge", "metric_label", "metric_value"]

#: severity → (en, zh-CN, status colour)
SEVERITY: dict[str, tuple[str, str, str]] = {
    "high": ("high", "高", "red"),
    "medium": ("medium", "中", "amber"),
    "low": ("low", "低", "grey"),
}

_t = translator(
    {
        "alerts": ("Active alerts", "当前预警"),
        "alerts_n": ("Active alerts ({n})", "当前预警（{n}）"),
        "no_alerts": ("No active alert.", "无当前预警。"),
        "alerts_note": (
            "Alerts active on {d}, checked weekly; ranked by severity and grouped by "
            "person, the most urgent first. The revenue alert judges the quarter to date "
            "against pace.",
            "截至{d}仍有效的预警（每周检查），按严重程度排序并按人员分组，最紧急的在前。"
            "销售额预警按季度至今的进度判断。",
        ),
        "person_line": (
            "{name} · {team} · {n} alert(s) · most severe: {sev}",
            "{name} · {team} · {n}条预警 · 最高级别：{sev}",
        ),
        # alert rules, by kind, with the metric's name
        "rule_threshold": ("{m} behind pace", "{m}落后进度"),
        "rule_streak": (
            "{m} below the team average, {n} weeks running",
            "{m}连续{n}周低于团队平均",
        ),
        "rule_relative": ("{m} well below the team average", "{m}明显低于团队平均"),
        "ev_threshold": (
            "{m} {v} is {r} of the {x} expected by pace ({s} to {e}); alert below {t}.",
            "{m}{v}，为按进度应达{x}的{r}（{s}至{e}）；低于{t}即预警。",
        ),
        "ev_streak": (
            "{m} {v} vs team average {x} ({s} to {e}); below the team {n} weeks running.",
            "{m}{v}，团队平均{x}（{s}至{e}）；已连续{n}周低于团队。",
        ),
        "ev_relative": (
            "{m} {v} vs team average {x}: {b} below ({s} to {e}); alert at {t} below.",
            "{m}{v}，团队平均{x}：低{b}（{s}至{e}）；低{t}即预警。",
        ),
    }
)

_COLUMNS = [
    "rep_id",
    "name",
    "team",
    "person_rank",
    "severity",
    "severity_label",
    "light",
    "rule",
    "raised_on",
    "weeks_active",
    "evidence",
    "diagnosis",
    "intervention",
]


def metric_label(m: str, lang: str) -> str:
    """A metric's name for people, capitalised."""
    s = text.metric_name(m, lang)
    return s[:1].upper() + s[1:]


def metric_value(m: str, v, units: Units) -> str:
    """A metric's value in the page's units: amounts with the unit, rates in %."""
    if m in text.MONEY_METRICS:
        return units.amount(v, unit=True)
    if m in text.RATE_METRICS:
        return pct(v)
    return number(v, 0 if float(v).is_integer() else 1)


def badge(light: str, words: str) -> str:
    """A coloured status badge (safe HTML)."""
    color = STATUS_COLORS.get(light, STATUS_COLORS["grey"])
    return f'<span class="simlib-badge" style="background:{color}">{_esc(words)}</span>'


def alert_words(
    ranked: pd.DataFrame,
    units: Units,
    name_of: Callable[[str], str | None],
    team_of: Callable[[str], str | None],
) -> pd.DataFrame:
    """The ranked alerts in the reader's words: the person's name and team (``name_of`` and
    ``team_of`` give them in the page's language, None when unknown), rule titles and
    evidence in the page's units (the engine's own sentences when a rule kind is not
    known here)."""
    L = units.lang
    rows = []
    for r in ranked.to_dict("records"):
        kind, m = r["kind"], r["metric"]
        metric = metric_label(m, L)
        s, e = str(r["window_start"])[:10], str(r["window_end"])[:10]
        v, x = metric_value(m, r["value"], units), metric_value(m, r["reference"], units)
        if kind == "threshold":
            rule = _t("rule_threshold", L, m=metric)
            ev = _t(
                "ev_threshold",
                L,
                m=metric,
                v=v,
                x=x,
                r=pct(r["ratio"], 0),
                s=s,
                e=e,
                t=pct(r["threshold"], 0),
            )
        elif kind == "streak":
            rule = _t("rule_streak", L, m=metric, n=int(r["streak"]))
            ev = _t("ev_streak", L, m=metric, v=v, x=x, s=s, e=e, n=int(r["streak"]))
        elif kind == "relative":
            rule = _t("rule_relative", L, m=metric)
            ev = _t(
                "ev_relative",
                L,
                m=metric,
                v=v,
                x=x,
                b=pct(r["shortfall"], 0),
                s=s,
                e=e,
                t=pct(1 - r["threshold"], 0),
            )
        else:
            rule = metric
            ev = r["evidence_zh" if L == "zh-CN" else "evidence"]
        sev = SEVERITY[r["severity"]]
        rep = r["rep_id"]
        rows.append(
            dict(
                rep_id=rep,
                name=name_of(rep) or r["name"],
                team=team_of(rep) or MISSING,
                person_rank=r["person_rank"],
                severity=r["severity"],
                severity_label=sev[L == "zh-CN"],
                light=sev[2],
                rule=rule,
                raised_on=r["raised_on"],
                weeks_active=r["weeks_active"],
                evidence=ev,
                diagnosis=r["diagnosis_zh" if L == "zh-CN" else "diagnosis"],
                intervention=r["intervention_zh" if L == "zh-CN" else "intervention"],
            )
        )
    return pd.DataFrame(rows, columns=_COLUMNS)


def alerts_html(
    words: pd.DataFrame, units: Units, as_of, *, open_people: int = 5, heading: str = "h4"
) -> str:
    """Alerts (from :func:`alert_words`) ranked by severity and grouped by person: one
    fold per person (the first ``open_people`` open), most severe first."""
    L = units.lang
    note = f'<p class="simlib-note">{_esc(_t("alerts_note", L, d=pd.Timestamp(as_of).date()))}</p>'
    if words.empty:
        return f"<{heading}>{_t('alerts', L)}</{heading}>{note}<p>{_t('no_alerts', L)}</p>"
    cols = [
        Col("severity_badge", "级别", "Severity", "html"),
        Col("rule", "预警", "Alert"),
        Col("raised_on", "开始于", "Since", "date"),
        Col("weeks_active", "持续周数", "Weeks active", "count"),
        Col("evidence", "依据", "Evidence"),
        Col("diagnosis", "诊断", "Diagnosis"),
        Col("intervention", "建议措施", "What to do"),
    ]
    a = words.assign(
        severity_badge=[badge(lt, s) for lt, s in zip(words["light"], words["severity_label"])]
    )
    parts = [f"<{heading}>{_t('alerts_n', L, n=len(a))}</{heading}>", note]
    for i, (_, g) in enumerate(a.groupby("person_rank", sort=True)):
        first = g.iloc[0]
        line = _t(
            "person_line",
            L,
            name=first["name"],
            team=first["team"],
            n=len(g),
            sev=first["severity_label"],
        )
        dot = badge(first["light"], first["severity_label"])
        parts.append(
            f'<details class="simlib-person"{" open" if i < open_people else ""}>'
            f"<summary>{dot} {_esc(line)}</summary>{table(g, cols, units)}</details>"
        )
    return "".join(parts)
