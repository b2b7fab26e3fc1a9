"""What a forecast's calibration learnt, and from how much data, in plain words.

``simlib calibrate``, ``simlib simulate --explain`` and the attainment forecast report
all say it the same way, from :attr:`simlib.pipeline.Calibration.explain`::

    >>> from simlib.views.calibration import calibration_lines
    >>> # calibration_lines(cal, "en", data=data) -> ["Data: ...", "Outcomes: ...", ...]

The lines describe the snapshot-export calibration (competing risks over the deal's
age); a calibration from a stage history says what it learnt from the snapshots.
"""

from __future__ import annotations

import math

import pandas as pd

from simlib import present
from simlib.i18n import translator
from simlib.pipeline import (
    MARKET_PRIOR_SD,
    MARKET_PRIOR_WINDOWS,
    SEASON_MIN_YEARS,
    Calibration,
)
from simlib.views.backtest import date_text

__all__ = ["calibration_lines", "explain_json"]

_t = translator(
    {
        "data": (
            "Data: the CRM's deals from {first} on; the forecast uses what was known at the "
            "end of {as_of} (the export runs to {end}).",
            "数据：系统中自{first}起的商机；预测只使用{as_of}当日结束时已知的信息"
            "（导出数据截至{end}）。",
        ),
        "after_end": (
            " The data's last record is {end}: nothing dated after it is known.",
            "数据最后一条记录为{end}，之后没有任何已知记录。",
        ),
        "loading": (
            "The CRM was still being filled until {steady} (months with under half the "
            "usual number of new deals): rates and seasons are learnt from {steady} on.",
            "系统在{steady}之前仍在录入数据（新建商机不足平时一半），"
            "到达率与季节性自{steady}起学习。",
        ),
        "closes_from": (
            "The first close on record is {first_close}: {n} deals created earlier count "
            "only from then on (they had not closed before it).",
            "系统中最早的成交/输单记录为{first_close}：{n} 个更早创建的商机自该日起计入"
            "（它们在此之前未关闭）。",
        ),
        "outcomes": (
            "Outcomes from {deals} deals: {won} won, {lost} lost, {open} still open "
            "(counted for as long as they were seen, neither won nor lost). A new deal is "
            "eventually won {rate} of the time; won deals took {median} days (median), "
            "90% of them at most {p90}.",
            "结果来自 {deals} 个商机：赢单 {won}、输单 {lost}、仍在途 {open}"
            "（按实际观察时长计入，既不算赢也不算输）。新商机最终赢单率 {rate}；"
            "赢单周期中位数 {median} 天，90% 在 {p90} 天以内。",
        ),
        "open": (
            "Open pipeline: {n} deals. {stale} are older than 90% of won deals were at "
            "their win; their average chance of booking in the window is {stale_p} "
            "(younger deals: {fresh_p}).",
            "在途商机 {n} 个；其中 {stale} 个已超过 90% 赢单商机的成交周期，"
            "在窗口内成交的平均概率为 {stale_p}（较新的商机为 {fresh_p}）。",
        ),
        "values": (
            "Values: {price} open deals without a known value are valued at their list "
            "price × {ratio} (what won deals realised against list price){median}.",
            "金额：{price} 个没有金额的在途商机按标价 × {ratio} 估值"
            "（已赢单商机的实际成交额相对标价的比例）{median}。",
        ),
        "values_median": (
            "; {n} at the median won value of their product",
            "；{n} 个按同产品赢单金额中位数估值",
        ),
        "new": (
            "New deals: about {per_month} a month across the team (each rep's rate since "
            "{since}); {season}.",
            "新增商机：全员每月约 {per_month} 个（每位销售自{since}起的到达率）；{season}。",
        ),
        "season_flat": (
            "no seasonality (it needs {need} full years of steady history; there are {years})",
            "不计季节性（需要 {need} 个完整年度的稳定历史，目前为 {years} 个）",
        ),
        "season_on": (
            "monthly seasonality from {years} full years, shrunk toward flat",
            "按 {years} 个完整年度估计月度季节性，并向无季节性收缩",
        ),
        "gone": (
            "Treated as gone (no new deal for far longer than their rate allows): {names}.",
            "视为已离开（无新增商机的时间远超其到达率所允许）：{names}。",
        ),
        "hires": (
            "{n} hire dates were inferred from the first deal: no ramp-up is assumed for them.",
            "{n} 位销售的入职日期由首个商机推断，不假设爬坡期。",
        ),
        "market": (
            "Common factor (moves every deal of the window together): log-sd {sd}, from "
            "{n} past windows (the data alone: {data_sd}) and a prior of {prior} worth "
            "{w} windows. Short history means wider bands.",
            "共同因子（同时影响窗口内所有商机）：对数标准差 {sd}，"
            "来自 {n} 个历史窗口（仅数据：{data_sd}）与先验 {prior}（权重相当于 {w} 个窗口）。"
            "历史越短，区间越宽。",
        ),
        "window_season": (
            "Season of the window: × {season} (from {years} past years, weight {w}).",
            "窗口季节系数：× {season}（来自 {years} 个往年，权重 {w}）。",
        ),
        "window_flat": (
            "Season of the window: none (fewer than {need} full years).",
            "窗口季节系数：不计（完整年度少于 {need} 个）。",
        ),
        "history": (
            "Learnt from the stage history: {rows} deals seen open on past snapshots; "
            "{n} open deals now; common factor log-sd {sd}; season of the window × {season}.",
            "由阶段历史学习：历史快照中在途的商机 {rows} 个；当前在途商机 {n} 个；"
            "共同因子对数标准差 {sd}；窗口季节系数 × {season}。",
        ),
    }
)


