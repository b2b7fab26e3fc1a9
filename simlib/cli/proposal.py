"""``simlib proposal``: a priced proposal from a customer's needs (SPEC R19).

::

    simlib proposal --needs needs.yaml
    simlib proposal --budget 2000000 --lines "IoT Platform" --industry Manufacturing \\
        --size 50 --must-have "IoT Platform License" [--customer C00001] [--lang en] \\
        [--option within_budget|recommended|full_coverage] [--json] [--save DIR]

Prints the options side by side (products, subtotal, VAT, total, against the budget,
who must approve), then the chosen option's lines (unit price, quantity, discount,
subtotal), its totals and the reasons, in the page's language; names, not ids.
``--save DIR`` writes the chosen option as opportunities for the CRM
(:func:`simlib.proposals.save_proposal`). Flags override the needs file's fields.
"""

from __future__ import annotations

from simlib.cli.common import EXIT_OK, UserError, add_data_args
from simlib.cli.reach import category, dataset, dump_json, lang_of, print_table, say

__all__ = ["add_parser", "cmd_proposal"]

_KIND_ALIASES = {
    "within": "within_budget",
    "within_budget": "within_budget",
    "budget": "within_budget",
    "recommended": "recommended",
    "full": "full_coverage",
    "full_coverage": "full_coverage",
}

#: flag → needs field (lists are comma-separated on the command line)
_FLAGS = (
    ("budget", "budget"),
    ("budget_min", "budget_min"),
    ("budget_max", "budget_max"),
    ("lines", "lines"),
    ("products", "products"),
    ("size", "size"),
    ("industry", "industry"),
    ("customer_type", "customer_type"),
    ("must_have", "must_have"),
    ("exclude", "exclude"),
    ("start", "start_date"),
    ("discount", "discount"),
    ("customer", "customer"),
    ("owner", "owner"),
    ("opportunity", "opportunity"),
)


def _raw_needs(args) -> dict:
    from simlib.proposals import read_needs

    raw = dict(read_needs(args.needs)) if args.needs else {}
    for flag, fld in _FLAGS:
        v = getattr(args, flag, None)
        if v is not None:
            raw[fld] = v
    if not raw:
        raise UserError(
            "say what the customer needs: --needs FILE.yaml, or --budget, --lines, --size ..."
        )
    return raw


def _pct(rate) -> str:
    from simlib.present import pct

    return pct(float(rate), decimals=1).replace(".0%", "%")


