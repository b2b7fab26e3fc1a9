"""Words for people: metric names and amounts in English and Chinese (zh-CN).

Used by the evidence of alerts, the review pack and the deviation analysis. Identifiers
stay English; only what a reader sees comes from here.
"""

from __future__ import annotations

import math

from simlib.company import default_currency
from simlib.i18n import LANGS
from simlib.i18n import check_lang as _check
from simlib.money import format_money, format_percent

__all__ = ["METRIC_NAMES", "metric_name", "money", "pct", "company_currency", "LANGS"]


#: metric → (English, 简体中文)
METRIC_NAMES: dict[str, tuple[str, str]] = {
    "revenue": ("revenue", "销售额"),
    "attainment": ("revenue attainment", "销售额达成率"),
    "pace_attainment": ("attainment of pace", "进度达成率"),
    "collection_rate": ("collection rate", "回款率"),
    "new_customers": ("new customers won", "新客户数"),
    "visits": ("customer visits", "客户拜访量"),
    "qualified_visits": ("qualified visits", "有效拜访量"),
    "leads": ("new leads", "新线索数"),
    "qualified_leads": ("qualified leads", "合格线索数"),
    "lead_conversion": ("lead conversion", "线索转化率"),
    "win_rate": ("win rate", "赢单率"),
    "proposals": ("proposals submitted", "方案提交数"),
    "proposal_acceptance": ("proposal acceptance", "方案通过率"),
    "support": ("cross-region support", "跨区域协作"),
    "teamwork": ("cross-region support", "团队协作"),
    "nps": ("NPS", "客户净推荐值"),
    "market_share": ("market share", "市场份额"),
    "renewal_rate": ("renewal rate", "续约率"),
    "pipeline_created": ("new pipeline", "新增商机金额"),
    "deals_won": ("deals won", "成交单数"),
}

#: Metrics that are shares (shown as %), not counts or amounts.
RATE_METRICS = {
    "attainment",
    "pace_attainment",
    "collection_rate",
    "lead_conversion",
    "win_rate",
    "proposal_acceptance",
    "market_share",
    "renewal_rate",
}
MONEY_METRICS = {"revenue", "pipeline_created"}

#: Pace status (:func:`simlib.tracking.target_wall`) → (English, Chinese) words.
STATUS_NAMES: dict[str, tuple[str, str]] = {
    "ahead": ("ahead of pace", "超进度"),
    "on_pace": ("on pace", "符合进度"),
    "behind": ("behind pace", "落后进度"),
    "not_started": ("not started", "未开始"),
    "no_target": ("no target", "无目标"),
}

#: Pace status → status colour (``simlib.present.STATUS_COLORS``): a bar, a badge and the
#: words beside them always agree.
STATUS_LIGHT: dict[str, str] = {
    "ahead": "green",
    "on_pace": "amber",
    "behind": "red",
    "not_started": "grey",
    "no_target": "grey",
}


def metric_name(metric: str, lang: str = "en") -> str:
    """The reader's name of a metric."""
    _check(lang)
    pair = METRIC_NAMES.get(metric)
    if pair is None:
        return metric.replace("_", " ")
    return pair[0] if lang == "en" else pair[1]


def money(amount: float, lang: str = "en", currency: str = "CNY") -> str:
    """An amount as a reader expects it: ¥614,400 in English, 61.44万元 in Chinese."""
    _check(lang)
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "–"
    if lang == "zh-CN":
        return format_money(amount, currency, lang, unit="wan")
    return format_money(round(float(amount)), currency, lang, decimals=0)


def pct(x: float, decimals: int = 1) -> str:
    """0.153 → '15.3%'."""
    return format_percent(float(x) if x is not None else float("nan"), decimals)


def value(metric: str, x: float, lang: str = "en", currency: str = "CNY") -> str:
    """A metric's value in its own unit: %, money, NPS points or a count."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if metric in RATE_METRICS:
        return pct(x)
    if metric in MONEY_METRICS:
        return money(x, lang, currency)
    if metric == "nps":
        return f"{x:+.0f}"
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def company_currency() -> str:
    """The currency of ``params/company.yaml`` (CNY when it cannot be read)."""
    return default_currency()
