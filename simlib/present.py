"""Numbers, tables and page furniture for people: the one formatting path of apps and reports.

Every screen and report page shows amounts in **one unit system** (a :class:`Units`
chosen once per page: 万 in zh-CN, millions or thousands in English, or yuan to the
cent on a pay page), shares as %, counts as integers, and a missing value as "—"
(or the reason it is missing). Tables are built by :func:`table` from a frame and a list
of :class:`Col`: localised headers with the unit in them, no index column, escaped text,
numbers right-aligned, and "top N of M" said when a long table is cut. Status colours
come from :data:`STATUS_COLORS`, so a bar and the status text beside it agree.

>>> u = Units("zh-CN")
>>> u.amount(1_570_000_000), u.amount(1_570_000_000, unit=True), u.header("目标", "Target")
('157,000.0', '157,000.0万元', '目标（万元）')
>>> e = Units("en")
>>> e.amount(1_570_000_000), e.amount(1_570_000_000, unit=True), e.header("目标", "Target")
('1,570.00', '¥1,570.00M', 'Target (¥M)')
>>> Units("en", scale="yuan").amount(12345.675, unit=True)
'¥12,345.68'
>>> pct(0.2213), pct(None), count(15.0), count(float("nan"))
('22.1%', '—', '15', '—')
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from simlib.i18n import check_lang, escape

__all__ = [
    "MISSING",
    "STATUS_COLORS",
    "PAGE_CSS",
    "Col",
    "Units",
    "apology",
    "cards",
    "count",
    "field_error",
    "footer",
    "is_missing",
    "number",
    "pct",
    "pp",
    "status_color",
    "table",
]

#: What a reader sees for a value that is not there (with a reason when one is known).
MISSING = "—"

_SYMBOL = {"CNY": "¥", "USD": "$", "EUR": "€"}

#: Scales a page can choose: (divisor, decimals, zh suffix, en suffix).
_SCALES: dict[str, tuple[int, int, str, str]] = {
    "wan": (10_000, 1, "万", "0k"),  # en suffix unused: 万 is a Chinese unit
    "yi": (100_000_000, 2, "亿", "00M"),
    "m": (1_000_000, 2, "百万", "M"),
    "k": (1_000, 0, "千", "k"),
    "yuan": (1, 2, "", ""),
}


def is_missing(x: Any) -> bool:
    """None, NaN, NaT or pandas NA."""
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN, NaT
    except (TypeError, ValueError):  # pandas.NA raises on bool()
        return True


def _round(x: float, decimals: int) -> Decimal:
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def number(x: Any, decimals: int = 0, *, missing: str = MISSING) -> str:
    """``1234.5 → '1,235'`` (``decimals`` after the point, half up); missing → "—"."""
    if is_missing(x):
        return missing
    d = _round(x, decimals)
    if d == 0:
        d = abs(d)  # no "-0.0"
    return f"{d:,.{decimals}f}"


def count(x: Any, *, missing: str = MISSING) -> str:
    """A count as an integer: ``15.0 → '15'``."""
    return number(x, 0, missing=missing)


def pct(x: Any, decimals: int = 1, *, missing: str = MISSING, sign: bool = False) -> str:
    """A share as %: ``0.2213 → '22.1%'``; with ``sign`` a change: ``+3.0%``."""
    if is_missing(x) or (isinstance(x, float) and math.isinf(x)):
        return missing
    s = number(100 * float(x), decimals)
    return f"+{s}%" if sign and float(x) > 0 and s.strip("0.,") else f"{s}%"


def pp(x: Any, decimals: int = 1, *, missing: str = MISSING) -> str:
    """A difference of two shares in percentage points: ``0.031 → '+3.1 pp'``."""
    if is_missing(x):
        return missing
    s = number(100 * float(x), decimals)
    return f"{'+' if float(x) > 0 else ''}{s} pp"


@dataclass(frozen=True)
class Units:
    """The amount unit of one page, chosen once and used by every number on it.

    ``scale``: ``"wan"`` (万, the zh-CN default), ``"yi"`` (亿), ``"m"`` (millions, the
    English default), ``"k"`` (thousands) or ``"yuan"`` (whole currency, to the cent: pay
    statements). Column headers carry the unit (:meth:`header`), cells the bare number
    (:meth:`amount`); a headline states it (``unit=True``).
    """

    lang: str = "en"
    scale: str | None = None
    currency: str = "CNY"

    def __post_init__(self):
        check_lang(self.lang)
        if self.scale is None:
            object.__setattr__(self, "scale", "wan" if self.lang == "zh-CN" else "m")
        if self.scale not in _SCALES:
            raise ValueError(f"scale must be one of {sorted(_SCALES)}; got {self.scale!r}")
        if self.currency not in _SYMBOL:
            raise ValueError(f"currency must be one of {sorted(_SYMBOL)}; got {self.currency!r}")

    @property
    def zh(self) -> bool:
        return self.lang == "zh-CN"

    @property
    def divisor(self) -> int:
        return _SCALES[self.scale][0]

    @property
    def decimals(self) -> int:
        return _SCALES[self.scale][1]

    def label(self) -> str:
        """The unit as a header says it: ``万元``, ``¥M``, ``¥``."""
        div, _, zh_suffix, en_suffix = _SCALES[self.scale]
        sym = _SYMBOL[self.currency]
        if self.zh:
            cur = {"CNY": "元", "USD": "美元", "EUR": "欧元"}[self.currency]
            return f"{zh_suffix}{cur}"
        if self.scale in ("wan", "yi"):  # an English page asked for a Chinese unit
            return f"{sym}{'10k' if self.scale == 'wan' else '100M'}"
        return f"{sym}{en_suffix}"

    def header(self, zh: str, en: str) -> str:
        """A column header with the page's unit: ``目标（万元）`` / ``Target (¥M)``."""
        return f"{zh}（{self.label()}）" if self.zh else f"{en} ({self.label()})"

    def value(self, amount: Any) -> float:
        """An amount in the page's unit (a plain float, for charts)."""
        return float(amount) / self.divisor

    def amount(
        self,
        amount: Any,
        *,
        unit: bool = False,
        decimals: int | None = None,
        sign: bool = False,
        missing: str = MISSING,
    ) -> str:
        """An amount in the page's unit: ``'157,000.0'``; with ``unit`` ``'157,000.0万元'``."""
        if is_missing(amount):
            return missing
        d = self.decimals if decimals is None else decimals
        s = number(float(amount) / self.divisor, d)
        if sign and float(amount) > 0 and s.strip("0.,"):
            s = "+" + s
        if not unit:
            return s
        if self.zh:
            return f"{s}{self.label()}"
        sym = _SYMBOL[self.currency]
        neg = s.startswith("-")
        body = s.lstrip("+-")
        pre = "-" if neg else ("+" if s.startswith("+") else "")
        suffix = self.label()[len(sym) :]
        return f"{pre}{sym}{body}{suffix}"

    def axis_formatter(self) -> Callable[[float, Any], str]:
        """A matplotlib tick formatter for amounts in currency (no ``1e7`` offset): the
        ticks in the page's unit with as many decimals as their spacing needs (ticks
        0.5M apart read 0.5, 1.0, 1.5; never 0, 0, 1)."""
        from matplotlib.ticker import Formatter

        divisor = self.divisor

        class _Amounts(Formatter):
            _ticks: tuple = ()

            def set_locs(self, locs):
                self._ticks = tuple(locs)

            def __call__(self, v, pos=None):
                locs = sorted(float(x) / divisor for x in self._ticks)
                steps = [b - a for a, b in zip(locs, locs[1:]) if b > a]
                step = min(steps) if steps else (abs(v / divisor) or 1.0)
                # as many decimals as the ticks need to be told apart and read exactly
                # (0.5 apart: 1; 2.5 apart: 1; 0.25 apart: 2), never more than 3
                decimals = next(
                    (d for d in range(4) if abs(round(step, d) - step) <= 1e-9 * max(1, step)), 3
                )
                return number(v / divisor, decimals)

        return _Amounts()

    def axis_label(self, zh: str, en: str) -> str:
        """An axis title with the unit, as :meth:`header`."""
        return self.header(zh, en)

    def format_axis(self, ax, which: str = "y", *, zh: str = "金额", en: str = "Amount") -> None:
        """Put the page's unit on a matplotlib axis of amounts (ticks and title)."""
        axis = ax.yaxis if which == "y" else ax.xaxis
        axis.set_major_formatter(self.axis_formatter())
        (ax.set_ylabel if which == "y" else ax.set_xlabel)(self.axis_label(zh, en))


