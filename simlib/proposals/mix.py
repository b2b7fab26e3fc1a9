"""The proposed mix: products and quantities as a small integer program (SPEC R19).

For the candidate products ``p`` (of interest, not excluded), each needed in ``T_p``
units for the customer's size (``ceil(size × per_size)``), choose whole quantities
``0 ≤ q_p ≤ T_p`` to

    maximise   Σ_p  w_p · q_p / T_p                (coverage, weighted)
    subject to q_p = T_p                for every must-have product,
               Σ_{p ∈ line} [q_p = T_p] ≥ 1   for every must-have line,
               price(q) ≤ budget        (including VAT when the book says so),

where ``w_p`` is the share of similar won customers that bought ``p`` (at least 0.05;
+0.5 for a product the customer named). Ties go to the cheaper mix. The price is
linear once the volume break tier of each product is chosen (binary ``tier`` variables,
all-units breaks) and the bundle discount is taken on the list amount of a bundle whose
every product is on the quote (binary ``z_b`` and ``u_bp ≤ list_p·q_p``,
``u_bp ≤ list_p·T_p·z_b``): a mixed-integer linear program for
:func:`scipy.optimize.milp`. The exact price of the chosen quantities is then computed
in cents by :func:`~simlib.proposals.pricing.price_mix`; should rounding to cents put it
a cent above the budget, the budget row is tightened by the difference and the
program solved again.

:func:`propose` offers up to three options (identical ones are shown once):

- **within budget** — the program above with the customer's budget;
- **recommended** — the must-haves, the named products and what at least
  ``similar.recommend_attach`` of similar customers bought, allowed up to
  ``similar.recommended_stretch`` above the budget;
- **full coverage** — every candidate at the quantity the size needs.

Each line carries its reasons in both languages (:class:`Reason`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from simlib.ledger.roles import role_label
from simlib.proposals.history import Peers, similar_customers
from simlib.proposals.needs import INDUSTRY_ZH, Needs, NeedsError, NeedsProblem
from simlib.proposals.pricing import PriceBook, PricedQuote, price_mix

__all__ = [
    "OPTION_KINDS",
    "Option",
    "Proposal",
    "Reason",
    "best_mix",
    "coverage_value",
    "option_title",
    "propose",
]

OPTION_KINDS = ("within_budget", "recommended", "full_coverage")
_TITLES = {
    "within_budget": ("Within budget", "预算内方案"),
    "recommended": ("Recommended", "推荐方案"),
    "full_coverage": ("Full coverage", "完整覆盖方案"),
}
_TYPE_NAMES = {"smb": ("small business", "中小企业"), "key_account": ("key account", "大客户")}
#: the smallest weight of a candidate, so that each is worth proposing
MIN_WEIGHT = 0.05
NAMED_BONUS = 0.5


def option_title(kind: str, lang: str = "en") -> str:
    en, zh = _TITLES[kind]
    return zh if lang == "zh-CN" else en


@dataclass(frozen=True)
class Reason:
    """A sentence in both languages."""

    en: str
    zh: str

    def text(self, lang: str = "en") -> str:
        return self.zh if lang == "zh-CN" else self.en


@dataclass(frozen=True)
class Option:
    """One proposed mix, priced; ``reasons`` one per line (line order), ``notes`` about
    the whole option (budget, what was left out, who must approve)."""

    kind: str
    quote: PricedQuote
    reasons: tuple[Reason, ...]
    notes: tuple[Reason, ...]
    budget_cents: int | None
    measured_cents: int  # what is held against the budget (total or subtotal)

    @property
    def over_budget_cents(self) -> int | None:
        return None if self.budget_cents is None else self.measured_cents - self.budget_cents

    def title(self, lang: str = "en") -> str:
        return option_title(self.kind, lang)

    def __repr__(self) -> str:
        return f"Option({self.kind}: {self.quote!r})"


@dataclass(frozen=True)
class Proposal:
    """The options for one customer's needs, with what they rest on."""

    needs: Needs
    book: PriceBook
    peers: Peers
    options: tuple[Option, ...]
    issue_date: dt.date

    @property
    def valid_until(self) -> dt.date:
        return self.issue_date + dt.timedelta(days=self.book.validity_days)

    def option(self, kind: str | None = None) -> Option:
        """The option of ``kind``; by default the recommended one (or the first)."""
        kinds = [o.kind for o in self.options]
        if kind is None:
            kind = "recommended" if "recommended" in kinds else kinds[0]
        for o in self.options:
            if o.kind == kind:
                return o
        # an option equal to another is shown once: the same mix under the first name
        same = {
            "recommended": ("within_budget", "full_coverage"),
            "within_budget": ("recommended",),
        }
        for k in same.get(kind, ("recommended", "within_budget")):
            if k in kinds:
                return self.option(k)
        raise KeyError(f"no option {kind!r}; the proposal has {', '.join(kinds)}")

    def __repr__(self) -> str:
        return "Proposal(" + "; ".join(repr(o) for o in self.options) + ")"