def cmd_proposal(args) -> int:
    from simlib.company import default_currency
    from simlib.present import Units
    from simlib.proposals import (
        NeedsError,
        load_pricing,
        price_book,
        propose,
        resolve_needs,
        save_proposal,
    )
    from simlib.proposals.needs import INDUSTRY_ZH

    lang = lang_of(args)
    data = dataset(args)
    book = price_book(load_pricing(args.pricing), data.products, currency=default_currency())
    try:
        raw = _raw_needs(args)
        needs = resolve_needs(raw, data, book, lang=lang)
        proposal = propose(needs, data, book)
    except NeedsError as e:
        raise UserError(e.message(lang)) from None
    kind = _KIND_ALIASES.get(args.option or "recommended")
    if kind is None:
        raise UserError(
            f"--option must be within_budget, recommended or full_coverage; got {args.option!r}"
        )
    chosen = proposal.option(kind)
    saved = save_proposal(proposal, args.save, chosen.kind) if args.save else None
    if args.json:
        dump_json(_as_json(proposal, chosen, lang, saved))
        return EXIT_OK
    units = Units(lang, scale="yuan", currency=book.currency)
    zh = lang == "zh-CN"

    # the heading: who, what, the budget
    who = needs.customer_name or say(lang, "a new customer", "新客户")
    facts = []
    if needs.industry:
        facts.append(INDUSTRY_ZH.get(needs.industry, needs.industry) if zh else needs.industry)
    if needs.customer_type:
        facts.append(category(needs.customer_type, lang))
    facts.append(f"{needs.size} {book.size_unit_in(lang)}")
    sep = "、" if zh else ", "
    print(
        say(
            lang, f"Proposal for {who} ({sep.join(facts)})", f"{who}的方案建议（{sep.join(facts)}）"
        )
    )
    incl = (
        say(lang, "including VAT", "含税")
        if book.budget_includes_vat
        else say(lang, "before VAT", "不含税")
    )
    if needs.budget_cents is not None:
        b = units.amount(needs.budget_cents / 100, unit=True)
        rng = ""
        if needs.budget_min_cents is not None:
            rng = units.amount(needs.budget_min_cents / 100, unit=True) + " – "
        print(say(lang, f"Budget: {rng}{b} ({incl})", f"预算：{rng}{b}（{incl}）"))
    print(
        say(
            lang,
            f"Dated {proposal.issue_date}, valid until {proposal.valid_until}",
            f"日期 {proposal.issue_date}，有效期至 {proposal.valid_until}",
        )
    )

    # the options side by side
    print()
    print(say(lang, "Options", "可选方案"))
    rows = []
    for o in proposal.options:
        q = o.quote
        gap = o.over_budget_cents
        if gap is None:
            against = "—"
        elif gap <= 0:
            against = say(lang, "within", "预算内")
        else:
            against = units.amount(gap / 100, sign=True)
        approver = _approver(q.approver, lang)
        mark = "▶ " if o is chosen else "  "
        rows.append(
            [
                mark + o.title(lang),
                str(len(q.lines)),
                units.amount(q.subtotal_cents / 100),
                units.amount(q.vat_cents / 100),
                units.amount(q.total_cents / 100),
                against,
                approver,
            ]
        )
    print_table(
        [
            say(lang, "  Option", "  方案"),
            say(lang, "Products", "产品数"),
            units.header("小计", "Subtotal"),
            units.header("增值税", "VAT"),
            units.header("总计", "Total"),
            units.header("对比预算", "Against budget"),
            say(lang, "Approval", "审批"),
        ],
        rows,
        right=(1, 2, 3, 4, 5),
    )

    # the chosen option's lines
    q = chosen.quote
    print()
    print(say(lang, f"{chosen.title(lang)}: line items", f"{chosen.title(lang)}：报价明细"))
    lines = []
    for i, ln in enumerate(q.lines, 1):
        unit = ln.unit_zh if zh else ln.unit_en
        lines.append(
            [
                str(i),
                ln.name_in(lang),
                f"{ln.quantity:,} {unit}",
                units.amount(ln.unit_list_cents / 100),
                _pct(ln.discount_rate) if ln.discount_rate else "—",
                units.amount(ln.discount_cents / 100),
                units.amount(ln.net_cents / 100),
            ]
        )
    print_table(
        [
            say(lang, "No.", "序号"),
            say(lang, "Product", "产品"),
            say(lang, "Quantity", "数量"),
            units.header("单价", "Unit price"),
            say(lang, "Discount %", "折扣率"),
            units.header("折扣额", "Discount"),
            units.header("小计", "Subtotal"),
        ],
        lines,
        right=(0, 2, 3, 4, 5, 6),
    )
    vat = _pct(q.vat_rate)
    print_table(
        ["", ""],
        [
            [say(lang, "List amount", "目录价金额"), units.amount(q.list_cents / 100, unit=True)],
            [say(lang, "Discount", "折扣"), units.amount(-q.discount_cents / 100, unit=True)],
            [say(lang, "Subtotal", "小计"), units.amount(q.subtotal_cents / 100, unit=True)],
            [say(lang, f"VAT {vat}", f"增值税 {vat}"), units.amount(q.vat_cents / 100, unit=True)],
            [say(lang, "Total", "总计"), units.amount(q.total_cents / 100, unit=True)],
        ],
        right=(1,),
    )
    print(
        say(lang, "Approval: ", "审批：")
        + (
            say(
                lang,
                f"needs approval by the {_approver(q.approver, lang)}",
                f"需{_approver(q.approver, lang)}审批",
            )
            if q.approver
            else say(lang, "within the sales rep's authority", "在销售权限内，无需审批")
        )
    )
    terms = book.payment_terms[1] if zh else book.payment_terms[0]
    print(say(lang, f"Payment terms: {terms}", f"付款条件：{terms}"))
    print()
    print(say(lang, "Why", "推荐理由"))
    for r in chosen.reasons:
        print("  - " + r.text(lang))
    for r in chosen.notes:
        print("  * " + r.text(lang))
    if saved is not None:
        print()
        print(
            say(
                lang,
                f"Saved for the CRM (opportunities, stage proposal): {saved}",
                f"已保存供导入 CRM（商机，阶段：方案）：{saved}",
            )
        )
    return EXIT_OK