#: Status → colour, shared by charts, tables and legends so they always agree.
STATUS_COLORS: dict[str, str] = {
    "green": "#2e7d32",
    "amber": "#f9a825",
    "red": "#c62828",
    "grey": "#9e9e9e",
}


def status_color(status: str) -> str:
    """The colour of a status (``green``/``amber``/``red``; anything else grey)."""
    return STATUS_COLORS.get(status, STATUS_COLORS["grey"])


@dataclass(frozen=True)
class Col:
    """One column of a people's table.

    ``kind``: ``text`` (escaped), ``amount`` (in the page's :class:`Units`, unit in the
    header), ``pct``, ``pp``, ``count``, ``number`` (``decimals``), ``date``, or ``html``
    (already safe markup, e.g. a status badge built here). ``missing`` is what an empty
    cell says ("—" by default; say why when the reason is known, e.g. "no history").
    """

    key: str
    zh: str
    en: str
    kind: str = "text"
    decimals: int = 1
    missing: str = MISSING
    fmt: Callable[[Any], str] | None = field(default=None, compare=False)

    def header(self, units: Units) -> str:
        if self.kind == "amount":
            return units.header(self.zh, self.en)
        return self.zh if units.zh else self.en

    def cell(self, value: Any, units: Units) -> str:
        """The cell's HTML."""
        if self.fmt is not None:
            return escape(self.fmt(value)) if not is_missing(value) else escape(self.missing)
        if is_missing(value):
            return escape(self.missing)
        k = self.kind
        if k == "amount":
            return units.amount(value)
        if k == "pct":
            return pct(value, self.decimals)
        if k == "pp":
            return pp(value, self.decimals)
        if k == "count":
            return count(value)
        if k == "number":
            return number(value, self.decimals)
        if k == "date":
            return escape(str(value)[:10])
        if k == "html":
            return str(value)
        return escape(value)

    @property
    def numeric(self) -> bool:
        return self.kind in ("amount", "pct", "pp", "count", "number")


