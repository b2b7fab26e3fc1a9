"""A customer's needs: read, checked against the catalogue and the customers (SPEC R19).

What a rep writes down (a YAML or CSV file, command-line flags, or the app's form —
all give the same plain ``dict`` to :func:`resolve_needs`)::

    budget: 2000000            # or budget_min / budget_max (a range); optional
    lines: [IoT Platform]      # product lines of interest (names, either language)
    products: [Vibration Sensor Kit]   # products of interest (id or name)
    size: 50                   # the customer's size in the price book's size unit
    industry: Manufacturing
    customer_type: smb         # smb | key_account (or "key account", 大客户, 中小企业)
    must_have: [IoT Platform License]  # products or product lines that must be covered
    exclude: [Digital Twin Suite]      # products or product lines never proposed
    start_date: 2027-01-15
    discount: 0.08             # extra discount asked for, on top of the price book
    customer: C00001           # an existing customer (fills industry and type)
    owner: S003                # the rep who owns it (default: the customer's owner)
    opportunity: OPP044015     # an open opportunity this proposal updates

Every problem is a :class:`NeedsProblem` naming the field, with the message in both
languages (for the form: show ``problem.text(lang)`` next to the control); all of them
at once in one :class:`NeedsError`. An unknown product, line, industry or customer is
named with the closest one that exists.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from simlib.i18n import CATEGORIES
from simlib.money import to_cents

__all__ = [
    "FIELDS",
    "Needs",
    "NeedsError",
    "NeedsProblem",
    "read_needs",
    "resolve_needs",
]

#: Every field a needs file may hold.
FIELDS = (
    "budget",
    "budget_min",
    "budget_max",
    "lines",
    "products",
    "size",
    "industry",
    "customer_type",
    "must_have",
    "exclude",
    "start_date",
    "discount",
    "customer",
    "owner",
    "opportunity",
)
_LIST_FIELDS = ("lines", "products", "must_have", "exclude")

_CUSTOMER_TYPES = {
    "smb": "smb",
    "small business": "smb",
    "small and medium business": "smb",
    "中小企业": "smb",
    "中小客户": "smb",
    "key_account": "key_account",
    "key account": "key_account",
    "key accounts": "key_account",
    "大客户": "key_account",
}


@dataclass(frozen=True)
class NeedsProblem:
    """One thing wrong with the needs: the field, and what is wrong in both languages."""

    field: str
    en: str
    zh: str

    def text(self, lang: str = "en") -> str:
        return self.zh if lang == "zh-CN" else self.en

    def __str__(self) -> str:
        return f"{self.field}: {self.en}"


class NeedsError(ValueError):
    """The needs cannot be met as written; ``problems`` says every reason."""

    def __init__(self, problems: list[NeedsProblem]):
        self.problems = list(problems)
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        head = "这些需求无法满足：" if lang == "zh-CN" else "the needs cannot be met:"
        if len(self.problems) == 1:
            p = self.problems[0]
            return (f"{_FIELD_ZH.get(p.field, p.field)}：{p.zh}") if lang == "zh-CN" else str(p)
        lines = [
            (f"{_FIELD_ZH.get(p.field, p.field)}：{p.zh}" if lang == "zh-CN" else str(p))
            for p in self.problems
        ]
        return head + "\n  " + "\n  ".join(lines)


_FIELD_ZH = {
    "budget": "预算",
    "budget_min": "预算下限",
    "budget_max": "预算上限",
    "lines": "产品线",
    "products": "产品",
    "size": "规模",
    "industry": "行业",
    "customer_type": "客户类型",
    "must_have": "必备项",
    "exclude": "排除项",
    "start_date": "期望开始日期",
    "discount": "额外折扣",
    "customer": "客户",
    "owner": "负责销售",
    "opportunity": "商机",
    "needs": "需求",
}


@dataclass(frozen=True)
class Needs:
    """Needs checked against the catalogue: ids, not names; money in cents.

    ``candidates`` are the products that may be proposed (of interest, less the
    exclusions, plus the must-haves); ``must_products`` must be fully covered;
    each of ``must_lines`` needs at least one of its products fully covered.
    """

    size: int
    candidates: tuple[str, ...]
    must_products: tuple[str, ...] = ()
    must_lines: tuple[str, ...] = ()
    named_products: tuple[str, ...] = ()
    budget_cents: int | None = None  # the most the customer will spend
    budget_min_cents: int | None = None
    industry: str | None = None
    customer_type: str | None = None
    start_date: dt.date | None = None
    discount: Decimal = Decimal(0)
    customer_id: str | None = None
    customer_name: str | None = None
    owner_id: str | None = None
    opportunity_id: str | None = None
    excluded: tuple[str, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, repr=False)


# --------------------------------------------------------------------------- reading


def read_needs(path: str | Path) -> dict:
    """A needs file as a plain dict: YAML (a mapping) or CSV (a header row of field
    names and one row of values; lists separated by ``;``)."""
    path = Path(path)
    if not path.is_file():
        raise NeedsError([NeedsProblem("needs", f"no such file: {path}", f"找不到文件：{path}")])
    if path.suffix.lower() == ".csv":
        import csv

        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        if len(rows) != 1:
            raise NeedsError(
                [
                    NeedsProblem(
                        "needs",
                        f"{path.name}: expected a header row and exactly one row of needs; "
                        f"got {len(rows)} rows",
                        f"{path.name}：应有一行表头和一行需求，实际为 {len(rows)} 行",
                    )
                ]
            )
        raw = {str(k).strip(): v for k, v in rows[0].items() if k and v not in (None, "")}
        for k in _LIST_FIELDS:
            if isinstance(raw.get(k), str):
                raw[k] = [s.strip() for s in raw[k].split(";") if s.strip()]
        return raw
    from simlib.config import ParamError, load_yaml

    try:
        data = load_yaml(path)
    except ParamError as e:
        raise NeedsError([NeedsProblem("needs", str(e), str(e))]) from None
    if not isinstance(data, dict):
        raise NeedsError(
            [
                NeedsProblem(
                    "needs",
                    f"{path.name}: expected a mapping of fields (budget, lines, size, ...)",
                    f"{path.name}：应为字段映射（budget、lines、size 等）",
                )
            ]
        )
    return data


# --------------------------------------------------------------------------- checking


def _closest(text: str, options: dict[str, str]) -> str | None:
    """The shown name of the option closest to ``text`` (keys casefolded)."""
    close = difflib.get_close_matches(text.casefold(), list(options), n=1, cutoff=0.5)
    return options[close[0]] if close else None


def _amount(raw, name: str, problems: list) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        if isinstance(raw, bool):
            raise ValueError
        if isinstance(raw, str):
            import pandas as pd

            from simlib.data.io import parse_amounts

            val, bad = parse_amounts(pd.Series([raw]))
            if bad.iloc[0] or val.isna().iloc[0]:
                raise ValueError
            raw = float(val.iloc[0])
        cents = to_cents(raw)
    except (ValueError, TypeError, InvalidOperation, ArithmeticError):
        problems.append(
            NeedsProblem(
                name,
                f"not an amount: {raw!s}; write it like 2000000 or 200万",
                f"不是金额：{raw!s}；请写成 2000000 或 200万",
            )
        )
        return None
    if cents <= 0:
        shown = f"{cents / 100:,.2f}"
        problems.append(
            NeedsProblem(
                name,
                f"a budget must be above zero; got {shown}",
                f"预算必须大于零；当前为 {shown}",
            )
        )
        return None
    return cents


def _as_list(raw) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        return [s.strip() for s in raw.replace("；", ";").replace(",", ";").split(";") if s.strip()]
    if isinstance(raw, (list, tuple)):
        return [str(s).strip() for s in raw if str(s).strip()]
    return [str(raw)]


class _Catalogue:
    """Names → product ids and product lines (either language, any case)."""

    def __init__(self, products):
        self.products: dict[str, str] = {}
        self.lines: dict[str, str] = {}
        self.line_products: dict[str, list[str]] = {}
        self.shown: dict[str, str] = {}
        self.order = [str(p) for p in products["product_id"]]
        for r in products.to_dict("records"):
            pid = str(r["product_id"])
            for s in (pid, r.get("name"), r.get("name_zh")):
                if isinstance(s, str) and s:
                    self.products.setdefault(s.casefold(), pid)
                    self.shown.setdefault(s.casefold(), s)
            line = r.get("product_line")
            if isinstance(line, str) and line:
                self.line_products.setdefault(line, []).append(pid)
                for s in (line, r.get("product_line_zh"), _LINE_ZH.get(line)):
                    if isinstance(s, str) and s:
                        self.lines.setdefault(s.casefold(), line)
                        self.shown.setdefault(s.casefold(), s)

    def find(self, name: str, what: str, problems: list, fld: str) -> tuple[str, str] | None:
        """``("product", id)`` or ``("line", line)``; a problem naming the closest."""
        key = name.casefold()
        if what in ("product", "either") and key in self.products:
            return "product", self.products[key]
        if what in ("line", "either") and key in self.lines:
            return "line", self.lines[key]
        pool = {}
        if what in ("product", "either"):
            pool.update({k: self.shown[k] for k in self.products})
        if what in ("line", "either"):
            pool.update({k: self.shown[k] for k in self.lines})
        close = _closest(name, pool)
        kind_en = {
            "product": "product",
            "line": "product line",
            "either": "product or product line",
        }[what]
        kind_zh = {"product": "产品", "line": "产品线", "either": "产品或产品线"}[what]
        hint_en = f"; did you mean {close!r}?" if close else ""
        hint_zh = f"；您是否指“{close}”？" if close else ""
        problems.append(
            NeedsProblem(
                fld,
                f"no {kind_en} {name!r} in the catalogue{hint_en}",
                f"产品目录中没有{kind_zh}“{name}”{hint_zh}",
            )
        )
        return None


#: Product lines in Chinese (a catalogue may carry its own ``product_line_zh``, which wins).
_LINE_ZH = {k: zh for k, (_, zh) in CATEGORIES.items()}


def resolve_needs(raw: dict, data, book, *, lang: str = "en") -> Needs:
    """Check ``raw`` needs (from :func:`read_needs`, flags or a form) against ``data``
    (its products, customers, reps and opportunities) and the price ``book``.

    Raises :class:`NeedsError` listing every problem (unknown fields, products, lines,
    industry, customer; a budget at or below zero or a range upside down; a size that
    is not a whole number above zero; a must-have that is also excluded; an extra
    discount above the director's authority; nothing left to propose).
    """
    problems: list[NeedsProblem] = []
    raw = {str(k).strip(): v for k, v in dict(raw or {}).items()}
    for k in raw:
        if k not in FIELDS:
            close = difflib.get_close_matches(k, FIELDS, n=1)
            h_en = f"; did you mean {close[0]!r}?" if close else ""
            h_zh = f"；您是否指 {close[0]}？" if close else ""
            problems.append(
                NeedsProblem(
                    k,
                    f"not a field of the needs{h_en} (fields: {', '.join(FIELDS)})",
                    f"不是需求字段{h_zh}（字段：{', '.join(FIELDS)}）",
                )
            )
    cat = _Catalogue(data.products)

    # budget
    budget = _amount(raw.get("budget"), "budget", problems)
    bmin = _amount(raw.get("budget_min"), "budget_min", problems)
    bmax = _amount(raw.get("budget_max"), "budget_max", problems)
    if budget is not None and bmax is not None and budget != bmax:
        problems.append(
            NeedsProblem(
                "budget",
                "give either budget or budget_max, not both",
                "预算与预算上限只能填写其一",
            )
        )
    top = bmax if bmax is not None else budget
    if bmin is not None and top is not None and bmin > top:
        problems.append(
            NeedsProblem(
                "budget_min",
                f"the range is upside down: {bmin / 100:,.2f} is above {top / 100:,.2f}",
                f"预算区间颠倒：下限 {bmin / 100:,.2f} 高于上限 {top / 100:,.2f}",
            )
        )

    # size
    size = raw.get("size")
    size_ok = None
    if size is None or size == "":
        size_ok = 1
    else:
        try:
            f = float(size) if not isinstance(size, bool) else float("nan")
            if not f == f or f != int(f) or f < 1:
                raise ValueError
            size_ok = int(f)
        except (ValueError, TypeError):
            problems.append(
                NeedsProblem(
                    "size",
                    f"the size must be a whole number of {book.size_unit[0]}, at least 1; "
                    f"got {size!s}",
                    f"规模须为至少 1 的整数（{book.size_unit[1]}）；当前为 {size!s}",
                )
            )

    # extra discount
    disc = Decimal(0)
    d_raw = raw.get("discount")
    if d_raw not in (None, ""):
        try:
            text = str(d_raw).strip()
            disc = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
            if not disc.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            problems.append(
                NeedsProblem(
                    "discount",
                    f"not a discount: {d_raw!s}; write 8% or 0.08",
                    f"不是折扣：{d_raw!s}；请写成 8% 或 0.08",
                )
            )
            disc = Decimal(0)
        else:
            pct = f"{(disc * 100).normalize():f}%"
            top_a = book.authority["director"]
            if disc < 0:
                problems.append(
                    NeedsProblem(
                        "discount",
                        f"a discount cannot be negative; got {pct}",
                        f"折扣不能为负；当前为 {pct}",
                    )
                )
                disc = Decimal(0)
            elif disc > top_a:
                cap = f"{(top_a * 100).normalize():f}%"
                problems.append(
                    NeedsProblem(
                        "discount",
                        f"{pct} is above what anyone may grant: a director's authority is {cap}",
                        f"{pct} 超出任何人的审批权限：总监最多可给 {cap}",
                    )
                )
                disc = Decimal(0)

    # start date
    start = None
    s_raw = raw.get("start_date")
    if s_raw not in (None, ""):
        if isinstance(s_raw, dt.datetime):
            start = s_raw.date()
        elif isinstance(s_raw, dt.date):
            start = s_raw
        else:
            try:
                start = dt.date.fromisoformat(str(s_raw).strip())
            except ValueError:
                problems.append(
                    NeedsProblem(
                        "start_date",
                        f"not a date: {s_raw!s}; write it like 2027-01-15",
                        f"不是日期：{s_raw!s}；请写成 2027-01-15",
                    )
                )

    # customer, owner, opportunity
    cust_id = cust_name = owner = opp_id = None
    industry = raw.get("industry")
    ctype = raw.get("customer_type")
    customers = data.tables.get("customers")
    c_raw = raw.get("customer")
    if c_raw not in (None, "") and customers is not None:
        c_raw = str(c_raw).strip()
        by, shown = {}, {}
        for r in customers[["customer_id", "name"]].to_dict("records"):
            for s in (str(r["customer_id"]), str(r["name"])):
                by.setdefault(s.casefold(), r)
                shown.setdefault(s.casefold(), s)
        hit = by.get(c_raw.casefold())
        if hit is None:
            close = _closest(c_raw, shown)
            problems.append(
                NeedsProblem(
                    "customer",
                    f"no customer {c_raw!r}" + (f"; did you mean {close!r}?" if close else ""),
                    f"没有客户“{c_raw}”" + (f"；您是否指“{close}”？" if close else ""),
                )
            )
        else:
            row = customers[customers["customer_id"] == hit["customer_id"]].iloc[0]
            cust_id, cust_name = str(row["customer_id"]), str(row["name"])
            industry = industry if industry not in (None, "") else row.get("industry")
            ctype = ctype if ctype not in (None, "") else row.get("customer_type")
            owner = str(row["owner_id"]) if isinstance(row.get("owner_id"), str) else None
    if industry not in (None, "") and customers is not None:
        known = {str(x).casefold(): str(x) for x in customers["industry"].dropna().unique()}
        known.update(
            {zh.casefold(): en for en, zh in INDUSTRY_ZH.items() if en.casefold() in known}
        )
        hit = known.get(str(industry).strip().casefold())
        if hit is None:
            close = _closest(str(industry), known)
            problems.append(
                NeedsProblem(
                    "industry",
                    f"no customers in industry {industry!r}"
                    + (f"; did you mean {close!r}?" if close else ""),
                    f"没有“{industry}”行业的客户" + (f"；您是否指“{close}”？" if close else ""),
                )
            )
            industry = None
        else:
            industry = hit
    else:
        industry = None
    if ctype not in (None, ""):
        t = _CUSTOMER_TYPES.get(str(ctype).strip().casefold().replace("-", " "))
        if t is None:
            problems.append(
                NeedsProblem(
                    "customer_type",
                    f"not a customer type: {ctype!s}; one of smb, key_account",
                    f"不是客户类型：{ctype!s}；应为中小企业（smb）或大客户（key_account）",
                )
            )
        ctype = t
    else:
        ctype = None
    o_raw = raw.get("owner")
    if o_raw not in (None, ""):
        reps = data.reps
        by = {}
        for r in reps.to_dict("records"):
            for s in (r.get("rep_id"), r.get("name"), r.get("name_zh")):
                if isinstance(s, str) and s:
                    by.setdefault(s.casefold(), str(r["rep_id"]))
        owner = by.get(str(o_raw).strip().casefold())
        if owner is None:
            close = _closest(str(o_raw), {k: k for k in by})
            problems.append(
                NeedsProblem(
                    "owner",
                    f"no rep {o_raw!s}" + (f"; did you mean {close!r}?" if close else ""),
                    f"没有销售“{o_raw}”" + (f"；您是否指“{close}”？" if close else ""),
                )
            )
    p_raw = raw.get("opportunity")
    if p_raw not in (None, ""):
        from simlib.data.schema import OPEN_STAGES

        opp = data.opportunities
        hit = opp[opp["opportunity_id"].astype(str) == str(p_raw).strip()]
        if hit.empty or hit.iloc[0]["stage"] not in OPEN_STAGES:
            problems.append(
                NeedsProblem(
                    "opportunity",
                    f"{p_raw!s} is not an open opportunity",
                    f"{p_raw!s} 不是进行中的商机",
                )
            )
        else:
            opp_id = str(hit.iloc[0]["opportunity_id"])
            if cust_id is not None and str(hit.iloc[0]["customer_id"]) != cust_id:
                problems.append(
                    NeedsProblem(
                        "opportunity",
                        f"{opp_id} belongs to another customer",
                        f"{opp_id} 属于其他客户",
                    )
                )
            owner = owner or str(hit.iloc[0]["owner_id"])

    # products: interest, must-haves, exclusions
    interest: list[str] = []
    named: list[str] = []
    for name in _as_list(raw.get("lines")):
        hit = cat.find(name, "line", problems, "lines")
        if hit:
            interest += cat.line_products[hit[1]]
    for name in _as_list(raw.get("products")):
        hit = cat.find(name, "product", problems, "products")
        if hit:
            interest.append(hit[1])
            named.append(hit[1])
    if not _as_list(raw.get("lines")) and not _as_list(raw.get("products")):
        interest = list(cat.order)
    excluded: list[str] = []
    for name in _as_list(raw.get("exclude")):
        hit = cat.find(name, "either", problems, "exclude")
        if hit:
            excluded += [hit[1]] if hit[0] == "product" else cat.line_products[hit[1]]
    must_p: list[str] = []
    must_l: list[str] = []
    for name in _as_list(raw.get("must_have")):
        hit = cat.find(name, "either", problems, "must_have")
        if not hit:
            continue
        if hit[0] == "product":
            if hit[1] in excluded:
                problems.append(
                    NeedsProblem(
                        "must_have",
                        f"{name!r} is both a must-have and excluded",
                        f"“{name}”既是必备项又被排除",
                    )
                )
            must_p.append(hit[1])
        else:
            left = [p for p in cat.line_products[hit[1]] if p not in excluded]
            if not left:
                problems.append(
                    NeedsProblem(
                        "must_have",
                        f"every product of the line {name!r} is excluded",
                        f"产品线“{name}”的所有产品均被排除",
                    )
                )
            must_l.append(hit[1])
            interest += left
    missing = [p for p in must_p + interest if p not in book.entries]
    for p in dict.fromkeys(missing):
        problems.append(
            NeedsProblem(
                "products", f"{p} has no price in the price book", f"{p} 在价目表中没有价格"
            )
        )
    cands = [
        p
        for p in cat.order
        if (p in interest or p in must_p)
        and (p not in excluded or p in must_p)
        and p in book.entries
    ]
    if not cands and not any(p.field in ("lines", "products", "exclude") for p in problems):
        problems.append(
            NeedsProblem(
                "exclude",
                "nothing is left to propose: the exclusions remove every product of interest",
                "排除后没有可推荐的产品",
            )
        )
    if problems:
        raise NeedsError(problems)
    return Needs(
        size=int(size_ok),
        candidates=tuple(cands),
        must_products=tuple(dict.fromkeys(must_p)),
        must_lines=tuple(dict.fromkeys(must_l)),
        named_products=tuple(dict.fromkeys(named)),
        budget_cents=top,
        budget_min_cents=bmin,
        industry=industry,
        customer_type=ctype,
        start_date=start,
        discount=disc,
        customer_id=cust_id,
        customer_name=cust_name,
        owner_id=owner,
        opportunity_id=opp_id,
        excluded=tuple(dict.fromkeys(excluded)),
        raw=raw,
    )


#: Industries in Chinese (shown names; data values stay English).
INDUSTRY_ZH = {k: zh for k, (_, zh) in CATEGORIES.items()}
