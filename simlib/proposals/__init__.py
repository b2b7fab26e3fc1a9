"""Proposals and quotes from a customer's needs (SPEC R19).

The path, one function each (all pure but the reading and saving of files)::

    from simlib.proposals import (
        load_pricing, price_book, read_needs, resolve_needs, propose, save_proposal,
    )

    book = price_book(load_pricing(), data.products)          # params/pricing.yaml
    needs = resolve_needs(read_needs("needs.yaml"), data, book)  # or a dict from a form
    proposal = propose(needs, data, book)                     # 2-3 priced options
    option = proposal.option()                                # the recommended one
    option.quote.lines, option.quote.total_cents, option.quote.approver
    [r.text("zh-CN") for r in option.reasons]
    save_proposal(proposal, "out/")                           # CSV for the CRM

- :mod:`~simlib.proposals.needs`: the needs, checked (:class:`NeedsError` carries one
  :class:`NeedsProblem` per field, in both languages, for a form to show next to
  its control);
- :mod:`~simlib.proposals.pricing`: ``params/pricing.yaml`` and exact pricing in cents
  (:func:`price_mix`), who must approve a discount (:func:`approver_for`);
- :mod:`~simlib.proposals.history`: what similar won customers bought;
- :mod:`~simlib.proposals.mix`: the integer program and the options with reasons;
- :mod:`~simlib.proposals.export`: the opportunities export and the forecast's view.

A customer document must show only ``option.quote`` (lines, subtotal, VAT, total),
the needs summary, ``proposal.valid_until`` and ``book.payment_terms``: the reasons
name similar customers' shares, and the notes carry approvals — internal (the
manager's cover sheet).
"""

from simlib.proposals.export import (
    EXPORT_COLUMNS,
    opportunity_rows,
    save_proposal,
    with_proposals,
)
from simlib.proposals.history import Peers, similar_customers
from simlib.proposals.mix import (
    OPTION_KINDS,
    Option,
    Proposal,
    Reason,
    best_mix,
    coverage_value,
    option_title,
    propose,
)
from simlib.proposals.needs import (
    FIELDS,
    INDUSTRY_ZH,
    Needs,
    NeedsError,
    NeedsProblem,
    read_needs,
    resolve_needs,
)
from simlib.proposals.pricing import (
    APPROVERS,
    PriceBook,
    PricedLine,
    PricedQuote,
    PricingParams,
    approver_for,
    load_pricing,
    price_book,
    price_mix,
)

__all__ = [
    "APPROVERS",
    "EXPORT_COLUMNS",
    "FIELDS",
    "INDUSTRY_ZH",
    "OPTION_KINDS",
    "Needs",
    "NeedsError",
    "NeedsProblem",
    "Option",
    "Peers",
    "PriceBook",
    "PricedLine",
    "PricedQuote",
    "PricingParams",
    "Proposal",
    "Reason",
    "approver_for",
    "best_mix",
    "coverage_value",
    "load_pricing",
    "opportunity_rows",
    "option_title",
    "price_book",
    "price_mix",
    "propose",
    "read_needs",
    "resolve_needs",
    "save_proposal",
    "similar_customers",
    "with_proposals",
]