class HTML(str):
    """A string of safe HTML that a notebook displays as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


def table(
    frame,
    columns: Sequence[Col],
    units: Units,
    *,
    top: int | None = None,
    caption: str = "",
    sorted_by: str = "",
    empty: tuple[str, str] = ("无数据", "Nothing to show"),
    row_class: Callable[[Any], str] | None = None,
) -> HTML:
    """A table for people, as safe HTML.

    Only ``columns`` are shown, in their order, with localised headers; no index. With
    ``top`` and more rows than that, the first ``top`` rows are shown and the caption says
    "top N of M" (``sorted_by`` names the order). Rows whose ``row_class(row)`` is
    non-empty get that CSS class (e.g. ``"total"``).
    """
    zh = units.zh
    n = len(frame)
    if n == 0:
        return HTML(f'<p class="simlib-empty">{escape(empty[0] if zh else empty[1])}</p>')
    shown = frame.iloc[:top] if top is not None and n > top else frame
    note = ""
    if len(shown) < n:
        if zh:
            by = f"，按{sorted_by}排序" if sorted_by else ""
            note = f"前 {len(shown)} 行（共 {n} 行）{by}"
        else:
            note = f"Top {len(shown)} of {n}" + (f", by {sorted_by}" if sorted_by else "")
    head = "".join(
        f'<th class="{"num" if c.numeric else "txt"}">{escape(c.header(units))}</th>'
        for c in columns
    )
    rows = []
    for rec in shown.to_dict("records"):
        cls = row_class(rec) if row_class else ""
        cells = "".join(
            f'<td class="{"num" if c.numeric else "txt"}">{c.cell(rec.get(c.key), units)}</td>'
            for c in columns
        )
        rows.append(f'<tr class="{escape(cls)}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    cap = " · ".join(x for x in (escape(caption) if caption else "", escape(note)) if x)
    cap_html = f"<caption>{cap}</caption>" if cap else ""
    return HTML(
        f'<table class="simlib-table">{cap_html}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def cards(
    items: Sequence[tuple[str, str]],
    *,
    status: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
) -> HTML:
    """Headline cards: each ``(label, value)`` already formatted (values in the page's
    unit, with it); ``status`` colours the value (green/amber/red) when given; ``keys``
    give each card the CSS class ``simlib-card-KEY`` (for tests and styling)."""
    out = []
    for i, (k, v) in enumerate(items):
        color = f' style="color:{status_color(status[i])}"' if status and status[i] else ""
        extra = f" simlib-card-{escape(keys[i]).replace('_', '-')}" if keys else ""
        out.append(
            f'<div class="simlib-card{extra}"><div class="k">{escape(k)}</div>'
            f'<div class="v"{color}>{escape(v)}</div></div>'
        )
    return HTML(f'<div class="simlib-cards">{"".join(out)}</div>')


def footer(
    *,
    lang: str,
    fingerprint: str = "",
    params: dict[str, Any] | None = None,
    when: str = "",
    source: str = "",
) -> HTML:
    """The provenance line at the foot of a page: data fingerprint, parameters, time."""
    zh = lang == "zh-CN"
    parts = []
    if source:
        parts.append(("数据：" if zh else "Data: ") + escape(source))
    if fingerprint:
        parts.append(("数据指纹 " if zh else "data fingerprint ") + escape(fingerprint[:12]))
    if params:
        shown = ", ".join(f"{escape(k)}={escape(v)}" for k, v in params.items() if v != "")
        parts.append(("参数：" if zh else "parameters: ") + shown)
    if when:
        parts.append(("生成于 " if zh else "produced ") + escape(when))
    parts.append("simlib")
    return HTML(f'<footer class="simlib-footer">{" · ".join(parts)}</footer>')


def field_error(message: str) -> HTML:
    """A validation message shown next to the control that caused it."""
    return HTML(f'<div class="simlib-field-error" role="alert">{escape(message)}</div>')


def apology(lang: str, ref: str = "") -> HTML:
    """What an app shows instead of an internal error: a short apology and what to do."""
    zh = lang == "zh-CN"
    text = (
        "抱歉，这一步没有算出来。已记录日志"
        + (f"（编号 {ref}）" if ref else "")
        + "。请换一个设置再试，或重新打开页面。"
        if zh
        else "Sorry, this view could not be computed. The error was logged"
        + (f" (ref {ref})" if ref else "")
        + ". Try another setting, or reload the page."
    )
    return HTML(f'<div class="simlib-apology" role="alert">{html.escape(text)}</div>')


#: The look of tables, headlines, errors and footers, on screen and in print (A4).
PAGE_CSS = """
.simlib-table { border-collapse: collapse; margin: 0.4em 0 1em; font-size: 13px;
  font-variant-numeric: tabular-nums; }