# --------------------------------------------------------------------------- the program


def coverage_value(
    quantities: dict[str, int], needed: dict[str, int], weights: dict[str, float]
) -> float:
    """The objective: Σ w_p · q_p / T_p (the brute-force tests use it too)."""
    return float(
        sum(weights[p] * min(q, needed[p]) / needed[p] for p, q in quantities.items() if q)
    )


def _measure(book: PriceBook, quote: PricedQuote) -> int:
    return quote.total_cents if book.budget_includes_vat else quote.subtotal_cents


def _tiers(entry, T: int) -> list[tuple[int, int, Decimal]]:
    cuts = [(1, Decimal(0))] + [(m, r) for m, r in entry.breaks]
    out = []
    for i, (lo, r) in enumerate(cuts):
        hi = cuts[i + 1][0] - 1 if i + 1 < len(cuts) else T
        hi = min(hi, T)
        if lo <= hi:
            out.append((lo, hi, r))
    return out


def _solve(book, cands, needed, weights, must_products, must_lines, extra, cap, minimise_cost):
    """One MILP; the quantities, or None when infeasible."""
    e = float(extra)
    f = (1 + float(book.vat_rate)) if book.budget_includes_vat else 1.0
    names: list[tuple] = []  # variable descriptions
    lb, ub, integ = [], [], []
    cost, value = [], []

    def var(desc, lo, hi, is_int, c=0.0, v=0.0):
        names.append(desc)
        lb.append(lo)
        ub.append(hi)
        integ.append(1 if is_int else 0)
        cost.append(c)
        value.append(v)
        return len(names) - 1

    rows, lo_r, hi_r = [], [], []

    def row(coefs: dict[int, float], lo, hi):
        rows.append(coefs)
        lo_r.append(lo)
        hi_r.append(hi)

    qvars: dict[str, list[int]] = {}
    wvars: dict[str, list[int]] = {}
    for p in cands:
        ent = book.entries[p]
        T = needed[p]
        L = ent.list_cents
        qvars[p], wvars[p] = [], []
        for lo, hi, r in _tiers(ent, T):
            w = var(("w", p, lo), 0, 1, True)
            q = var(("q", p, lo), 0, hi, True, c=L * (1 - float(r) - e), v=weights[p] / T)
            row({q: 1, w: -lo}, 0, np.inf)  # q ≥ lo·w
            row({q: 1, w: -hi}, -np.inf, 0)  # q ≤ hi·w
            qvars[p].append(q)
            wvars[p].append(w)
        row({w: 1 for w in wvars[p]}, 0, 1)  # one tier at most
        if p in must_products:
            row({q: 1 for q in qvars[p]}, T, np.inf)
    for line in must_lines:
        xs = {}
        for p in cands:
            if book.entries[p].product_line == line:
                x = var(("x", p), 0, 1, True)
                c = {q: 1 for q in qvars[p]}
                c[x] = -needed[p]
                row(c, 0, np.inf)  # q ≥ T·x
                xs[x] = 1
        if not xs:
            return None
        row(xs, 1, np.inf)
    for b, (_, _, ids, rate) in enumerate(book.bundles):
        if not all(p in qvars for p in ids):
            continue
        z = var(("z", b), 0, 1, True)
        for p in ids:
            c = {w: 1 for w in wvars[p]}
            c[z] = -1
            row(c, 0, np.inf)  # z ≤ included(p)
            L = book.entries[p].list_cents
            u = var(("u", b, p), 0, np.inf, False, c=-float(rate))
            c = {q: -L for q in qvars[p]}
            c[u] = 1
            row(c, -np.inf, 0)  # u ≤ L·q
            row({u: 1, z: -L * needed[p]}, -np.inf, 0)  # u ≤ L·T·z
    n = len(names)
    cost_v = np.array(cost)
    value_v = np.array(value)
    if cap is not None:
        row({i: f * cost_v[i] for i in range(n) if cost_v[i]}, -np.inf, float(cap))
    A = np.zeros((len(rows), n))
    for i, coefs in enumerate(rows):
        for j, a in coefs.items():
            A[i, j] = a
    if minimise_cost:
        c = cost_v / max(1.0, float(np.abs(cost_v).max()))
    else:
        # coverage first; among equal coverage the cheaper mix (the tie-break is kept
        # below the smallest step of coverage: eps·cost/scale < min_p w_p/T_p)
        scale = float(sum(book.entries[p].list_cents * needed[p] for p in cands)) * f or 1.0
        step = min(weights[p] / needed[p] for p in cands)
        c = -value_v + (step * 1e-3) * cost_v / scale
    res = milp(
        c,
        constraints=LinearConstraint(A, lo_r, hi_r) if rows else None,
        integrality=np.array(integ),
        bounds=Bounds(lb, ub),
        options={"mip_rel_gap": 0.0, "presolve": True},
    )
    if res.status != 0 or res.x is None:
        return None
    return {p: int(round(sum(res.x[q] for q in qvars[p]))) for p in cands}


