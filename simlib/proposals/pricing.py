"""``params/pricing.yaml``: the price book, and exact pricing of a product mix (SPEC R19).

The rules, all in one file:

- **list prices**: the catalogue's ``unit_price`` unless the file gives ``list_price``;
- **volume breaks** per product, *all units*: from ``min_quantity`` units on, every
  unit of the line gets the break's discount (the largest break reached applies);
- **bundle discounts**: when every product of a bundle is on the quote, each of their
  lines gets the bundle's discount (bundles may not share a product);
- **discount authority**: the *extra* discount a rep may grant on top of the price
  book (breaks and bundles are policy and need nobody's approval); above it a
  manager's, then a director's; above the director's nobody may grant it;
- VAT (13% by default), currency, validity in days, payment terms (both languages),
  and whether a customer's budget is meant including VAT (``budget_includes_vat``).

Each line's discount rate is the sum break + bundle + extra, off the list amount::

    list     = quantity × unit list price            (cents, exact)
    discount = round_half_up(list × rate)            (cents)
    net      = list − discount
    subtotal = Σ net;  VAT = round_half_up(subtotal × vat_rate);  total = subtotal + VAT

so every sum on a quote is exact to the cent. :func:`price_mix` is the one place
that computes it; the optimiser (:mod:`simlib.proposals.mix`) only chooses quantities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from simlib.config import (
    NO_VALUE,
    At,
    ParamError,
    Problem,
    StrictModel,
    default_params_dir,
    load_model,
)
from simlib.money import to_cents

__all__ = [
    "APPROVERS",
    "Bundle",
    "PriceBook",
    "PricedLine",
    "PricedQuote",
    "PricingParams",
    "ProductRule",
    "VolumeBreak",
    "approver_for",
    "load_pricing",
    "price_book",
    "price_mix",
]

#: Who may grant an extra discount, in the order of authority.
APPROVERS = ("rep", "manager", "director")


class VolumeBreak(StrictModel):
    """From ``min_quantity`` units on, every unit of the line is ``discount`` off list."""

    min_quantity: int = Field(ge=2, description="units from which the break applies")
    discount: float = Field(gt=0.0, lt=1.0, description="fraction off list, e.g. 0.05")


class Words(StrictModel):
    """A word or sentence in both languages."""

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh-CN" else self.en


class ProductRule(StrictModel):
    """The price book's rules for one product of the catalogue."""

    list_price: float | None = Field(
        None, gt=0.0, allow_inf_nan=False, description="default: the catalogue's unit_price"
    )
    unit: Words | None = Field(None, description="what one unit is (licence, kit, day)")
    per_size: float | None = Field(
        None,
        gt=0.0,
        allow_inf_nan=False,
        description="units needed per unit of the customer's size; absent: one unit",
    )
    volume_breaks: tuple[VolumeBreak, ...] = ()

    @model_validator(mode="after")
    def _breaks_grow(self):
        qs = [b.min_quantity for b in self.volume_breaks]
        for i in range(1, len(qs)):
            if qs[i] <= qs[i - 1]:
                raise At(("volume_breaks", i, "min_quantity"), "breaks must rise", qs[i])
        for i in range(1, len(self.volume_breaks)):
            if self.volume_breaks[i].discount <= self.volume_breaks[i - 1].discount:
                raise At(
                    ("volume_breaks", i, "discount"),
                    "a larger quantity must get a larger discount",
                    self.volume_breaks[i].discount,
                )
        return self


class Bundle(StrictModel):
    """Products that, all on one quote, get ``discount`` off each of their lines."""

    name: str = Field(min_length=1)
    name_zh: str = Field(min_length=1)
    products: tuple[str, ...] = Field(min_length=2)
    discount: float = Field(gt=0.0, lt=1.0)