def _approver(role: str | None, lang: str) -> str:
    from simlib.ledger.roles import role_label

    return role_label(role, lang) if role else "—"


def _as_json(proposal, chosen, lang: str, saved) -> dict:
    needs = proposal.needs

    def money(c):
        return round(c / 100, 2)

    return {
        "customer": needs.customer_name,
        "customer_id": needs.customer_id,
        "industry": needs.industry,
        "customer_type": needs.customer_type,
        "size": needs.size,
        "budget": None if needs.budget_cents is None else money(needs.budget_cents),
        "budget_includes_vat": proposal.book.budget_includes_vat,
        "currency": proposal.book.currency,
        "date": proposal.issue_date.isoformat(),
        "valid_until": proposal.valid_until.isoformat(),
        "similar_customers": proposal.peers.n_customers,
        "similar_level": proposal.peers.level,
        "chosen": chosen.kind,
        "options": [
            {
                "kind": o.kind,
                "title": o.title(lang),
                "lines": [
                    {
                        "product_id": ln.product_id,
                        "product": ln.name_in(lang),
                        "quantity": ln.quantity,
                        "unit_price": money(ln.unit_list_cents),
                        "discount_rate": float(ln.discount_rate),
                        "discount": money(ln.discount_cents),
                        "subtotal": money(ln.net_cents),
                    }
                    for ln in o.quote.lines
                ],
                "list_amount": money(o.quote.list_cents),
                "subtotal": money(o.quote.subtotal_cents),
                "vat": money(o.quote.vat_cents),
                "total": money(o.quote.total_cents),
                "over_budget": None if o.over_budget_cents is None else money(o.over_budget_cents),
                "approver": o.quote.approver,
                "reasons": [r.text(lang) for r in o.reasons],
                "notes": [r.text(lang) for r in o.notes],
            }
            for o in proposal.options
        ],
        "saved": None if saved is None else str(saved),
    }


def add_parser(sub) -> None:
    p = sub.add_parser(
        "proposal",
        help="propose a priced product mix from a customer's needs (SPEC R19)",
        description=(
            "Two or three priced options (within budget, recommended, full coverage) from a "
            "customer's needs and what similar won customers bought; the prices of "
            "params/pricing.yaml (volume breaks, bundles, discount authority, VAT)."
        ),
    )
    p.add_argument("--needs", default=None, help="the needs as YAML or CSV (flags override it)")
    p.add_argument(
        "--budget", default=None, help="the most the customer will spend, e.g. 2000000 or 200万"
    )
    p.add_argument("--budget-min", default=None, help="the low end of a budget range")
    p.add_argument("--budget-max", default=None, help="the high end of a budget range")
    p.add_argument("--lines", default=None, help="product lines of interest, comma-separated")
    p.add_argument("--products", default=None, help="products of interest, comma-separated")
    p.add_argument("--size", default=None, help="the customer's size in the price book's unit")
    p.add_argument("--industry", default=None)
    p.add_argument("--customer-type", default=None, help="smb or key_account")
    p.add_argument("--must-have", default=None, help="products or lines that must be covered")
    p.add_argument("--exclude", default=None, help="products or lines never to propose")
    p.add_argument("--start", default=None, help="the desired start date, e.g. 2027-01-15")
    p.add_argument("--discount", default=None, help="extra discount asked for, e.g. 8%%")
    p.add_argument("--customer", default=None, help="an existing customer (id or name)")
    p.add_argument("--owner", default=None, help="the rep who owns it (id or name)")
    p.add_argument("--opportunity", default=None, help="an open opportunity this updates")
    p.add_argument("--pricing", default=None, help="pricing rules (default params/pricing.yaml)")
    p.add_argument(
        "--option", default=None, help="the option to detail and save (default: recommended)"
    )
    p.add_argument("--json", action="store_true", help="plain data for scripts")
    p.add_argument("--save", default=None, metavar="DIR", help="write the option for the CRM")
    add_data_args(p)
    p.set_defaults(func=cmd_proposal)