def best_mix(
    book: PriceBook,
    candidates,
    needed: dict[str, int],
    weights: dict[str, float],
    *,
    must_products=(),
    must_lines=(),
    extra: Decimal | float = 0,
    cap_cents: int | None = None,
    minimise_cost: bool = False,
) -> PricedQuote | None:
    """The best mix of ``candidates`` (see the module's program), priced exactly, or
    ``None`` when the must-haves cannot be covered within ``cap_cents``.

    ``cap_cents`` is held against the total including VAT when
    ``book.budget_includes_vat``, else against the subtotal. ``minimise_cost``: the
    cheapest mix covering the must-haves instead (the coverage is not valued).
    """
    extra = extra if isinstance(extra, Decimal) else Decimal(repr(float(extra)))
    cands = [p for p in book.entries if p in set(candidates)]
    if not cands:
        return None
    cap = None if cap_cents is None else float(cap_cents)
    for _ in range(20):
        qs = _solve(
            book, cands, needed, weights, set(must_products), must_lines, extra, cap, minimise_cost
        )
        if qs is None:
            return None
        quote = price_mix(book, qs, extra)
        if cap_cents is None or _measure(book, quote) <= cap_cents:
            return quote
        # rounding to cents went over: tighten the budget row by the difference
        cap -= _measure(book, quote) - cap_cents + 0.5
    raise RuntimeError("the mix could not be brought within the budget to the cent")


# --------------------------------------------------------------------------- words


def _pct(x) -> str:
    v = float(x) * 100
    return f"{v:.0f}%" if abs(v - round(v)) < 1e-9 else f"{v:.1f}%"


def _money(cents: int, lang: str, currency: str) -> str:
    from simlib.present import Units

    return Units(lang, scale="yuan", currency=currency).amount(cents / 100, unit=True)


def _peer_words(peers: Peers, book: PriceBook) -> Reason:
    parts_en, parts_zh = [], []
    if peers.industry:
        parts_en.append(f"in {peers.industry}")
        parts_zh.append(INDUSTRY_ZH.get(peers.industry, peers.industry))
    if peers.customer_type:
        en, zh = _TYPE_NAMES.get(peers.customer_type, (peers.customer_type, peers.customer_type))
        parts_en.append(f"{en}")
        parts_zh.append(zh)
    if peers.size_low is not None:
        lo, hi = int(round(peers.size_low)), int(round(peers.size_high))
        parts_en.append(f"{lo}–{hi} {book.size_unit[0]}")
        parts_zh.append(f"{lo}–{hi} {book.size_unit[1]}")
    en = "won customers " + ", ".join(parts_en) if parts_en else "all won customers"
    zh = ("、".join(parts_zh) + "的已成交客户") if parts_zh else "全部已成交客户"
    return Reason(en, zh)