class Authority(StrictModel):
    """The largest extra discount each role may grant (fractions, rising)."""

    rep: float = Field(0.05, ge=0.0, lt=1.0)
    manager: float = Field(0.12, ge=0.0, lt=1.0)
    director: float = Field(0.20, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _rising(self):
        if self.manager < self.rep:
            raise At(("manager",), "a manager may grant at least what a rep may", self.manager)
        if self.director < self.manager:
            raise At(("director",), "a director may grant at least what a manager may")
        return self


class Similar(StrictModel):
    """How similar won customers are found and used."""

    size_band: float = Field(
        2.0, gt=1.0, description="similar size: within [size / band, size × band]"
    )
    min_customers: int = Field(
        5, ge=1, description="fewer similar customers than this: widen the search"
    )
    recommend_attach: float = Field(
        0.5, ge=0.0, le=1.0, description="recommend what at least this share of them bought"
    )
    recommended_stretch: float = Field(
        0.10, ge=0.0, le=1.0, description="how far above the budget the recommended mix may go"
    )


class PricingParams(StrictModel):
    """``params/pricing.yaml``: the price book and the quoting terms."""

    currency: Literal["CNY", "USD", "EUR"] | None = Field(
        None, description="default: the company's currency"
    )
    vat_rate: float = Field(0.13, ge=0.0, lt=1.0)
    budget_includes_vat: bool = True
    validity_days: int = Field(30, ge=1, le=365)
    payment_terms: Words = Words(
        en="50% on signing, 50% on acceptance; payment within 30 days of invoice",
        zh="签约后支付 50%，验收后支付 50%；发票开具后 30 天内付款",
    )
    size_unit: Words = Words(en="units", zh="单位")
    products: dict[str, ProductRule] = {}
    bundles: tuple[Bundle, ...] = ()
    discount_authority: Authority = Authority()
    similar: Similar = Similar()

    @model_validator(mode="after")
    def _bundles_disjoint(self):
        seen: dict[str, str] = {}
        for i, b in enumerate(self.bundles):
            for j, p in enumerate(b.products):
                if p in seen:
                    raise At(
                        ("bundles", i, "products", j),
                        f"already in bundle {seen[p]!r}: bundles may not share a product",
                        p,
                    )
                seen[p] = b.name
        worst = max(
            (br.discount for r in self.products.values() for br in r.volume_breaks), default=0
        )
        worst += max((b.discount for b in self.bundles), default=0)
        worst += self.discount_authority.director
        if worst >= 1:
            raise At(
                ("discount_authority", "director"),
                "the largest break + the largest bundle + the director's discount reach 100%",
                self.discount_authority.director,
            )
        return self


def load_pricing(path=None) -> PricingParams:
    """The pricing rules (default ``params/pricing.yaml``), validated."""
    p = Path(path) if path is not None else default_params_dir() / "pricing.yaml"
    if not p.is_file():
        raise ParamError([Problem(str(p), "", NO_VALUE, "file not found")])
    return load_model(p, PricingParams, "pricing")


# --------------------------------------------------------------------------- the book


@dataclass(frozen=True)
class BookEntry:
    """One product as the price book prices it."""

    product_id: str
    name: str
    name_zh: str
    product_line: str
    list_cents: int
    per_size: float | None
    unit_en: str
    unit_zh: str
    breaks: tuple[tuple[int, Decimal], ...]  # (min_quantity, rate), rising
    bundle: int | None  # index into PriceBook.bundles

    def name_in(self, lang: str) -> str:
        return self.name_zh if lang == "zh-CN" and self.name_zh else self.name

    def needed(self, size: int) -> int:
        """Units that cover a customer of ``size`` (at least one)."""
        if self.per_size is None:
            return 1
        # a tiny tolerance so that 50 × 0.04 is 2, not 3 (binary 0.04 is above 0.04)
        return max(1, math.ceil(size * self.per_size - 1e-9))

    def break_rate(self, quantity: int) -> Decimal:
        rate = Decimal(0)
        for m, r in self.breaks:
            if quantity >= m:
                rate = r
        return rate


@dataclass(frozen=True)
class PriceBook:
    """The catalogue priced by the rules: what :func:`price_mix` and the optimiser read."""

    entries: dict[str, BookEntry]
    bundles: tuple[tuple[str, str, tuple[str, ...], Decimal], ...]  # name, name_zh, ids, rate
    authority: dict[str, Decimal]
    vat_rate: Decimal
    currency: str
    budget_includes_vat: bool
    validity_days: int
    payment_terms: tuple[str, str]
    size_unit: tuple[str, str]
    rules: PricingParams

    def size_unit_in(self, lang: str) -> str:
        return self.size_unit[1] if lang == "zh-CN" else self.size_unit[0]


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def price_book(rules: PricingParams, products, currency: str = "CNY") -> PriceBook:
    """The catalogue (a ``products`` frame) priced by ``rules``.

    A product of the rules that the catalogue lacks, or a catalogue product without a
    price, is one :class:`ParamError` naming it (with the closest product id).
    """
    from simlib.config import hint

    ids = [str(x) for x in products["product_id"]]
    problems = []
    for pid in rules.products:
        if pid not in ids:
            problems.append(
                Problem(
                    "pricing.yaml",
                    f"pricing.products.{pid}",
                    pid,
                    "not in the catalogue" + hint(pid, ids),
                )
            )
    for i, b in enumerate(rules.bundles):
        for j, pid in enumerate(b.products):
            if pid not in ids:
                problems.append(
                    Problem(
                        "pricing.yaml",
                        f"pricing.bundles[{i}].products[{j}]",
                        pid,
                        "not in the catalogue" + hint(pid, ids),
                    )
                )
    bundle_of = {p: i for i, b in enumerate(rules.bundles) for p in b.products}
    entries: dict[str, BookEntry] = {}
    for row in products.to_dict("records"):
        pid = str(row["product_id"])
        rule = rules.products.get(pid, ProductRule())
        price = rule.list_price if rule.list_price is not None else row.get("unit_price")
        if price is None or not price == price or price <= 0:
            problems.append(
                Problem(
                    "pricing.yaml",
                    f"pricing.products.{pid}.list_price",
                    NO_VALUE,
                    "the catalogue has no price for this product: give list_price",
                )
            )
            continue
        name_zh = row.get("name_zh")
        entries[pid] = BookEntry(
            product_id=pid,
            name=str(row["name"]),
            name_zh=str(name_zh) if isinstance(name_zh, str) else "",
            product_line=str(row.get("product_line") or ""),
            list_cents=to_cents(price),
            per_size=rule.per_size,
            unit_en=rule.unit.en if rule.unit else "unit",
            unit_zh=rule.unit.zh if rule.unit else "件",
            breaks=tuple((b.min_quantity, _dec(b.discount)) for b in rule.volume_breaks),
            bundle=bundle_of.get(pid),
        )
    if problems:
        raise ParamError(problems)
    a = rules.discount_authority
    return PriceBook(
        entries=entries,
        bundles=tuple(
            (b.name, b.name_zh, tuple(b.products), _dec(b.discount)) for b in rules.bundles
        ),
        authority={"rep": _dec(a.rep), "manager": _dec(a.manager), "director": _dec(a.director)},
        vat_rate=_dec(rules.vat_rate),
        currency=rules.currency or currency,
        budget_includes_vat=rules.budget_includes_vat,
        validity_days=rules.validity_days,
        payment_terms=(rules.payment_terms.en, rules.payment_terms.zh),
        size_unit=(rules.size_unit.en, rules.size_unit.zh),
        rules=rules,
    )


def approver_for(extra: Decimal, authority: dict[str, Decimal]) -> str | None:
    """Who must approve an extra discount: ``None`` (a rep may grant it), ``"manager"``,
    ``"director"``; a :class:`ValueError` when it is above the director's authority."""
    if extra < 0:
        raise ValueError(f"an extra discount cannot be negative; got {extra}")
    for role in APPROVERS:
        if extra <= authority[role]:
            return None if role == "rep" else role
    raise ValueError(
        f"an extra discount of {extra * 100:f}% is above the director's authority "
        f"({authority['director'] * 100:f}%)"
    )


# --------------------------------------------------------------------------- pricing


def _round(x: Decimal) -> int:
    return int(x.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class PricedLine:
    """One line of a quote; amounts in cents, ``discount_rate`` = break + bundle + extra."""

    product_id: str
    name: str
    name_zh: str
    product_line: str
    unit_en: str
    unit_zh: str
    quantity: int
    unit_list_cents: int
    break_rate: Decimal
    bundle_rate: Decimal
    bundle: str  # the bundle's name ("" if none)
    bundle_zh: str
    extra_rate: Decimal

    @property
    def discount_rate(self) -> Decimal:
        return self.break_rate + self.bundle_rate + self.extra_rate

    @property
    def list_cents(self) -> int:
        return self.quantity * self.unit_list_cents

    @property
    def discount_cents(self) -> int:
        return _round(Decimal(self.list_cents) * self.discount_rate)

    @property
    def net_cents(self) -> int:
        return self.list_cents - self.discount_cents

    def name_in(self, lang: str) -> str:
        return self.name_zh if lang == "zh-CN" and self.name_zh else self.name


@dataclass(frozen=True)
class PricedQuote:
    """A mix priced by the book: lines, subtotal, VAT, total (cents), who must approve."""

    lines: tuple[PricedLine, ...]
    vat_rate: Decimal
    currency: str
    extra_rate: Decimal
    approver: str | None  # None: within the rep's authority

    @property
    def list_cents(self) -> int:
        return sum(ln.list_cents for ln in self.lines)

    @property
    def discount_cents(self) -> int:
        return sum(ln.discount_cents for ln in self.lines)

    @property
    def subtotal_cents(self) -> int:
        return sum(ln.net_cents for ln in self.lines)

    @property
    def vat_cents(self) -> int:
        return _round(Decimal(self.subtotal_cents) * self.vat_rate)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents + self.vat_cents

    def quantities(self) -> dict[str, int]:
        return {ln.product_id: ln.quantity for ln in self.lines}

    def __repr__(self) -> str:
        items = ", ".join(f"{ln.product_id}×{ln.quantity}" for ln in self.lines)
        return (
            f"PricedQuote({items}: subtotal {self.subtotal_cents / 100:,.2f} + VAT "
            f"{self.vat_cents / 100:,.2f} = {self.total_cents / 100:,.2f} {self.currency})"
        )


def price_mix(
    book: PriceBook, quantities: dict[str, int], extra: Decimal | float = 0
) -> PricedQuote:
    """Price ``quantities`` (product id → whole units; zeros dropped) by ``book``.

    ``extra`` is the discount granted on top of the book (a fraction); it decides who
    must approve (:func:`approver_for`). Lines come in catalogue order.
    """
    extra = extra if isinstance(extra, Decimal) else _dec(extra)
    approver = approver_for(extra, book.authority)
    chosen = {p: int(q) for p, q in quantities.items() if int(q) > 0}
    for p, q in quantities.items():
        if int(q) != q or q < 0:
            raise ValueError(f"quantity of {p} must be a whole number >= 0; got {q!r}")
        if p not in book.entries:
            raise ValueError(f"{p} is not in the price book")
    active = {i for i, (_, _, ids, _) in enumerate(book.bundles) if all(p in chosen for p in ids)}
    lines = []
    for pid, e in book.entries.items():
        q = chosen.get(pid)
        if not q:
            continue
        on = e.bundle is not None and e.bundle in active
        b = book.bundles[e.bundle] if on else ("", "", (), Decimal(0))
        lines.append(
            PricedLine(
                product_id=pid,
                name=e.name,
                name_zh=e.name_zh,
                product_line=e.product_line,
                unit_en=e.unit_en,
                unit_zh=e.unit_zh,
                quantity=q,
                unit_list_cents=e.list_cents,
                break_rate=e.break_rate(q),
                bundle_rate=b[3],
                bundle=b[0],
                bundle_zh=b[1],
                extra_rate=extra,
            )
        )
    return PricedQuote(tuple(lines), book.vat_rate, book.currency, extra, approver)
