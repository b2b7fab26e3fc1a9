"""Words, numbers and units for people, in English and Chinese (zh-CN).

The one home for what a reader sees: the languages, the check of a ``lang`` argument,
a translator over ``(English, 简体中文)`` tables, the amount unit of each language
(万 in zh-CN, M in English), column labels, and the escaping of text that comes from
data before it reaches HTML or Markdown. Identifiers stay English (``attainment``);
text tables of a module stay beside it and go through :func:`translator`.

>>> t = translator({"won": ("{n} deals won", "成交 {n} 单")})
>>> t("won", "zh-CN", n=3), t("won", "en", n=3)
('成交 3 单', '3 deals won')
>>> pick("zh-CN", "Team", "团队"), amount_unit("zh-CN"), amount_unit("en")
('团队', 'wan', 'm')
>>> escape("<script>alert(1)</script> & Co")
'&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co'
>>> print(escape_md("*bold* [x](javascript:alert(3)) <b>"))
\\*bold\\* \\[x\\](javascript:alert(3)) &lt;b&gt;
>>> print(plain_text_for_plot("$x^2$ costs $5"))
\\$x^2\\$ costs \\$5
>>> label("attainment", "zh-CN")
'达成率'
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

__all__ = [
    "LABELS",
    "LANGS",
    "amount_unit",
    "check_lang",
    "escape",
    "escape_md",
    "is_zh",
    "label",
    "pick",
    "plain_text_for_plot",
    "relabel",
    "translator",
]

#: The languages every screen and report can be read in.
LANGS = ("en", "zh-CN")


def check_lang(lang: str) -> None:
    """Raise ``ValueError`` unless ``lang`` is one of :data:`LANGS`."""
    if lang not in LANGS:
        raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")


def is_zh(lang: str) -> bool:
    """True for Chinese (zh-CN)."""
    return lang == "zh-CN"


def pick(lang: str, en: str, zh: str) -> str:
    """``zh`` in Chinese, ``en`` otherwise."""
    return zh if lang == "zh-CN" else en


def translator(table: dict[str, tuple[str, str]]) -> Callable[..., str]:
    """``t(key, lang, **fields)``: the (en, zh-CN) pair of ``table[key]``, formatted."""

    def t(key: str, lang: str, **kw) -> str:
        en, zh = table[key]
        s = zh if lang == "zh-CN" else en
        return s.format(**kw) if kw else s

    return t


def amount_unit(lang: str) -> str:
    """The unit amounts are shown in: ``"wan"`` (万) in Chinese, ``"m"`` (millions) in English."""
    return "wan" if lang == "zh-CN" else "m"


def escape(s) -> str:
    """Text from data, safe inside HTML (tags, quotes and entities escaped).

    Every name or free text that comes from a user's data goes through here before it
    reaches a page, an HTML table cell or an HTML attribute. Text put into Markdown goes
    through :func:`escape_md`, text drawn by matplotlib through :func:`plain_text_for_plot`.
    """
    return html.escape(str(s), quote=True)


# C0 controls and DEL (ANSI escape sequences start with ESC, \x1b); line breaks included.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
# Markdown punctuation that can start emphasis, links, images, code, tables, headings,
# strikethrough or math anywhere in a line ("\\" first, so no escape is doubled).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|~$!])")
# What turns the start of a line into a list item or a heading underline (a leading
# ">" is HTML-escaped, which is no quote); "1." is escaped as "1\.".
_MD_BULLET = re.compile(r"^(\s*)([-+](?=\s|$)|=)")
_MD_ORDERED = re.compile(r"^(\s*\d+)([.)])(?=\s|$)")


def escape_md(s) -> str:
    """Text from data, safe inside Markdown: it stays one run of plain text.

    Line breaks and control characters become spaces (a name cannot start a new
    paragraph, heading or list item); Markdown punctuation (``\\ ` * _ [ ] { } # | ~ $ !``)
    is backslash-escaped, as is a leading ``-``, ``+``, ``=`` or the dot of ``1.`` (a list
    item); then ``&``, ``<`` and ``>`` are HTML-escaped, since Markdown passes raw HTML
    through (a leading ``>`` becomes ``&gt;``, no quote). Quotes stay: with no tag and no
    link possible they delimit nothing, and "team's" reads as such in the Markdown source.
    A renderer shows the original text.
    """
    text = _CONTROL.sub(" ", str(s))
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_ORDERED.sub(r"\1\\\2", _MD_BULLET.sub(r"\1\\\2", text))
    return html.escape(text, quote=False)


_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def plain_text_for_plot(s) -> str:
    """Text from data for a matplotlib title, label or tick: drawn as written.

    A ``$`` would start mathtext (``$x^2$`` drawn as a formula, an unpaired one an
    error), so each unescaped ``$`` becomes ``\\$``; control characters (an ANSI escape,
    a line break) become spaces. Applying it twice changes nothing more.
    """
    text = _CONTROL.sub(" ", str(s))
    return _UNESCAPED_DOLLAR.sub(r"\\$", text)


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
    check_lang(lang)
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "en" else pair[1]


def relabel(columns, lang: str = "en") -> dict[str, str]:
    """A rename mapping for DataFrame columns."""
    return {c: label(c, lang) for c in columns}


#: Values of the data as people read them — customer types, lead sources, product lines,
#: deal types, industries (a value not here is shown as it is).
CATEGORIES: dict[str, tuple[str, str]] = {
    "key_account": ("key account", "大客户"),
    "smb": ("small business", "中小企业"),
    "mid_market": ("mid-market", "中型企业"),
    "unknown": ("unknown", "未知"),
    "Website": ("Website", "官网"),
    "Referral": ("Referral", "客户转介绍"),
    "Trade Show": ("Trade show", "展会"),
    "Cold Call": ("Cold call", "陌生拜访"),
    "Partner": ("Partner", "合作伙伴"),
    "IoT Platform": ("IoT Platform", "物联网平台"),
    "Smart Sensors": ("Smart Sensors", "智能传感器"),
    "Maintenance Services": ("Maintenance Services", "运维服务"),
    "new_customer": ("new customer", "新客户"),
    "existing_customer": ("existing customer", "老客户"),
    "True": ("qualified", "已确认"),
    "False": ("not qualified", "未确认"),
    "Manufacturing": ("Manufacturing", "制造业"),
    "Automotive": ("Automotive", "汽车"),
    "Electronics": ("Electronics", "电子"),
    "Energy": ("Energy", "能源"),
    "Chemicals": ("Chemicals", "化工"),
    "Logistics": ("Logistics", "物流"),
    "Food & Beverage": ("Food & Beverage", "食品饮料"),
    "Pharmaceuticals": ("Pharmaceuticals", "医药"),
    "Utilities": ("Utilities", "公用事业"),
    "Metals & Mining": ("Metals & Mining", "冶金矿业"),
}


def category(value, lang: str = "en") -> str:
    """A value of the data (a customer type, lead source, product line, industry) in
    ``lang``: its entry in :data:`CATEGORIES`, else the value itself (underscores as
    spaces in English)."""
    en, zh = CATEGORIES.get(str(value), (str(value).replace("_", " "), str(value)))
    return zh if lang == "zh-CN" else en
