"""How good the forecast has been: a backtest of it, ready for a report (issue 13).

The numbers come from :func:`simlib.backtest.backtest` (the same call ``simlib
backtest`` makes): from each as-of date the model is calibrated on what was known that
day, forecasts the next period of every rep, team, region and the company, and is
scored against what was then booked, beside the CRM's stage-weighted number on the same
dates. :func:`simlib.backtest.summarise_backtest` gives the scores per level. This module
only lays them out for people.

Used by ``notebooks/reports/forecast_backtest.ipynb``::

    bt = backtest_report("2026-03-31,2026-06-30", "quarter", data=data, lang="zh-CN")
    bt.header()       # title, company, data, as-of dates, horizon, trials; headline cards
    bt.scores()       # coverage, pinball ratio, WAPE, bias and MAE per level, model vs CRM
    bt.by_date()      # the company's band, P50, the CRM number and the actual per date
    bt.bands()        # the same as a chart
    bt.by_team()      # each team: inside its band k of n times, its reps' coverage, bias, WAPE
    bt.pit_note()     # how to read the PIT histograms (a heading and a sentence)
    bt.pit()          # PIT histograms per level (flat = calibrated)
    bt.reliability_note()
    bt.reliability()  # observed share of PIT ≤ τ against τ (the diagonal = calibrated)
    bt.method()       # what was scored and how

Every amount on the page is in one unit (:class:`simlib.present.Units`: 万元 in zh-CN,
¥M in English); shares are %; the sections are safe HTML or matplotlib figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simlib import present
from simlib.backtest import _window_after, backtest, summarise_backtest
from simlib.company import default_currency
from simlib.i18n import check_lang as _check_lang
from simlib.i18n import escape as _esc
from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.i18n import translator
from simlib.plots import use_cjk_font
from simlib.present import MISSING, Units, status_color
from simlib.views.statement import amount_axis, period_label

__all__ = [
    "BacktestReport",
    "backtest_report",
    "default_as_of_dates",
    "parse_as_of_dates",
    "parse_horizon",
    "PIT_BINS",
    "TAUS",
]

#: Bins of the PIT histogram (10 bins of 0.1: each holds 10% of the rows when calibrated).
PIT_BINS = 10
#: Nominal levels of the reliability diagram.
TAUS = tuple(round(0.05 * k, 2) for k in range(1, 20))
#: Levels, top down (the scores table's order).
LEVELS = ("company", "region", "team", "rep")
#: A level's PIT histogram and reliability line are drawn from this many rows on (the
#: reps and teams always): 4 company rows make no histogram.
MIN_ROWS = 20
#: The targets the headline cards are coloured against (issue 13's held-out scoring).
COVERAGE_OK = (0.75, 0.85)
BIAS_OK = 0.10
PINBALL_OK = 0.8

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Forecast backtest", "预测回测"),
    "data_demo": ("data: the demo company", "数据：演示公司"),
    "data_export": ("data: CRM export {name}", "数据：CRM 导出 {name}"),
    "data_db": ("data: a CRM database", "数据：CRM 数据库"),
    "dates": ("forecast dates: {d}", "预测日期：{d}"),
    "h_quarter": ("each scored on the quarter after it", "每次预测其后一个季度"),
    "h_month": ("each scored on the month after it", "每次预测其后一个月"),
    "h_days": ("each scored on the {n} days after it", "每次预测其后 {n} 天"),
    "trials": ("{n} Monte Carlo trials, seed {seed}", "蒙特卡洛模拟 {n} 次，随机种子 {seed}"),
    "c_rep_cov": ("Reps: actual inside P10–P90", "销售：实际落在 P10–P90 内"),
    "c_co_in": ("Company: actual inside P10–P90", "公司：实际落在 P10–P90 内"),
    "c_co_in_v": ("{k} of {n}", "{n} 次中 {k} 次"),
    "c_bias": ("Bias of the forecast mean", "预测均值偏差"),
    "c_ratio": ("Pinball loss vs the CRM (reps)", "分位损失 / CRM（销售）"),
    "c_ratio_v": ("{x}×", "{x}×"),
    "targets": (
        "Green where the forecast meets its target: 75–85% of reps inside their P10–P90 "
        "band, the company inside its band in most periods, a bias within ±10%, and a "
        "pinball loss at most 0.8× the CRM's; amber close to it; red off it.",
        "绿色表示达到目标：75%–85% 的销售实际落在其 P10–P90 区间内，公司多数期间落在区间内，"
        "偏差在 ±10% 以内，分位损失不超过 CRM 的 0.8 倍；黄色表示接近；红色表示未达到。",
    ),
    "scores": ("Scores by level: the model against the CRM", "各层级得分：模型与 CRM 对比"),
    "scores_notes": (
        "P10–P90 coverage: the share of forecasts whose P10–P90 band held the actual "
        "(the target: about 80%, when the bands are honest).|"
        "Pinball ratio: the model's quantile (pinball) loss at P10, P50 and P90 over the "
        "same loss of the CRM number; below 1 the model is better.|"
        "WAPE: the sum of absolute errors over the sum of actuals (model: of its P50; "
        "CRM: of its number).|"
        "Bias: the sum of (forecast − actual) over the sum of actuals (model: its mean); "
        "above zero the forecast was too high.|"
        "MAE: the mean absolute error of one forecast (model: of its P50), in {unit}.",
        "P10–P90 覆盖率：P10–P90 区间包含实际值的预测占比（目标约 80%，即区间可信时的水平）。|"
        "分位损失比：模型在 P10、P50、P90 的分位（pinball）损失与 CRM 预测同口径损失之比；"
        "小于 1 表示模型更好。|"
        "WAPE：绝对误差之和除以实际值之和（模型用其 P50，CRM 用其预测值）。|"
        "偏差：（预测 − 实际）之和除以实际值之和（模型用其均值）；大于零表示预测偏高。|"
        "MAE：单次预测的平均绝对误差（模型用其 P50），单位{unit}。",
    ),
    "by_date": ("The company, date by date", "公司逐期对比"),
    "by_date_note": (
        "The CRM number: amount × the CRM's stage probability, summed over the deals open "
        "on the date and expected to close in the period.",
        "CRM 预测：在预测日期仍在途、预计在该期间成交的商机，按金额 × CRM 阶段概率求和。",
    ),
    "inside": ("inside", "区间内"),
    "below": ("below P10", "低于 P10"),
    "above": ("above P90", "高于 P90"),
    "bands_title": (
        "{name}: forecast band and what was booked",
        "{name}：预测区间与实际成交",
    ),
    "bands_y": ("Bookings", "成交额"),
    "bands_band": ("P10–P90 band", "P10–P90 区间"),
    "bands_p50": ("P50", "P50"),
    "bands_crm": ("CRM number", "CRM 预测"),
    "bands_in": ("Actual, inside the band", "实际（区间内）"),
    "bands_out": ("Actual, outside the band", "实际（区间外）"),
    "pit": ("Where the actuals fell in the forecasts (PIT)", "实际值在预测分布中的位置（PIT）"),
    "pit_title": ("{level} ({n} forecasts)", "{level}（{n} 次预测）"),
    "pit_x": (
        "PIT: 0 = below every trial, 1 = above every trial",
        "PIT：0 = 低于全部模拟，1 = 高于全部模拟",
    ),
    "pit_y": ("Share of forecasts", "预测占比"),
    "pit_flat": ("Flat: calibrated (10% per bin)", "均匀：校准良好（每组 10%）"),
    "pit_note": (
        "A flat histogram means honest probabilities. Piled at both ends: bands too "
        "narrow. A hump in the middle: bands too wide. Piled on the left: the forecast "
        "was too high; on the right: too low.",
        "直方图平坦表示概率可信。两端堆积：区间过窄；中间隆起：区间过宽；"
        "左侧堆积：预测偏高；右侧堆积：预测偏低。",
    ),
    "rel": ("Reliability of the forecast quantiles", "预测分位数的可靠性"),
    "rel_x": ("Nominal level τ (forecast quantile)", "名义水平 τ（预测分位数）"),
    "rel_y": ("Share of actuals at or below it", "实际值不高于该分位数的占比"),
    "rel_diag": ("Perfectly calibrated", "完全校准"),
    "rel_note": (
        "For each level τ, the share of forecasts whose actual fell at or below their "
        "τ-quantile. On the diagonal the quantiles mean what they say; above it the "
        "forecasts were too high, below it too low.",
        "对每个水平 τ，实际值不高于预测 τ 分位数的预测占比。落在对角线上表示分位数名副其实；"
        "在对角线之上表示预测偏高，之下表示偏低。",
    ),
    "method": ("How this backtest is made", "回测方法"),
    "no_rows": ("Nothing to show: no forecast was scored.", "无数据：没有可评分的预测。"),
    "by_team": ("Team by team", "各团队得分"),
    "by_team_note": (
        "Reps inside P10–P90: the share of the team's rep forecasts whose band held the "
        "actual, over all dates. Bias and the pinball ratio are of the team's own forecast.",
        "销售落在 P10–P90 内：该团队各销售在所有日期的预测中，区间包含实际值的占比。"
        "偏差与分位损失比针对团队整体的预测。",
    ),
}

_LEVELS = {
    "company": ("Company", "公司"),
    "region": ("Regions", "大区"),
    "team": ("Teams", "团队"),
    "rep": ("Reps", "销售"),
}
_LEVEL_ONE = {
    "company": ("Company", "公司"),
    "region": ("Region", "大区"),
    "team": ("Team", "团队"),
    "rep": ("Rep", "销售"),
}
#: One colour per level, the same in the PIT histograms and the reliability diagram.
_LEVEL_COLORS = {"company": "#37474f", "region": "#6a1b9a", "team": "#1565c0", "rep": "#00897b"}

_t = translator(_TEXT)

_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def date_text(d, lang: str) -> str:
    """A date as the language writes it.

    >>> date_text("2026-06-30", "zh-CN"), date_text("2026-06-30", "en")
    ('2026年6月30日', '30 Jun 2026')
    """
    d = pd.Timestamp(d)
    if lang == "zh-CN":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def window_text(label: str, lang: str) -> str:
    """A backtest window's label for people: ``2026-Q3`` → ``2026年第3季度``; a range of
    days ``A..B`` → ``A to B`` / ``A至B`` with the dates as the language writes them.

    >>> window_text("2026-Q3", "zh-CN"), window_text("2026-07-01..2026-09-28", "en")
    ('2026年第3季度', '1 Jul 2026 to 28 Sep 2026')
    """
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", label):
        a, b = (date_text(x, lang) for x in (m[1], m[2]))
        return f"{a}至{b}" if lang == "zh-CN" else f"{a} to {b}"
    return period_label(label, lang)


def parse_horizon(horizon) -> str | int:
    """``"quarter"``, ``"month"`` or a number of days (``90`` or ``"90"``)."""
    if isinstance(horizon, str):
        h = horizon.strip().lower()
        if h in ("quarter", "month"):
            return h
        if h.isdigit() and int(h) >= 1:
            return int(h)
    elif isinstance(horizon, (int, np.integer)) and not isinstance(horizon, bool):
        if horizon >= 1:
            return int(horizon)
    raise ValueError(
        f"horizon must be 'quarter', 'month' or a number of days (e.g. 90); got {horizon!r}"
    )


def parse_as_of_dates(text) -> list[pd.Timestamp]:
    """As-of dates from ``"2026-03-31, 2026-06-30"`` (or a list), sorted, each once."""
    items = re.split(r"[,\s;]+", text.strip()) if isinstance(text, str) else list(text)
    out = set()
    for x in items:
        if isinstance(x, str) and not x:
            continue
        try:
            out.add(pd.Timestamp(x).normalize())
        except (ValueError, TypeError):
            raise ValueError(
                f"as_of: {x!r} is not a date; write dates like 2026-06-30, several "
                "separated by commas"
            ) from None
    return sorted(out)


def default_as_of_dates(data, horizon="quarter", n: int = 4) -> list[pd.Timestamp]:
    """The last ``n`` period ends that have a whole window of data after them.

    Month ends for a monthly horizon, quarter ends otherwise: with data to 2026-11-20
    and a quarter's horizon, 2025-09-30, 2025-12-31, 2026-03-31 and 2026-06-30.
    """
    horizon = parse_horizon(horizon)
    end = pd.Timestamp(data.as_of)
    start = pd.Timestamp(data.opportunities["created_date"].min())
    freq = "ME" if horizon == "month" else "QE"
    ends = pd.date_range(start.normalize(), end, freq=freq)
    ok = [T for T in ends if _window_after(T, horizon).end <= end]
    if not ok:
        raise ValueError(
            f"the data ({start.date()} to {end.date()}) holds no whole "
            f"{horizon if isinstance(horizon, str) else f'{horizon}-day window'} "
            "after a period end: nothing to backtest"
        )
    return ok[-n:]


def _percent_formatter():
    """Ticks of a share as %, with the decimals their spacing needs (2.5% apart: 2.5%).

    (As the forecast view's, but told its ticks through ``set_locs``: matplotlib 3.11
    deprecates reading ``locs``, and the warning would print on the report page.)
    """
    import math

    from matplotlib.ticker import Formatter

    class _Pct(Formatter):
        _ticks: tuple = ()

        def set_locs(self, locs):
            self._ticks = tuple(locs)

        def __call__(self, v, pos=None):
            locs = sorted(100 * float(x) for x in self._ticks)
            steps = [b - a for a, b in zip(locs, locs[1:]) if b > a]
            step = min(steps) if steps else 1.0
            decimals = min(2, max(0, -math.floor(math.log10(step) + 1e-9)))
            return present.pct(v, decimals)

    return _Pct()


def _name(rec, zh: bool) -> str:
    z = getattr(rec, "name_zh", None)
    n = getattr(rec, "name", None)
    if zh and isinstance(z, str) and z:
        return z
    return n if isinstance(n, str) and n else (z if isinstance(z, str) else "")


def _source_text(data, lang: str) -> str:
    src = str(getattr(data, "source", "") or "")
    if not src or src.startswith("demo company"):
        return _t("data_demo", lang)
    if "://" in src:
        return _t("data_db", lang)
    return _t("data_export", lang, name=Path(src).name or src)


def _status_coverage(c: float) -> str:
    if c != c:
        return "grey"
    lo, hi = COVERAGE_OK
    if lo <= c <= hi:
        return "green"
    return "amber" if lo - 0.10 <= c <= hi + 0.10 else "red"


def _status_bias(b: float) -> str:
    if b != b:
        return "grey"
    return "green" if abs(b) <= BIAS_OK else ("amber" if abs(b) <= 2 * BIAS_OK else "red")


def _status_ratio(r: float) -> str:
    if r != r:
        return "grey"
    return "green" if r <= PINBALL_OK else ("amber" if r < 1.0 else "red")


def _status_inside(k: int, n: int) -> str:
    if n == 0:
        return "grey"
    return "green" if 2 * k > n else ("amber" if 2 * k == n else "red")


@dataclass(frozen=True)
class BacktestReport:
    """A backtest's rows and their summary per level, laid out for a page.

    ``rows`` are :func:`simlib.backtest.backtest`'s (one per as-of date and node, with
    the forecast, the CRM number, the actual, the scores and the PIT); ``summary`` is
    :func:`simlib.backtest.summarise_backtest` of them.
    """

    as_of_dates: tuple[pd.Timestamp, ...]
    horizon: str | int
    n_trials: int
    seed: int
    lang: str
    currency: str
    company: str
    source: str
    rows: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    snapshot: bool = False  # the export had no stage history (derived from the snapshot)
    names: dict = field(repr=False, default_factory=dict)  # node id → name in the page's language
    parents: dict = field(repr=False, default_factory=dict)  # org node id → parent id
    rep_team: dict = field(repr=False, default_factory=dict)  # rep id → team id

    # ---- numbers
    @property
    def units(self) -> Units:
        """The page's unit: 万元 in zh-CN, ¥M in English."""
        return Units(self.lang, currency=self.currency)

    def _h2(self, key: str, **kw) -> str:
        return f"<h2>{_esc(_t(key, self.lang, **kw))}</h2>"

    def _level_row(self, level: str) -> pd.Series | None:
        s = self.summary[self.summary["level"] == level]
        return s.iloc[0] if len(s) else None

    def dist_levels(self) -> list[str]:
        """The levels drawn in the PIT histograms and the reliability diagram, bottom up:
        the reps and teams, and any other level with at least :data:`MIN_ROWS` rows."""
        n = self.rows.groupby("level").size() if len(self.rows) else pd.Series(dtype=int)
        return [
            lv
            for lv in reversed(LEVELS)
            if lv in n.index and (lv in ("rep", "team") or n[lv] >= MIN_ROWS)
        ]

    def company_rows(self) -> pd.DataFrame:
        """The company's rows, one per as-of date, with where the actual fell."""
        c = self.rows[self.rows["level"] == "company"].sort_values("as_of")
        c = c.reset_index(drop=True).copy()
        c["where"] = np.where(
            c["actual"] < c["p10"], "below", np.where(c["actual"] > c["p90"], "above", "inside")
        )
        return c

    def pit_table(self) -> pd.DataFrame:
        """PIT histogram counts: level, bin (0..9), lower and upper edge, count, share."""
        edges = np.linspace(0.0, 1.0, PIT_BINS + 1)
        out = []
        for lv in self.dist_levels():
            pit = self.rows.loc[self.rows["level"] == lv, "pit"].to_numpy(float)
            counts, _ = np.histogram(np.clip(pit, 0.0, 1.0), bins=edges)
            for b in range(PIT_BINS):
                out.append(
                    dict(
                        level=lv,
                        bin=b,
                        lo=edges[b],
                        hi=edges[b + 1],
                        count=int(counts[b]),
                        share=counts[b] / max(len(pit), 1),
                    )
                )
        return pd.DataFrame(out, columns=["level", "bin", "lo", "hi", "count", "share"])

    def reliability_table(self) -> pd.DataFrame:
        """For each level and τ in :data:`TAUS`: the share of rows with PIT ≤ τ."""
        out = []
        for lv in self.dist_levels():
            pit = self.rows.loc[self.rows["level"] == lv, "pit"].to_numpy(float)
            for tau in TAUS:
                out.append(dict(level=lv, tau=tau, observed=float((pit <= tau + 1e-12).mean())))
        return pd.DataFrame(out, columns=["level", "tau", "observed"])

    # ---- sections
    def header(self) -> present.HTML:
        """Title, company, data, as-of dates, horizon, trials and seed; headline cards."""
        L = self.lang
        h = self.horizon
        horizon = _t(f"h_{h}", L) if isinstance(h, str) else _t("h_days", L, n=h)
        sep, comma = ("、", "，") if L == "zh-CN" else (", ", ", ")
        dates = _t("dates", L, d=sep.join(date_text(d, L) for d in self.as_of_dates))
        meta = [x for x in (self.company, self.source) if x]
        meta += [
            dates + comma + horizon,
            _t("trials", L, n=present.count(self.n_trials), seed=self.seed),
        ]
        rep, co = self._level_row("rep"), self._level_row("company")
        cards, status = [], []
        cov = float(rep["coverage_p10_p90"]) if rep is not None else float("nan")
        cards.append((_t("c_rep_cov", L), present.pct(cov)))
        status.append(_status_coverage(cov))
        c = self.company_rows()
        k, n = int((c["where"] == "inside").sum()), len(c)
        cards.append((_t("c_co_in", L), _t("c_co_in_v", L, k=k, n=n) if n else MISSING))
        status.append(_status_inside(k, n))
        bias = float(co["bias"]) if co is not None else float("nan")
        cards.append((_t("c_bias", L), present.pct(bias, sign=True)))
        status.append(_status_bias(bias))
        ratio = float(rep["pinball_ratio"]) if rep is not None else float("nan")
        shown = _t("c_ratio_v", L, x=present.number(ratio, 2)) if ratio == ratio else MISSING
        cards.append((_t("c_ratio", L), shown))
        status.append(_status_ratio(ratio))
        return present.HTML(
            f"<h1>{_esc(_t('title', L))}</h1>"
            f"<p>{' · '.join(_esc(x) for x in meta)}</p>"
            + present.cards(
                cards,
                status=status,
                keys=["rep_coverage", "company_inside", "bias", "pinball_ratio"],
            )
            + f'<p class="simlib-note">{_esc(_t("targets", L))}</p>'
        )

    def scores_frame(self) -> pd.DataFrame:
        """The scores table's numbers (summarise_backtest's), levels named for people."""
        s = self.summary
        zh = self.lang == "zh-CN"
        return pd.DataFrame(
            {
                "level": [_LEVELS[lv][zh] for lv in s["level"]],
                "rows": s["rows"].astype(int),
                "coverage": s["coverage_p10_p90"].astype(float),
                "pinball_ratio": s["pinball_ratio"].astype(float),
                "wape": s["wape"].astype(float),
                "crm_wape": s["crm_wape"].astype(float),
                "bias": s["bias"].astype(float),
                "crm_bias": s["crm_bias"].astype(float),
                "mae_p50": s["mae_p50"].astype(float),
                "mae_crm": s["mae_crm"].astype(float),
            }
        )

    def scores(self) -> present.HTML:
        """Per level: coverage of P10–P90, the pinball ratio against the CRM number,
        WAPE, bias and mean absolute error of the model and of the CRM; then what each
        score means."""
        L, u = self.lang, self.units

        def signed(x):
            return present.pct(x, 1, sign=True)

        def ratio(x):
            return present.number(x, 2)

        cols = [
            present.Col("level", "层级", "Level"),
            present.Col("rows", "预测数", "Forecasts", kind="count"),
            present.Col("coverage", "P10–P90 覆盖率", "P10–P90 coverage", kind="pct"),
            present.Col("pinball_ratio", "分位损失比", "Pinball ratio", kind="number", fmt=ratio),
            present.Col("wape", "WAPE 模型", "WAPE model", kind="pct"),
            present.Col("crm_wape", "WAPE CRM", "WAPE CRM", kind="pct"),
            present.Col("bias", "偏差 模型", "Bias model", kind="pct", fmt=signed),
            present.Col("crm_bias", "偏差 CRM", "Bias CRM", kind="pct", fmt=signed),
            present.Col("mae_p50", "MAE 模型", "MAE model", kind="amount"),
            present.Col("mae_crm", "MAE CRM", "MAE CRM", kind="amount"),
        ]
        table = present.table(
            self.scores_frame(), cols, u, empty=(_TEXT["no_rows"][1], _TEXT["no_rows"][0])
        )
        notes = _t("scores_notes", L, unit=u.label()).split("|")
        body = "".join(f"<li>{_esc(x)}</li>" for x in notes)
        return present.HTML(self._h2("scores") + table + f'<ul class="simlib-note">{body}</ul>')

    def by_date_frame(self) -> pd.DataFrame:
        """The company per as-of date: dates and period for people, the band, the CRM
        number, the actual and where it fell (``inside``/``below``/``above``)."""
        c = self.company_rows()
        L = self.lang
        return pd.DataFrame(
            {
                "as_of": [date_text(d, L) for d in c["as_of"]],
                "window": [window_text(w, L) for w in c["window"]],
                "p10": c["p10"].astype(float),
                "p50": c["p50"].astype(float),
                "p90": c["p90"].astype(float),
                "crm": c["crm_baseline"].astype(float),
                "actual": c["actual"].astype(float),
                "where": list(c["where"]),
            }
        )

    def by_date(self) -> present.HTML:
        """Per as-of date: the company's P10/P50/P90, the CRM number, the actual and
        whether the actual fell inside the band (coloured as the chart's dots)."""
        L, u = self.lang, self.units
        f = self.by_date_frame()
        f["where_html"] = [
            f'<span style="color:{status_color("green" if w == "inside" else "red")}">'
            f"{_esc(_t(w, L))}</span>"
            for w in f["where"]
        ]
        cols = [
            present.Col("as_of", "预测日期", "Forecast date"),
            present.Col("window", "预测期间", "Period forecast"),
            present.Col("p10", "P10", "P10", kind="amount"),
            present.Col("p50", "P50", "P50", kind="amount"),
            present.Col("p90", "P90", "P90", kind="amount"),
            present.Col("crm", "CRM 预测", "CRM number", kind="amount"),
            present.Col("actual", "实际成交", "Actual", kind="amount"),
            present.Col("where_html", "实际落点", "Actual vs band", kind="html"),
        ]
        table = present.table(f, cols, u, empty=(_TEXT["no_rows"][1], _TEXT["no_rows"][0]))
        note = f'<p class="simlib-note">{_esc(_t("by_date_note", L))}</p>'
        return present.HTML(self._h2("by_date") + table + note)

    def by_team_frame(self) -> pd.DataFrame:
        """Per team (by region, then name): the team's own scores over the dates (from
        :func:`simlib.backtest.summarise_backtest` of its rows) and the coverage of its
        reps' forecasts."""
        r = self.rows
        teams = r.loc[r["level"] == "team", "node_id"].drop_duplicates()
        reps = r[r["level"] == "rep"]
        out = []
        for team in teams:
            t = summarise_backtest(r[(r["level"] == "team") & (r["node_id"] == team)]).iloc[0]
            mine = reps[reps["node_id"].map(self.rep_team) == team]
            region = self.parents.get(team)
            out.append(
                dict(
                    team_id=team,
                    region=self.names.get(region, "") if region else "",
                    team=self.names.get(team, ""),
                    dates=int(t["rows"]),
                    inside=int(round(t["coverage_p10_p90"] * t["rows"])),
                    rep_rows=len(mine),
                    rep_coverage=float(mine["covered"].mean()) if len(mine) else float("nan"),
                    bias=float(t["bias"]),
                    crm_bias=float(t["crm_bias"]),
                    wape=float(t["wape"]),
                    crm_wape=float(t["crm_wape"]),
                    pinball_ratio=float(t["pinball_ratio"]),
                )
            )
        cols = [
            "team_id",
            "region",
            "team",
            "dates",
            "inside",
            "rep_rows",
            "rep_coverage",
            "bias",
            "crm_bias",
            "wape",
            "crm_wape",
            "pinball_ratio",
        ]
        f = pd.DataFrame(out, columns=cols)
        return f.sort_values(["region", "team"], kind="stable").reset_index(drop=True)

    def by_team(self) -> present.HTML:
        """Per team, by name: the team inside its band k of n times, its reps' coverage,
        the bias and WAPE of the team's forecast and of the CRM number, the pinball ratio."""
        L, u = self.lang, self.units
        f = self.by_team_frame()
        f["inside_text"] = [
            _t("c_co_in_v", L, k=k, n=n) if n else MISSING for k, n in zip(f["inside"], f["dates"])
        ]

        def signed(x):
            return present.pct(x, 1, sign=True)

        def ratio(x):
            return present.number(x, 2)

        cols = [
            present.Col("region", "大区", "Region"),
            present.Col("team", "团队", "Team"),
            present.Col("inside_text", "团队落在 P10–P90 内", "Team inside P10–P90"),
            present.Col("rep_coverage", "销售落在 P10–P90 内", "Reps inside P10–P90", kind="pct"),
            present.Col("pinball_ratio", "分位损失比", "Pinball ratio", kind="number", fmt=ratio),
            present.Col("wape", "WAPE 模型", "WAPE model", kind="pct"),
            present.Col("crm_wape", "WAPE CRM", "WAPE CRM", kind="pct"),
            present.Col("bias", "偏差 模型", "Bias model", kind="pct", fmt=signed),
            present.Col("crm_bias", "偏差 CRM", "Bias CRM", kind="pct", fmt=signed),
        ]
        table = present.table(f, cols, u, empty=(_TEXT["no_rows"][1], _TEXT["no_rows"][0]))
        note = f'<p class="simlib-note">{_esc(_t("by_team_note", L))}</p>'
        return present.HTML(self._h2("by_team") + table + note)

    def bands(self):
        """The company per as-of date as a chart: the P10–P90 band, the P50, the CRM
        number and the actual (green inside the band, red outside)."""
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        use_cjk_font()
        L, u = self.lang, self.units
        c = self.company_rows()
        fig = Figure(figsize=(10, 4.2), dpi=100)  # not pyplot: shown once
        ax = fig.add_subplot()
        if c.empty:
            ax.set_axis_off()
            ax.text(0.5, 0.5, _t("no_rows", L), ha="center")
            return fig
        x = np.arange(len(c))
        lo, mid, hi = (c[k].to_numpy(float) for k in ("p10", "p50", "p90"))
        ax.bar(x, hi - lo, bottom=lo, width=0.5, color="#90a4ae", alpha=0.55)
        ax.hlines(mid, x - 0.25, x + 0.25, color="#37474f", lw=2)
        ax.scatter(x + 0.33, c["crm_baseline"], marker="x", color="black", s=40, zorder=3)
        inside = (c["where"] == "inside").to_numpy()
        colors = [status_color("green" if i else "red") for i in inside]
        ax.scatter(x, c["actual"], color=colors, s=55, zorder=4, edgecolor="white")
        labels = [
            f"{date_text(d, L)}\n{_plot_text(window_text(w, L))}"
            for d, w in zip(c["as_of"], c["window"])
        ]
        ax.set_xticks(x, labels, fontsize=9)
        ax.set_xlim(-0.6, len(c) - 0.4)
        # Range bars, not bars of a size: the axis spans the values (a ±5% band drawn
        # from zero would be a line).
        shown = np.r_[lo, hi, c["actual"], c["crm_baseline"]].astype(float)
        bottom, top = float(np.nanmin(shown)), float(np.nanmax(shown))
        pad = 0.12 * (top - bottom) if top > bottom else max(abs(top), 1.0) * 0.1
        ax.set_ylim(max(0.0, bottom - pad), top + pad)
        amount_axis(ax, u, "y", zh=_TEXT["bands_y"][1], en=_TEXT["bands_y"][0])
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_title(
            _t(
                "bands_title",
                L,
                name=_plot_text(self.company or _LEVEL_ONE["company"][L == "zh-CN"]),
            ),
            fontsize=11,
            loc="left",
        )
        handles = [
            Patch(color="#90a4ae", alpha=0.55, label=_t("bands_band", L)),
            Line2D([], [], color="#37474f", lw=2, label=_t("bands_p50", L)),
            Line2D([], [], marker="x", ls="", color="black", label=_t("bands_crm", L)),
            Line2D([], [], marker="o", ls="", color=status_color("green"), label=_t("bands_in", L)),
            Line2D([], [], marker="o", ls="", color=status_color("red"), label=_t("bands_out", L)),
        ]
        fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
        fig.subplots_adjust(left=0.09, right=0.98, top=0.9, bottom=0.25)
        return fig

    def pit(self):
        """PIT histograms, one per level (:meth:`dist_levels`), 10 bins, each bar the
        share of the level's forecasts; the dashed line is the flat height (10%)."""
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D

        use_cjk_font()
        L, zh = self.lang, self.lang == "zh-CN"
        levels = self.dist_levels()
        tab = self.pit_table()
        fig = Figure(figsize=(10, 3.9), dpi=100)  # not pyplot: shown once
        if not levels:
            ax = fig.add_subplot()
            ax.set_axis_off()
            ax.text(0.5, 0.5, _t("no_rows", L), ha="center")
            return fig
        axes = fig.subplots(1, len(levels), sharey=True, squeeze=False)[0]
        top = max(0.2, float(tab["share"].max()) * 1.15)
        for ax, lv in zip(axes, levels):
            t = tab[tab["level"] == lv]
            ax.bar(
                t["lo"],
                t["share"],
                width=1.0 / PIT_BINS,
                align="edge",
                color=_LEVEL_COLORS[lv],
                alpha=0.75,
                edgecolor="white",
            )
            ax.axhline(1.0 / PIT_BINS, color="black", ls="--", lw=1)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, top)
            ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "0.25", "0.5", "0.75", "1"])
            ax.yaxis.set_major_formatter(_percent_formatter())
            n = int(t["count"].sum())
            ax.set_title(
                _t("pit_title", L, level=_LEVELS[lv][zh], n=present.count(n)),
                fontsize=10,
                loc="left",
            )
            ax.spines[["top", "right"]].set_visible(False)
        axes[0].set_ylabel(_t("pit_y", L))
        fig.supxlabel(_t("pit_x", L), fontsize=10, y=0.1)
        flat = Line2D([], [], color="black", ls="--", lw=1, label=_t("pit_flat", L))
        fig.legend(handles=[flat], loc="lower center", fontsize=8, frameon=False)
        fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.27, wspace=0.12)
        return fig

    def pit_note(self) -> present.HTML:
        """How to read the PIT histograms."""
        return present.HTML(
            self._h2("pit") + f'<p class="simlib-note">{_esc(_t("pit_note", self.lang))}</p>'
        )

    def reliability(self):
        """Reliability diagram: per level, the observed share of PIT ≤ τ against τ for
        τ = 0.05…0.95; the diagonal is perfect calibration."""
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D

        use_cjk_font()
        L, zh = self.lang, self.lang == "zh-CN"
        tab = self.reliability_table()
        fig = Figure(figsize=(8.5, 5.0), dpi=100)  # not pyplot: shown once
        ax = fig.add_axes((0.1, 0.11, 0.52, 0.84))
        ax.plot([0, 1], [0, 1], color="black", ls="--", lw=1)
        handles = [Line2D([], [], color="black", ls="--", lw=1, label=_t("rel_diag", L))]
        for lv in self.dist_levels():
            t = tab[tab["level"] == lv]
            n = int((self.rows["level"] == lv).sum())
            label = _t("pit_title", L, level=_LEVELS[lv][zh], n=present.count(n))
            (line,) = ax.plot(
                t["tau"], t["observed"], marker="o", ms=4, color=_LEVEL_COLORS[lv], label=label
            )
            handles.append(line)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.xaxis.set_major_formatter(_percent_formatter())
        ax.yaxis.set_major_formatter(_percent_formatter())
        ax.set_xlabel(_t("rel_x", L))
        ax.set_ylabel(_t("rel_y", L))
        ax.grid(True, color="#eeeeee", lw=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        fig.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(0.6, 0.95), fontsize=9, frameon=False
        )
        return fig

    def reliability_note(self) -> present.HTML:
        """How to read the reliability diagram."""
        return present.HTML(
            self._h2("rel") + f'<p class="simlib-note">{_esc(_t("rel_note", self.lang))}</p>'
        )

    def method(self) -> present.HTML:
        """What was scored, how (point in time), and what the CRM baseline is."""
        L = self.lang
        n_dates = len(self.as_of_dates)
        counts = self.rows.groupby("level").size() if len(self.rows) else pd.Series(dtype=int)
        zh = L == "zh-CN"
        present_levels = [lv for lv in LEVELS if lv in counts.index]
        if zh:
            per_level = "、".join(
                f"{_LEVEL_ONE[lv][1]} {present.count(counts[lv])} 次" for lv in present_levels
            )
        else:
            per_level = ", ".join(
                f"{present.count(counts[lv])} {_LEVEL_ONE[lv][0].lower()}" for lv in present_levels
            )
        if zh:
            items = [
                f"评分对象：从 {n_dates} 个过去的日期出发，对每个销售、团队、大区和公司"
                f"预测其后一个期间的成交额（{per_level}），再与之后实际成交的金额比较。",
                "时点一致：每次预测只使用该日期当天及之前已知的信息——当天仍在途的商机及其阶段、"
                "当天之前的成交历史；模型参数也只用这些数据重新校准，从不使用之后才知道的结果。",
                "CRM 基准：在预测日期仍在途、预计在该期间内成交的商机，按金额 × CRM 阶段概率求和，"
                "即销售管理中常见的“加权管道”。它只给出一个数，"
                "所以用同一分位损失按 P10、P50、P90 三次计分。",
                "得分：P10–P90 覆盖率（可信时约 80%）、分位损失比、WAPE、偏差和平均绝对误差；"
                "PIT 是实际值在预测分布中的位置，若概率可信，它在 0 到 1 之间均匀分布。",
                f"每个日期的模拟次数为 {present.count(self.n_trials)}，随机种子 {self.seed}；"
                "同一种子得到完全相同的结果。",
            ]
            if self.snapshot:
                items.append(
                    "此数据没有阶段历史：各日期的在途商机由当前快照重建，且不含之后才知道的信息"
                    "（之后成交或输掉的商机在当日仍为在途，按标价估值，不带实际成交日）；"
                    "但快照只记录导出时的负责人，之后转交的商机按新负责人计。"
                    "CRM 基准没有阶段概率时，使用 Salesforce 默认阶段概率；"
                    "没有预计成交日时，计入全部在途商机。"
                )
        else:
            items = [
                f"What was scored: from {n_dates} past dates, the forecast of each rep, team, "
                f"region and the company for the period after the date ({per_level} "
                "forecasts), against what was booked afterwards.",
                "Point in time: each forecast sees only what was known on its date — the deals "
                "open that day in the stage they were in, and the history closed before it; the "
                "model is recalibrated from that alone and never uses a later outcome.",
                "The CRM baseline: amount × the CRM's stage probability, summed over the deals "
                "open on the date and expected to close in the period (the weighted pipeline "
                "sales teams quote). It is one number, so it is scored with the same pinball "
                "loss as if it were the P10, the P50 and the P90.",
                "The scores: P10–P90 coverage (about 80% when honest), the pinball ratio, WAPE, "
                "bias and mean absolute error. The PIT is where the actual fell in the forecast "
                "distribution; with honest probabilities it is spread evenly from 0 to 1.",
                f"{present.count(self.n_trials)} Monte Carlo trials per date, seed {self.seed}; "
                "the same seed gives exactly the same figures.",
            ]
            if self.snapshot:
                items.append(
                    "This export has no stage history: each date's open deals are rebuilt from "
                    "the snapshot without what was learnt later (a deal won or lost since is "
                    "open that day, valued at its list price, with no close date), but the "
                    "snapshot keeps only the owner at export, so a deal handed over later "
                    "counts for its new owner. Without the CRM's own stage probabilities the "
                    "baseline uses Salesforce's default ones; without expected close dates it "
                    "counts every open deal."
                )
        body = "".join(f"<li>{_esc(x)}</li>" for x in items)
        return present.HTML(self._h2("method") + f"<ul>{body}</ul>")

    def __repr__(self) -> str:
        dates = ", ".join(str(d.date()) for d in self.as_of_dates)
        return f"BacktestReport({dates}; {len(self.rows):,} rows, {self.n_trials:,} trials)"