def _num(x, decimals=2) -> str:
    return (
        present.MISSING
        if x is None or (isinstance(x, float) and math.isnan(x))
        else (present.number(x, decimals))
    )


def _pct(x) -> str:
    return (
        present.MISSING
        if x is None or (isinstance(x, float) and math.isnan(x))
        else (present.pct(x, 0))
    )


def _names(data, ids, lang) -> str:
    if data is None:
        return "、".join(ids) if lang == "zh-CN" else ", ".join(ids)
    reps = data.reps.set_index("rep_id")
    col = "name_zh" if lang == "zh-CN" and "name_zh" in reps else "name"
    out = []
    for r in ids:
        name = reps[col].get(r) if r in reps.index else None
        if (name is None or name != name) and r in reps.index:
            name = reps["name"].get(r)
        out.append(str(name if name == name and name is not None else r))
    return "、".join(out) if lang == "zh-CN" else ", ".join(out)


def calibration_lines(cal: Calibration, lang: str = "en", *, data=None) -> list[str]:
    """Plain sentences (not HTML) on what ``cal`` learnt and from how much data."""
    e = cal.explain
    L = lang
    if e.get("path") != "snapshot":
        rows = int(cal.win_rates["deals"].sum()) if "deals" in cal.win_rates else 0
        return [
            _t(
                "history",
                L,
                rows=present.count(rows),
                n=present.count(len(cal.deals)),
                sd=_num(cal.market_shock),
                season=_num(cal.season),
            )
        ]

    def d(x):
        return date_text(x, L)

    line = _t("data", L, first=d(e["data_start"]), end=d(e["data_end"]), as_of=d(e["as_of"]))
    if pd.Timestamp(e["as_of"]) > pd.Timestamp(e["data_end"]):
        line += _t("after_end", L, end=d(e["data_end"]))
    lines = [line]
    if pd.Timestamp(e["steady_from"]) > pd.Timestamp(e["data_start"]):
        lines.append(_t("loading", L, steady=d(e["steady_from"])))
    first_close = e.get("closes_from")
    if (
        first_close is not None
        and e.get("entered_late")
        and pd.Timestamp(first_close) > pd.Timestamp(e["data_start"]) + pd.Timedelta(days=60)
    ):
        lines.append(
            _t("closes_from", L, first_close=d(first_close), n=present.count(e["entered_late"]))
        )
    lines.append(
        _t(
            "outcomes",
            L,
            deals=present.count(e["deals"]),
            won=present.count(e["won"]),
            lost=present.count(e["lost"]),
            open=present.count(e["still_open"]),
            rate=_pct(e["win_eventually"]),
            median=_num(e["cycle_median"], 0),
            p90=_num(e["cycle_p90"], 0),
        )
    )
    lines.append(
        _t(
            "open",
            L,
            n=present.count(e["open_deals"]),
            stale=present.count(e["stale_deals"]),
            stale_p=_pct(e["stale_p"]),
            fresh_p=_pct(e["fresh_p"]),
        )
    )
    if e["valued_by_price"] or e["valued_by_median"]:
        med = _t("values_median", L, n=present.count(e["valued_by_median"]))
        lines.append(
            _t(
                "values",
                L,
                price=present.count(e["valued_by_price"]),
                ratio=_pct(e["realisation"]),
                median=med if e["valued_by_median"] else "",
            )
        )
    years = e.get("creation_season_years", 0)
    season = (
        _t("season_on", L, years=years)
        if years
        else _t("season_flat", L, need=SEASON_MIN_YEARS, years=e.get("full_years", 0))
    )
    lines.append(
        _t(
            "new",
            L,
            per_month=present.count(round(e["new_deals_per_month"])),
            since=d(e["rate_from"]),
            season=season,
        )
    )
    if e.get("gone_quiet"):
        lines.append(_t("gone", L, names=_names(data, e["gone_quiet"], L)))
    if e.get("inferred_hire_dates"):
        lines.append(_t("hires", L, n=present.count(e["inferred_hire_dates"])))
    lines.append(
        _t(
            "market",
            L,
            sd=_num(e["market_sd"]),
            n=present.count(e["market_windows"]),
            data_sd=_num(e["market_sd_data"]),
            prior=_num(MARKET_PRIOR_SD),
            w=present.count(MARKET_PRIOR_WINDOWS),
        )
    )
    if e.get("season_years_used"):
        lines.append(
            _t(
                "window_season",
                L,
                season=_num(e["season"]),
                years=present.count(e["season_years_used"]),
                w=_num(e["season_weight"]),
            )
        )
    else:
        lines.append(_t("window_flat", L, need=SEASON_MIN_YEARS))
    return lines


def explain_json(cal: Calibration) -> dict:
    """``cal.explain`` with dates as ISO text and missing numbers as None (for --json)."""
    out = {}
    for k, v in cal.explain.items():
        if isinstance(v, pd.Timestamp):
            v = v.date().isoformat()
        elif isinstance(v, float) and math.isnan(v):
            v = None
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out