.simlib-table caption { caption-side: bottom; text-align: left; color: #666;
  font-size: 12px; padding-top: 4px; }
.simlib-table th { background: #f3f4f6; font-weight: 600; border-bottom: 2px solid #ccc;
  padding: 4px 10px; white-space: nowrap; }
.simlib-table td { border-bottom: 1px solid #e5e5e5; padding: 3px 10px; }
table.simlib-table td.num, table.simlib-table th.num { text-align: right; white-space: nowrap; }
/* more specific than JupyterLab's own "td { text-align: right }" in rendered pages */
table.simlib-table td.txt, table.simlib-table th.txt { text-align: left; }
.simlib-table tr.total td { font-weight: 600; border-top: 2px solid #999; }
.simlib-badge { display: inline-block; padding: 0 6px; border-radius: 8px; color: #fff;
  font-size: 12px; }
.simlib-cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 0.5em 0 1em; }
.simlib-card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px;
  min-width: 150px; }
.simlib-card .k { color: #555; font-size: 12px; }
.simlib-card .v { font-size: 22px; font-weight: 600; }
.simlib-field-error { color: #b71c1c; font-size: 13px; margin: 2px 0 6px; }
.simlib-apology { color: #5d4037; background: #fff8e1; border: 1px solid #ffe082;
  padding: 8px 12px; border-radius: 4px; }
.simlib-empty { color: #666; font-style: italic; }
.simlib-footer { color: #777; font-size: 11px; border-top: 1px solid #ddd;
  margin-top: 2em; padding-top: 6px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 11pt; }
  .simlib-table, figure, img, .simlib-cards { page-break-inside: avoid; break-inside: avoid; }
  h1, h2, h3 { page-break-after: avoid; break-after: avoid; }
  img { max-width: 100% !important; height: auto !important; }
}
"""