def _line_reason(line, option_lines, needs: Needs, needed, peers: Peers, book: PriceBook) -> Reason:
    p = line.product_id
    q = line.quantity
    head_en = f"{line.name} × {q}"
    head_zh = f"{line.name_in('zh-CN')} × {q}"
    en, zh = [], []
    if p in needs.must_products:
        en.append("a must-have")
        zh.append("必备项")
    elif needs.must_lines and line.product_line in needs.must_lines:
        en.append(f"covers the must-have line {line.product_line}")
        zh.append(f"满足必备产品线“{line.product_line}”")
    if p in needs.named_products and p not in needs.must_products:
        en.append("asked for by the customer")
        zh.append("客户指定")
    if peers.n_customers and p in peers.attach:
        pw = _peer_words(peers, book)
        share = _pct(peers.attach[p])
        en.append(f"{share} of the {peers.n_customers} {pw.en} bought it")
        zh.append(f"{pw.zh}（{peers.n_customers} 家）中 {share} 购买了该产品")
        partners = [
            (peers.together.get((p, o.product_id), 0.0), o)
            for o in option_lines
            if o.product_id != p
        ]
        if partners:
            share2, other = max(partners, key=lambda x: x[0])
            if share2 > 0:
                en.append(f"bought together with {other.name} by {_pct(share2)}")
                zh.append(f"{_pct(share2)} 同时购买了{other.name_in('zh-CN')}")
    T = needed[p]
    unit_en, unit_zh = book.size_unit
    if q < T:
        en.append(f"{q} of the {T} that {needs.size} {unit_en} need: the budget allows no more")
        zh.append(f"{needs.size} {unit_zh}需 {T}，预算内可提供 {q}")
    else:
        en.append(f"the quantity {needs.size} {unit_en} need")
        zh.append(f"{needs.size} {unit_zh}所需数量")
    if line.break_rate:
        m = max(m for m, r in book.entries[p].breaks if r == line.break_rate)
        en.append(f"volume price from {m} units: {_pct(line.break_rate)} off")
        zh.append(f"满 {m} 件享批量价，优惠 {_pct(line.break_rate)}")
    if line.bundle_rate:
        en.append(f"bundle {line.bundle}: {_pct(line.bundle_rate)} off")
        zh.append(f"“{line.bundle_zh}”套餐优惠 {_pct(line.bundle_rate)}")
    return Reason(f"{head_en}: " + "; ".join(en), f"{head_zh}：" + "；".join(zh))


def _notes(kind, quote, needs, pool, book, budget) -> tuple[Reason, ...]:
    out = []
    cur = book.currency
    incl_en = " including VAT" if book.budget_includes_vat else " before VAT"
    incl_zh = "（含税）" if book.budget_includes_vat else "（不含税）"
    measured = _measure(book, quote)
    if budget is not None:
        gap = measured - budget
        b_en, b_zh = _money(budget, "en", cur), _money(budget, "zh-CN", cur)
        if gap <= 0:
            out.append(
                Reason(
                    f"Within the budget of {b_en}{incl_en} ({_money(-gap, 'en', cur)} to spare).",
                    f"在预算 {b_zh}{incl_zh}之内（余 {_money(-gap, 'zh-CN', cur)}）。",
                )
            )
        else:
            out.append(
                Reason(
                    f"{_money(gap, 'en', cur)} ({_pct(gap / budget)}) above the budget of "
                    f"{b_en}{incl_en}.",
                    f"比预算 {b_zh}{incl_zh}高出 {_money(gap, 'zh-CN', cur)}"
                    f"（{_pct(gap / budget)}）。",
                )
            )
    if needs.budget_min_cents is not None and measured < needs.budget_min_cents:
        out.append(
            Reason(
                "Below the lower end of the budget range "
                f"({_money(needs.budget_min_cents, 'en', cur)}).",
                f"低于预算区间下限（{_money(needs.budget_min_cents, 'zh-CN', cur)}）。",
            )
        )
    have = quote.quantities()
    rare = [p for p in needs.candidates if p not in pool and p not in have]
    tight = [p for p in pool if p not in have]
    share = _pct(book.rules.similar.recommend_attach)
    for left, en, zh in (
        (tight, "for the budget", "受预算所限"),
        (
            rare,
            f"fewer than {share} of similar customers bought them",
            f"同类客户购买比例低于 {share}",
        ),
    ):
        if left:
            names_en = ", ".join(book.entries[p].name for p in left)
            names_zh = "、".join(book.entries[p].name_in("zh-CN") for p in left)
            out.append(Reason(f"Left out {en}: {names_en}.", f"{zh}，未包含：{names_zh}。"))
    if quote.approver:
        who_en, who_zh = role_label(quote.approver, "en"), role_label(quote.approver, "zh-CN")
        rep = book.authority["rep"]
        out.append(
            Reason(
                f"Needs approval by a {who_en}: the extra discount of {_pct(quote.extra_rate)} "
                f"is above a sales rep's {_pct(rep)}.",
                f"需{who_zh}审批：额外折扣 {_pct(quote.extra_rate)} 超出销售权限（{_pct(rep)}）。",
            )
        )
    return tuple(out)


