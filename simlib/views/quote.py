"""A customer quote for an open opportunity, from the CRM and the product catalogue (SPEC R19).

What the data hold, and so what the quote shows:

- the opportunity: its account, its one product, its amount (what the customer is
  being asked to pay, the *net*), its owner;
- the catalogue: each product's list price per unit.

The CRM records an amount, not a number of units. The quote shows the fewest whole
units whose list price covers the amount, their list amount, and the difference as
the discount, so that list − discount = net exactly, to the cent. The catalogue has no
tax category, so no VAT is added unless the caller gives a rate (``vat_rate``; in
China 13% for goods, 6% for most services); the quote says which.

Only the owner's name is shown: nothing about the owner's targets or pay. The page is
the customer's: no ids (the quote number is the date and a digest, not the
opportunity's id), no note on how the quantity was derived from the CRM's amount (that
is :meth:`Quote.derivation`, for the rep).

Used by ``notebooks/reports/quote.ipynb``::

    q = quote("OPP044015", lang="zh-CN", valid_days=30)
    q.header(); q.items(); q.totals(); q.terms()

A quote is a commercial document: every amount on it is in whole currency to the cent
(one :class:`simlib.present.Units` with ``scale="yuan"``: ``元`` / ``¥``), in the page's
language; the sections are safe HTML.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from simlib import present
from simlib.company import default_currency
from simlib.data.schema import OPEN_STAGES
from simlib.i18n import escape as _esc
from simlib.i18n import translator
from simlib.money import to_cents
from simlib.present import MISSING, Col, Units

__all__ = ["Quote", "QuoteLine", "quote"]

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Quotation", "报价单"),
    "no": ("Quote no.", "报价单号"),
    "date": ("Date", "日期"),
    "valid": ("Valid until", "有效期至"),
    "to": ("To", "客户"),
    "subject": ("Subject", "事由"),
    "contact": ("Your contact", "联系人"),
    "items": ("Items", "报价明细"),
    "product": ("Product", "产品"),
    "line": ("Product line", "产品线"),
    "qty": ("Quantity", "数量"),
    "unit": ("List price per unit", "单位目录价"),
    "list": ("List amount", "目录价金额"),
    "discount": ("Discount", "折扣"),
    "net": ("Net amount", "净价金额"),
    "totals": ("Totals", "合计"),
    "item": ("Item", "项目"),
    "amount": ("Amount", "金额"),
    "discount_pct": ("Discount ({p} of list)", "折扣（目录价的 {p}）"),
    "vat": ("VAT {p}", "增值税 {p}"),
    "total": ("Total", "总计"),
    "total_excl": ("Total (excluding VAT)", "总计（不含税）"),
    "terms": ("Terms and notes", "条款与说明"),
    "t_valid": ("This quote is valid for {n} days, until {d}.", "本报价有效期 {n} 天，至 {d}。"),
    "t_currency": ("Prices are in {c}.", "价格以{c}计。"),
    "t_vat": ("VAT at {p} is added on the net amount.", "在净价基础上加收 {p} 增值税。"),
    "t_no_vat": (
        "Prices exclude VAT: it is added on invoicing at the rate that applies to the product.",
        "价格不含增值税，开票时按适用税率另计。",
    ),
    "t_qty": (
        "Quantity: the opportunity records an amount of {a}; the quote shows the fewest whole "
        "units at the list price that cover it, and the difference as the discount.",
        "数量：商机记录的金额为 {a}；报价按目录价取能覆盖该金额的最少整数件数，差额列为折扣。",
    ),
    "t_no_price": (
        "The catalogue has no list price for this product: the line is quoted at the "
        "opportunity's amount, without a discount.",
        "产品目录中无此产品的目录价：按商机金额报价，不列折扣。",
    ),
    "t_source": (
        "Prepared from opportunity {o} and the product catalogue, data as of {d}.",
        "依据商机 {o} 及产品目录编制，数据截至 {d}。",
    ),
}

_CURRENCY_ZH = {"CNY": "人民币", "USD": "美元", "EUR": "欧元"}


_t = translator(_TEXT)


def _cents_text(cents: int) -> str:
    return f"{Decimal(int(cents)).scaleb(-2):,.2f}"


def _rate_text(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


@dataclass(frozen=True)
class QuoteLine:
    """One quoted product: whole units at list price, the discount, the net (cents)."""

    product_id: str
    name: str
    product_line: str
    quantity: int
    unit_price_cents: int
    list_cents: int
    net_cents: int

    @property
    def discount_cents(self) -> int:
        return self.list_cents - self.net_cents


@dataclass(frozen=True)
class Quote:
    """A quote for one open opportunity. Amounts in cents; list − discount = net."""

    opportunity_id: str
    subject: str
    stage: str
    lang: str
    currency: str
    company: str
    issue_date: pd.Timestamp
    valid_days: int
    account_id: str
    account_name: str
    account_region: str
    owner_name: str
    lines: tuple[QuoteLine, ...]
    vat_rate: Decimal = Decimal(0)
    priced_from_catalogue: bool = True
    crm_amount_cents: int = 0

    @property
    def quote_no(self) -> str:
        """The date and a digest of the opportunity (the customer never reads an id)."""
        digest = int(hashlib.sha256(self.opportunity_id.encode()).hexdigest()[:8], 16) % 10000
        return f"Q-{self.issue_date:%Y%m%d}-{digest:04d}"

    @property
    def valid_until(self) -> pd.Timestamp:
        return self.issue_date + pd.Timedelta(days=self.valid_days)

    @property
    def list_cents(self) -> int:
        return sum(ln.list_cents for ln in self.lines)

    @property
    def discount_cents(self) -> int:
        return sum(ln.discount_cents for ln in self.lines)

    @property
    def net_cents(self) -> int:
        return sum(ln.net_cents for ln in self.lines)

    @property
    def vat_cents(self) -> int:
        return int(
            (Decimal(self.net_cents) * self.vat_rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )

    @property
    def total_cents(self) -> int:
        return self.net_cents + self.vat_cents

    @property
    def units(self) -> Units:
        """A quote is a commercial document: amounts in whole currency to the cent."""
        return Units(self.lang, scale="yuan", currency=self.currency)

    def _h2(self, key: str) -> str:
        return f"<h2>{_esc(_t(key, self.lang))}</h2>"

    # ---- sections
    def header(self) -> present.HTML:
        """Letterhead: company, quote number, dates, the account, the subject, the contact."""
        L = self.lang
        sep = "：" if L == "zh-CN" else ": "
        region = ""
        if self.account_region:
            region = f"（{self.account_region}）" if L == "zh-CN" else f" ({self.account_region})"
        fields = [
            ("no", self.quote_no),
            ("date", str(self.issue_date.date())),
            ("valid", str(self.valid_until.date())),
            ("to", self.account_name + region),
            ("subject", self.subject),
            ("contact", self.owner_name),
        ]
        body = "<br>".join(f"<b>{_esc(_t(k, L))}</b>{sep}{_esc(v)}" for k, v in fields)
        title = f"{self.company} — {_t('title', L)}" if self.company else _t("title", L)
        return present.HTML(f"<h1>{_esc(title)}</h1><p>{body}</p>")

    def table(self) -> pd.DataFrame:
        """The lines as numbers (cents), for checks and exports."""
        return pd.DataFrame(
            [
                dict(
                    product_id=ln.product_id,
                    name=ln.name,
                    product_line=ln.product_line,
                    quantity=ln.quantity,
                    unit_price_cents=ln.unit_price_cents,
                    list_cents=ln.list_cents,
                    discount_cents=ln.discount_cents,
                    net_cents=ln.net_cents,
                )
                for ln in self.lines
            ]
        )

    def items(self) -> present.HTML:
        """One row per product: quantity, unit list price, list, discount, net (the
        product line only where the data name it in the page's language)."""
        frame = pd.DataFrame(
            [
                {
                    "n": i + 1,
                    "product": ln.name,
                    "line": ln.product_line,
                    "qty": ln.quantity,
                    "unit": ln.unit_price_cents / 100,
                    "list": ln.list_cents / 100,
                    "discount": ln.discount_cents / 100,
                    "net": ln.net_cents / 100,
                }
                for i, ln in enumerate(self.lines)
            ]
        )
        cols = [Col("n", "序号", "No.", kind="count"), Col("product", "产品", "Product")]
        if any(ln.product_line for ln in self.lines):
            cols.append(Col("line", "产品线", "Product line"))
        cols += [
            Col("qty", "数量", "Quantity", kind="count"),
            Col("unit", "单位目录价", "List price per unit", kind="amount"),
            Col("list", "目录价金额", "List amount", kind="amount"),
            Col("discount", "折扣", "Discount", kind="amount"),
            Col("net", "净价金额", "Net amount", kind="amount"),
        ]
        return present.HTML(self._h2("items") + present.table(frame, cols, self.units))

    def totals_frame(self) -> pd.DataFrame:
        """List, discount (negative), net, VAT and the total, in cents and in yuan."""
        L = self.lang
        share = present.pct(self.discount_cents / self.list_cents) if self.list_cents else MISSING
        rows = [
            (_t("list", L), self.list_cents),
            (_t("discount_pct", L, p=share), -self.discount_cents),
            (_t("net", L), self.net_cents),
        ]
        if self.vat_rate:
            rows += [
                (_t("vat", L, p=_rate_text(self.vat_rate)), self.vat_cents),
                (_t("total", L), self.total_cents),
            ]
        else:
            rows.append((_t("total_excl", L), self.total_cents))
        frame = pd.DataFrame(rows, columns=["item", "cents"])
        frame["amount"] = frame["cents"] / 100
        frame["total"] = frame.index == len(frame) - 1
        return frame

    def totals(self) -> present.HTML:
        """List, discount, net, VAT (when a rate is given) and the total."""
        cols = [Col("item", "项目", "Item"), Col("amount", "金额", "Amount", kind="amount")]
        table = present.table(
            self.totals_frame(), cols, self.units, row_class=lambda r: "total" if r["total"] else ""
        )
        return present.HTML(self._h2("totals") + table)

    def terms(self) -> present.HTML:
        """Validity, currency, VAT: what the customer needs to know (nothing internal)."""
        L = self.lang
        cur = _CURRENCY_ZH.get(self.currency, self.currency) if L == "zh-CN" else self.currency
        items = [
            _t("t_valid", L, n=self.valid_days, d=self.valid_until.date()),
            _t("t_currency", L, c=cur),
            _t("t_vat", L, p=_rate_text(self.vat_rate)) if self.vat_rate else _t("t_no_vat", L),
        ]
        body = "".join(f"<li>{_esc(x)}</li>" for x in items)
        return present.HTML(self._h2("terms") + f"<ul>{body}</ul>")

    def derivation(self) -> str:
        """For the rep, not the customer: how the quantity was derived and from what."""
        L = self.lang
        amount = self.units.amount(self.crm_amount_cents / 100, unit=True)
        first = _t("t_qty", L, a=amount) if self.priced_from_catalogue else _t("t_no_price", L)
        return first + " " + _t("t_source", L, o=self.opportunity_id, d=self.issue_date.date())

    def __repr__(self) -> str:
        return (
            f"Quote({self.quote_no}: {self.account_name}, "
            f"list {_cents_text(self.list_cents)} − discount "
            f"{_cents_text(self.discount_cents)} = net {_cents_text(self.net_cents)} "
            f"{self.currency}, "
            f"valid until {self.valid_until.date()})"
        )


def _currency() -> str:
    """The currency of ``params/company.yaml`` (CNY when it cannot be read)."""
    return default_currency()


def _line(
    product: pd.Series | None, product_id: str, net_cents: int, lang: str
) -> tuple[QuoteLine, bool]:
    zh = lang == "zh-CN"
    if product is None:
        name, pline, price = product_id, "", float("nan")
    else:
        name = (
            product["name_zh"]
            if zh and isinstance(product.get("name_zh"), str)
            else product["name"]
        )
        # a product line is shown in the page's language or not at all (the catalogue
        # may name it in English only)
        pline = product.get("product_line_zh") if zh else product.get("product_line")
        pline = pline if isinstance(pline, str) else ""
        price = product.get("unit_price", float("nan"))
    if price is None or not price == price or price <= 0:
        return QuoteLine(
            product_id, str(name), str(pline), 1, net_cents, net_cents, net_cents
        ), False
    unit = to_cents(price)
    qty = max(1, math.ceil(net_cents / unit))  # the fewest whole units whose list covers the amount
    return QuoteLine(product_id, str(name), str(pline), qty, unit, qty * unit, net_cents), True


def quote(
    opportunity_id: str,
    *,
    lang: str = "en",
    valid_days: int = 30,
    vat_rate: float = 0.0,
    data,
) -> Quote:
    """A quote for an open opportunity (from ``data``).

    Parameters
    ----------
    opportunity_id : str
        An open opportunity (qualification, discovery, proposal or negotiation).
    valid_days : int
        Days the quote stays valid, from its date (the data's last day).
    vat_rate : float
        VAT added on the net amount (e.g. 0.13); 0: prices shown excluding VAT.
    """
    if lang not in ("en", "zh-CN"):
        raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")
    if isinstance(valid_days, bool) or not isinstance(valid_days, int) or valid_days < 1:
        raise ValueError(
            f"valid_days must be a whole number of days, at least 1; got {valid_days!r}"
        )
    rate = Decimal(str(vat_rate))
    if not Decimal(0) <= rate < Decimal(1):
        raise ValueError(f"vat_rate must be a fraction in [0, 1), e.g. 0.13; got {vat_rate!r}")
    opp = data.opportunities
    hit = opp[opp["opportunity_id"].astype(str) == str(opportunity_id)]
    if hit.empty:
        some = ", ".join(
            opp.loc[opp["stage"].isin(OPEN_STAGES), "opportunity_id"].astype(str).head(3)
        )
        raise ValueError(f"no opportunity {opportunity_id!r} in the data; open ones include {some}")
    o = hit.iloc[0]
    if o["stage"] not in OPEN_STAGES:
        raise ValueError(
            f"opportunity {opportunity_id} is {o['stage']}: a quote is for an open opportunity "
            f"({', '.join(OPEN_STAGES)})"
        )
    zh = lang == "zh-CN"
    products = data.tables.get("products")
    prod = None
    if products is not None and (products["product_id"] == o["product_id"]).any():
        prod = products.set_index("product_id").loc[o["product_id"]]
    net = to_cents(o["amount"])
    line, priced = _line(prod, str(o["product_id"]), net, lang)
    cust = data.tables.get("customers")
    account, region = str(o["customer_id"]), ""
    org = data.org.set_index("node_id")
    if cust is not None and (cust["customer_id"] == o["customer_id"]).any():
        c = cust.set_index("customer_id").loc[o["customer_id"]]
        account = str(c["name"])
        rid = c.get("region_id")
        if isinstance(rid, str) and rid in org.index:
            region = (
                org.at[rid, "name_zh"]
                if zh and isinstance(org.at[rid, "name_zh"], str)
                else org.at[rid, "name"]
            )
    reps = data.reps.set_index("rep_id")
    owner = str(o["owner_id"])
    if owner in reps.index:
        r = reps.loc[owner]
        owner = r["name_zh"] if zh and isinstance(r.get("name_zh"), str) else r["name"]
    top = data.org[data.org["level"] == "company"]
    company = ""
    if len(top):
        c0 = top.iloc[0]
        company = c0["name_zh"] if zh and isinstance(c0["name_zh"], str) else c0["name"]
    subject = o["name"] if isinstance(o.get("name"), str) else line.name
    return Quote(
        opportunity_id=str(o["opportunity_id"]),
        subject=str(subject),
        stage=str(o["stage"]),
        lang=lang,
        currency=_currency(),
        company=str(company),
        issue_date=pd.Timestamp(data.as_of),
        valid_days=int(valid_days),
        account_id=str(o["customer_id"]),
        account_name=account,
        account_region=str(region),
        owner_name=str(owner),
        lines=(line,),
        vat_rate=rate,
        priced_from_catalogue=priced,
        crm_amount_cents=net,
    )