def backtest_report(
    as_of_dates="",
    horizon="quarter",
    *,
    data,
    n_trials: int = 2_000,
    seed: int = 0,
    lang: str = "zh-CN",
    result: pd.DataFrame | None = None,
) -> BacktestReport:
    """Backtest the forecast from ``as_of_dates`` (or take ``result``) and lay it out.

    Parameters
    ----------
    as_of_dates : str or sequence of dates
        ``"2026-03-31,2026-06-30"`` or a list; ``""``: the last 4 period ends with a
        whole window of data after them (:func:`default_as_of_dates`).
    horizon : str or int
        ``"quarter"``, ``"month"`` or a number of days.
    n_trials, seed
        Monte Carlo trials per date and their seed (:func:`simlib.backtest.backtest`).
    result : DataFrame, optional
        Rows of :func:`simlib.backtest.backtest` already computed; used as they are
        (their as-of dates are the report's).
    """
    _check_lang(lang)
    if not isinstance(n_trials, (int, np.integer)) or isinstance(n_trials, bool) or n_trials < 1:
        raise ValueError(f"n_trials must be a whole number of at least 1; got {n_trials!r}")
    horizon = parse_horizon(horizon)
    if result is None:
        dates = parse_as_of_dates(as_of_dates) if as_of_dates not in ("", None) else []
        if not dates:
            dates = default_as_of_dates(data, horizon)
        result = backtest(data, dates, horizon, n_trials=n_trials, seed=seed)
    else:
        dates = sorted({pd.Timestamp(d) for d in result["as_of"]})
    rows = result.reset_index(drop=True)
    summary = (
        summarise_backtest(rows)
        if len(rows)
        else pd.DataFrame(
            columns=[
                "level",
                "rows",
                "coverage_p10_p90",
                "pinball_ratio",
                "wape",
                "crm_wape",
                "bias",
                "crm_bias",
                "mae_p50",
                "mae_crm",
            ]
        )
    )
    zh = lang == "zh-CN"
    org = data.org
    top = org[org["level"] == "company"]
    company = _name(next(top.itertuples(index=False)), zh) if len(top) else ""
    names = {rec.node_id: _name(rec, zh) for rec in org.itertuples(index=False)}
    parents = {
        rec.node_id: rec.parent_id
        for rec in org.itertuples(index=False)
        if isinstance(rec.parent_id, str)
    }
    return BacktestReport(
        as_of_dates=tuple(dates),
        horizon=horizon,
        n_trials=int(n_trials),
        seed=int(seed),
        lang=lang,
        currency=default_currency(),
        company=str(company),
        source=_source_text(data, lang),
        rows=rows,
        summary=summary,
        snapshot="stage_history" in tuple(getattr(data, "derived", ()) or ()),
        names=names,
        parents=parents,
        rep_team=dict(zip(data.reps["rep_id"], data.reps["team_id"])),
    )
