"""Labels for people, in English and Chinese (zh-CN).

Identifiers stay English (``attainment``); what a reader sees comes from here.
"""

from __future__ import annotations

__all__ = ["LABELS", "LANGS", "label", "relabel"]

LANGS = ("en", "zh-CN")

LABELS: dict[str, tuple[str, str]] = {
    # key: (English, 简体中文)
    "name": ("Name", "名称"),
    "region": ("Region", "大区"),
    "team": ("Team", "团队"),
    "rep": ("Sales consultant", "销售顾问"),
    "company": ("Company", "公司"),
    "level": ("Level", "层级"),
    "node_id": ("ID", "编号"),
    "teams": ("Teams", "团队数"),
    "reps": ("Reps", "销售人数"),
    "new_hires": ("New hires", "新人"),
    "won": ("Won", "成交额"),
    "target": ("Target", "目标"),
    "quota": ("Quota", "指标"),
    "attainment": ("Attainment", "达成率"),
    "stage": ("Stage", "阶段"),
    "deals": ("Deals", "商机数"),
    "amount": ("Amount", "金额"),
    "weighted": ("Weighted", "加权金额"),
    "mean": ("Mean", "均值"),
    "p10": ("P10", "P10"),
    "p50": ("P50", "P50"),
    "p90": ("P90", "P90"),
    "p_attain": ("P(≥ quota)", "达标概率"),
    "qualification": ("Qualification", "线索确认"),
    "discovery": ("Discovery", "需求挖掘"),
    "proposal": ("Proposal", "方案报价"),
    "negotiation": ("Negotiation", "商务谈判"),
    "won_stage": ("Closed won", "赢单"),
    "lost": ("Closed lost", "输单"),
    "total": ("Total", "合计"),
    "revenue": ("Revenue", "销售额"),
    "collection_rate": ("Collection rate", "回款率"),
    "new_customers": ("New customers", "新客户数"),
    "visits": ("Visits", "拜访量"),
    "lead_conversion": ("Lead conversion", "线索转化率"),
    "proposals": ("Proposals", "方案提交数"),
    "payout": ("Payout", "提成"),
    "cost_of_sales": ("Cost of sales", "销售成本率"),
}


def label(key: str, lang: str = "en") -> str:
    """The label of ``key`` in ``lang``; the key itself when none is defined."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}; got {lang!r}")
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "en" else pair[1]


def relabel(columns, lang: str = "en") -> dict[str, str]:
    """A rename mapping for DataFrame columns."""
    return {c: label(c, lang) for c in columns}