# --------------------------------------------------------------------------- propose


def propose(needs: Needs, data, book: PriceBook, *, as_of: dt.date | None = None) -> Proposal:
    """Two or three priced options for ``needs`` (see the module's docstring).

    Raises :class:`NeedsError` (field ``must_have``, or ``budget``) when the
    must-haves cannot be covered within the budget, saying what they cost at least.
    """
    peers = similar_customers(data, book, needs)
    cands = list(needs.candidates)
    needed = {p: book.entries[p].needed(needs.size) for p in cands}
    weights = {
        p: max(peers.attach.get(p, 0.0), MIN_WEIGHT)
        + (NAMED_BONUS if p in needs.named_products else 0.0)
        for p in cands
    }
    extra = needs.discount
    if not needs.raw.get("discount") and peers.typical_discount is not None:
        extra = min(peers.typical_discount, book.authority["director"])
    must = dict(must_products=needs.must_products, must_lines=needs.must_lines, extra=extra)
    budget = needs.budget_cents
    options: list[Option] = []

    def add(kind, quote, pool=cands):
        if any(o.quote.quantities() == quote.quantities() for o in options):
            return
        lines = quote.lines
        reasons = tuple(_line_reason(ln, lines, needs, needed, peers, book) for ln in lines)
        notes = _notes(kind, quote, needs, pool, book, budget)
        options.append(Option(kind, quote, reasons, notes, budget, _measure(book, quote)))

    if budget is not None:
        within = best_mix(book, cands, needed, weights, cap_cents=budget, **must)
        if within is None:
            cheapest = best_mix(book, cands, needed, weights, minimise_cost=True, **must)
            raise NeedsError([_impossible(needs, book, cheapest, budget)])
        add("within_budget", within)
    threshold = book.rules.similar.recommend_attach
    rec_pool = [
        p
        for p in cands
        if p in needs.must_products
        or p in needs.named_products
        or (needs.must_lines and book.entries[p].product_line in needs.must_lines)
        or peers.attach.get(p, 0.0) >= threshold
    ] or cands
    stretch = None
    if budget is not None:
        stretch = int(budget * (1 + book.rules.similar.recommended_stretch))
    rec = best_mix(book, rec_pool, needed, weights, cap_cents=stretch, **must)
    if rec is not None:
        add("recommended", rec, rec_pool)
    full = price_mix(book, {p: needed[p] for p in cands}, extra)
    add("full_coverage", full)
    issue = as_of or getattr(data, "as_of", None) or dt.date.today()
    return Proposal(needs, book, peers, tuple(options), issue)


def _impossible(
    needs: Needs, book: PriceBook, cheapest: PricedQuote | None, budget: int
) -> NeedsProblem:
    cur = book.currency
    incl_en = " including VAT" if book.budget_includes_vat else " before VAT"
    incl_zh = "（含税）" if book.budget_includes_vat else "（不含税）"
    if cheapest is None:
        return NeedsProblem(
            "must_have",
            "the must-haves cannot be covered by the products left after the exclusions",
            "排除后剩余的产品无法满足必备项",
        )
    m = _measure(book, cheapest)
    items_en = ", ".join(f"{ln.name} × {ln.quantity}" for ln in cheapest.lines)
    items_zh = "、".join(f"{ln.name_in('zh-CN')} × {ln.quantity}" for ln in cheapest.lines)
    return NeedsProblem(
        "must_have",
        f"the must-haves alone come to {_money(m, 'en', cur)}{incl_en} ({items_en} for "
        f"{needs.size} {book.size_unit[0]}), above the budget of {_money(budget, 'en', cur)}: "
        f"raise the budget to at least {_money(m, 'en', cur)}, or drop a must-have, "
        "or lower the size",
        f"仅必备项即需 {_money(m, 'zh-CN', cur)}{incl_zh}（{needs.size} {book.size_unit[1]}："
        f"{items_zh}），超出预算 {_money(budget, 'zh-CN', cur)}：请将预算提高到至少 "
        f"{_money(m, 'zh-CN', cur)}，或减少必备项，或降低规模",
    )
