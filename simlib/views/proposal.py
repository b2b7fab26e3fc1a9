"""The proposal documents (SPEC R19): the customer's proposal and quote, and the
manager's internal cover sheet, as safe HTML sections.

::

    from simlib.views.proposal import build_proposal, customer_document, cover_sheet

    proposal = build_proposal({"budget": "200万", "size": 50, ...}, data)
    doc = customer_document(proposal, "recommended", lang="zh-CN", data=data)
    doc.header(); doc.needs(); doc.solution(); doc.items(); doc.totals(); doc.terms()
    cover = cover_sheet(proposal, "recommended", lang="zh-CN", data=data)
    cover.header(); cover.options(); cover.reasons(); cover.approval()

The customer document shows only what the customer may read: the company's header,
the needs as the customer stated them, the proposed products, the line items (product,
unit price, quantity, discount, subtotal), subtotal, VAT and total — every amount in
yuan to the cent, the lines summing exactly to the subtotal — the validity date and the
payment terms. Nothing internal: no margins, no similar customers, no approvals, no
ids (the document number is made from the date and a digest, not from an id).

The cover sheet (for the manager) carries the rest: the options side by side with
their gross margins, the reasons (what similar won customers bought), who must
approve, and what was left out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from simlib import present
from simlib.i18n import category, translator
from simlib.i18n import escape as _esc
from simlib.present import Col, Units

__all__ = [
    "CoverSheet",
    "CustomerDocument",
    "build_proposal",
    "cover_sheet",
    "customer_document",
    "document_page",
    "needs_from_fields",
    "save_documents",
]

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Proposal and quotation", "方案建议书及报价单"),
    "cover_title": ("Proposal cover sheet — internal", "方案审批封面 — 内部资料"),
    "cover_note": (
        "For the sales manager only: never send this page to the customer.",
        "仅供销售经理审阅，请勿发送给客户。",
    ),
    "no": ("Document no.", "文件编号"),
    "date": ("Date", "日期"),
    "valid": ("Valid until", "有效期至"),
    "to": ("To", "致"),
    "contact": ("Your contact", "联系人"),
    "new_customer": ("Prospective customer", "潜在客户"),
    "needs": ("Your needs", "需求概述"),
    "n_size": ("Scale", "规模"),
    "n_industry": ("Industry", "行业"),
    "n_interest": ("Of interest", "关注的产品"),
    "n_must": ("Must have", "必备"),
    "n_exclude": ("Not wanted", "不需要"),
    "n_start": ("Desired start", "期望开始日期"),
    "n_budget": ("Budget", "预算"),
    "incl_vat": ("including VAT", "含税"),
    "excl_vat": ("before VAT", "不含税"),
    "solution": ("Proposed solution", "建议方案"),
    "sol_intro": (
        "For {size} {unit} we propose:",
        "针对 {size} {unit}，我们建议以下产品：",
    ),
    "sol_bundle": ("{name} bundle: {p} off each of its products.", "{name}：所含产品各优惠 {p}。"),
    "sol_break": ("Volume price: {p} off from {m} units.", "批量价：满 {m} 件优惠 {p}。"),
    "items": ("Line items", "报价明细"),
    "totals": ("Totals", "合计"),
    "list": ("List amount", "目录价金额"),
    "discount": ("Discount", "折扣"),
    "subtotal": ("Subtotal (before VAT)", "小计（不含税）"),
    "vat": ("VAT {p}", "增值税 {p}"),
    "total": ("Total (including VAT)", "总计（含税）"),
    "terms": ("Validity and terms", "有效期与条款"),
    "t_valid": ("This quotation is valid until {d}.", "本报价有效期至 {d}。"),
    "t_currency": ("Prices are in {c}, to the cent.", "价格以{c}计，精确到分。"),
    "t_vat": ("VAT at {p} is included in the total.", "总计已含 {p} 增值税。"),
    "t_pay": ("Payment terms: {t}.", "付款条件：{t}。"),
    "t_start": ("Delivery can start on {d}.", "可于 {d} 开始交付。"),
    # cover sheet
    "c_customer": ("Customer", "客户"),
    "c_owner": ("Sales rep", "负责销售"),
    "c_type": ("Customer type", "客户类型"),
    "c_peers": ("Similar won customers", "同类已成交客户"),
    "c_chosen": ("Option sent to the customer", "发给客户的方案"),
    "options": ("The options side by side", "方案对比"),
    "reasons": ("Why these products", "推荐理由"),
    "notes": ("Notes", "说明"),
    "approval": ("Approval", "审批"),
    "a_none": (
        "Within the sales rep's authority: no approval needed.",
        "在销售权限内，无需审批。",
    ),
    "a_need": ("Needs approval by the {who} before it is sent.", "发送前需{who}审批。"),
    "margin_note": (
        "Gross margin: the net amount less the cost (list price × (1 − the catalogue's gross "
        "margin)).",
        "毛利：净额减成本（成本 = 目录价 × (1 − 产品目录毛利率)）。",
    ),
    "peers_none": ("no similar won customers", "没有同类已成交客户"),
    "peers_n": ("{n} ({how})", "{n} 家（{how}）"),
    "lvl_industry_type_size": (
        "same industry, customer type and size",
        "相同行业、客户类型和规模",
    ),
    "lvl_industry_type": ("same industry and customer type", "相同行业和客户类型"),
    "lvl_industry": ("same industry", "相同行业"),
    "lvl_type": ("same customer type", "相同客户类型"),
    "lvl_all": ("all won customers", "全部已成交客户"),
    "chosen_mark": ("chosen", "已选"),
    "within": ("within", "预算内"),
}
_t = translator(_TEXT)

_CURRENCY_ZH = {"CNY": "人民币", "USD": "美元", "EUR": "欧元"}
_LIST_FIELDS = ("lines", "products", "must_have", "exclude")


# --------------------------------------------------------------------------- building


def needs_from_fields(needs_file: str = "", **fields) -> dict:
    """The raw needs: the file's (YAML or CSV, when given), then every non-empty field
    over it (lists may be comma-separated text). For templates and forms."""
    from simlib.proposals import read_needs

    raw = dict(read_needs(needs_file)) if needs_file else {}
    for k, v in fields.items():
        if v is None or v == "" or v == [] or v == ():
            continue
        raw[k] = v
    return raw


def build_proposal(raw: dict, data, *, pricing=None, lang: str = "en", as_of=None):
    """Needs (a raw dict) → a :class:`~simlib.proposals.Proposal` priced by
    ``params/pricing.yaml`` (or ``pricing``). Raises :class:`~simlib.proposals.NeedsError`."""
    from simlib.company import default_currency
    from simlib.proposals import load_pricing, price_book, propose, resolve_needs

    book = price_book(load_pricing(pricing), data.products, currency=default_currency())
    needs = resolve_needs(raw, data, book, lang=lang)
    return propose(needs, data, book, as_of=as_of)


# --------------------------------------------------------------------------- helpers


def _rate(rate) -> str:
    v = Decimal(str(rate)) * 100
    return f"{v.normalize():f}%" if v else "0%"


def _company(data, lang: str) -> str:
    top = data.org[data.org["level"] == "company"]
    if not len(top):
        return ""
    c = top.iloc[0]
    zh = c.get("name_zh")
    return str(zh) if lang == "zh-CN" and isinstance(zh, str) and zh else str(c["name"])


def _rep_name(data, rep_id, lang: str) -> str:
    if not rep_id:
        return ""
    reps = data.reps
    hit = reps[reps["rep_id"].astype(str) == str(rep_id)]
    if hit.empty:
        return ""
    r = hit.iloc[0]
    zh = r.get("name_zh")
    return str(zh) if lang == "zh-CN" and isinstance(zh, str) and zh else str(r["name"])


def _doc_no(proposal, kind: str) -> str:
    """A document number from the date and a digest of what is quoted (no ids)."""
    opt = proposal.option(kind)
    key = "|".join(
        [str(proposal.needs.customer_name or ""), str(proposal.issue_date)]
        + [f"{ln.name}:{ln.quantity}" for ln in opt.quote.lines]
    )
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 10000
    return f"P-{proposal.issue_date:%Y%m%d}-{digest:04d}"


def _names(proposal, ids, lang: str) -> list[str]:
    book = proposal.book
    out = []
    for p in ids:
        e = book.entries.get(p)
        out.append(e.name_in(lang) if e else str(p))
    return out


def document_page(sections, lang: str, title: str) -> str:
    """A standalone A4 page (screen and print) of ``sections`` (safe HTML)."""
    css = present.PAGE_CSS + (
        "body { font-family: system-ui, 'Segoe UI', 'WenQuanYi Micro Hei', "
        "'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif; max-width: 900px; margin: 0 auto; "
        "padding: 16px 24px; color: #1f2933; }\n"
        "@page { size: A4; margin: 16mm 14mm; }\n"
        "@media print { body { max-width: none; padding: 0; } }\n"
    )
    body = "".join(str(s) for s in sections)
    return (
        f'<!DOCTYPE html><html lang="{_esc(lang)}"><head><meta charset="utf-8">'
        f"<title>{_esc(title)}</title><style>{css}</style></head><body>{body}</body></html>"
    )


# --------------------------------------------------------------------------- customer


@dataclass(frozen=True)
class CustomerDocument:
    """The customer-facing proposal and quote for one option of a proposal."""

    proposal: object
    kind: str
    lang: str
    company: str
    contact: str

    @property
    def option(self):
        return self.proposal.option(self.kind)

    @property
    def quote(self):
        return self.option.quote

    @property
    def units(self) -> Units:
        return Units(self.lang, scale="yuan", currency=self.proposal.book.currency)

    def _h2(self, key: str) -> str:
        return f"<h2>{_esc(_t(key, self.lang))}</h2>"

    def _money(self, cents: int) -> str:
        return self.units.amount(cents / 100, unit=True, decimals=2)

    @property
    def number(self) -> str:
        return _doc_no(self.proposal, self.option.kind)

    def header(self) -> present.HTML:
        L = self.lang
        sep = "：" if L == "zh-CN" else ": "
        p = self.proposal
        fields = [
            ("no", self.number),
            ("date", str(p.issue_date)),
            ("valid", str(p.valid_until)),
            ("to", p.needs.customer_name or _t("new_customer", L)),
        ]
        if self.contact:
            fields.append(("contact", self.contact))
        body = "<br>".join(f"<b>{_esc(_t(k, L))}</b>{sep}{_esc(v)}" for k, v in fields)
        title = f"{self.company} — {_t('title', L)}" if self.company else _t("title", L)
        return present.HTML(f"<h1>{_esc(title)}</h1><p>{body}</p>")

    def needs(self) -> present.HTML:
        """The needs as the customer stated them (no segmentation, no internal fields)."""
        L = self.lang
        n = self.proposal.needs
        book = self.proposal.book
        raw = n.raw
        rows = [(_t("n_size", L), f"{n.size:,} {book.size_unit_in(L)}")]
        if n.industry:
            rows.append((_t("n_industry", L), category(n.industry, L)))
        sep = "、" if L == "zh-CN" else ", "
        interest = [category(x, L) for x in _as_list(raw.get("lines"))]
        interest += _names(self.proposal, n.named_products, L)
        if interest:
            rows.append((_t("n_interest", L), sep.join(interest)))
        must = _names(self.proposal, n.must_products, L) + [category(x, L) for x in n.must_lines]
        if must:
            rows.append((_t("n_must", L), sep.join(must)))
        if _as_list(raw.get("exclude")):
            rows.append((_t("n_exclude", L), sep.join(_names(self.proposal, n.excluded, L))))
        if n.start_date:
            rows.append((_t("n_start", L), str(n.start_date)))
        if n.budget_cents is not None:
            incl = _t("incl_vat" if book.budget_includes_vat else "excl_vat", L)
            b = self._money(n.budget_cents)
            if n.budget_min_cents is not None:
                b = f"{self._money(n.budget_min_cents)} – {b}"
            rows.append((_t("n_budget", L), f"{b}（{incl}）" if L == "zh-CN" else f"{b} ({incl})"))
        colon = "：" if L == "zh-CN" else ": "
        body = "".join(f"<li><b>{_esc(k)}</b>{colon}{_esc(v)}</li>" for k, v in rows)
        return present.HTML(self._h2("needs") + f"<ul>{body}</ul>")

    def solution(self) -> present.HTML:
        """The proposed products by line, with quantities; bundles and volume prices."""
        L = self.lang
        q = self.quote
        book = self.proposal.book
        zh = L == "zh-CN"
        intro = _t("sol_intro", L, size=f"{self.proposal.needs.size:,}", unit=book.size_unit_in(L))
        items = []
        for ln in q.lines:
            unit = ln.unit_zh if zh else ln.unit_en
            line = category(ln.product_line, L) if ln.product_line else ""
            text = f"{ln.name_in(L)} × {ln.quantity:,}" + (f" {unit}" if zh else f" ({unit})")
            if line:
                text += f"（{line}）" if zh else f" — {line}"
            items.append(f"<li>{_esc(text)}</li>")
        extras = []
        seen = set()
        for ln in q.lines:
            if ln.bundle_rate and ln.bundle not in seen:
                seen.add(ln.bundle)
                extras.append(
                    _t("sol_bundle", L, name=ln.bundle_zh if zh else ln.bundle,
                       p=_rate(ln.bundle_rate))
                )  # fmt: skip
            if ln.break_rate:
                m = max(m for m, r in book.entries[ln.product_id].breaks if r == ln.break_rate)
                extras.append(
                    f"{ln.name_in(L)}{'：' if zh else ': '}"
                    + _t("sol_break", L, p=_rate(ln.break_rate), m=m)
                )
        more = "".join(f"<li>{_esc(x)}</li>" for x in extras)
        return present.HTML(
            self._h2("solution")
            + f"<p>{_esc(intro)}</p><ul>{''.join(items)}</ul>"
            + (f"<ul class='simlib-offers'>{more}</ul>" if more else "")
        )

    def lines_frame(self) -> pd.DataFrame:
        """The line items as numbers (cents) and shown text."""
        zh = self.lang == "zh-CN"
        return pd.DataFrame(
            [
                {
                    "n": i + 1,
                    "product": ln.name_in(self.lang),
                    "unit_price": ln.unit_list_cents / 100,
                    "qty": ln.quantity,
                    "unit": ln.unit_zh if zh else ln.unit_en,
                    "rate": float(ln.discount_rate),
                    "discount": ln.discount_cents / 100,
                    "subtotal": ln.net_cents / 100,
                    "net_cents": ln.net_cents,
                }
                for i, ln in enumerate(self.quote.lines)
            ]
        )

    def items(self) -> present.HTML:
        cols = [
            Col("n", "序号", "No.", kind="count"),
            Col("product", "产品", "Product"),
            Col("unit_price", "单价", "Unit price", kind="amount"),
            Col("qty", "数量", "Quantity", kind="count"),
            Col("unit", "单位", "Unit"),
            Col("rate", "折扣率", "Discount %", fmt=lambda r: _rate(r) if r else "—"),
            Col("discount", "折扣额", "Discount", kind="amount"),
            Col("subtotal", "小计", "Subtotal", kind="amount"),
        ]
        return present.HTML(self._h2("items") + present.table(self.lines_frame(), cols, self.units))

    def totals_frame(self) -> pd.DataFrame:
        L = self.lang
        q = self.quote
        rows = [
            (_t("list", L), q.list_cents),
            (_t("discount", L), -q.discount_cents),
            (_t("subtotal", L), q.subtotal_cents),
            (_t("vat", L, p=_rate(q.vat_rate)), q.vat_cents),
            (_t("total", L), q.total_cents),
        ]
        f = pd.DataFrame(rows, columns=["item", "cents"])
        f["amount"] = f["cents"] / 100
        f["total"] = f.index == len(f) - 1
        return f

    def totals(self) -> present.HTML:
        cols = [Col("item", "项目", "Item"), Col("amount", "金额", "Amount", kind="amount")]
        t = present.table(
            self.totals_frame(), cols, self.units,
            row_class=lambda r: "total" if r["total"] else "",
        )  # fmt: skip
        return present.HTML(self._h2("totals") + t)

    def terms(self) -> present.HTML:
        L = self.lang
        p = self.proposal
        book = p.book
        cur = _CURRENCY_ZH.get(book.currency, book.currency) if L == "zh-CN" else book.currency
        terms = book.payment_terms[1] if L == "zh-CN" else book.payment_terms[0]
        items = [
            _t("t_valid", L, d=p.valid_until),
            _t("t_currency", L, c=cur),
            _t("t_vat", L, p=_rate(self.quote.vat_rate)),
            _t("t_pay", L, t=terms.rstrip("。.")),
        ]
        if p.needs.start_date:
            items.append(_t("t_start", L, d=p.needs.start_date))
        body = "".join(f"<li>{_esc(x)}</li>" for x in items)
        return present.HTML(self._h2("terms") + f"<ul>{body}</ul>")

    def sections(self) -> list[present.HTML]:
        return [
            self.header(), self.needs(), self.solution(), self.items(), self.totals(),
            self.terms(),
        ]  # fmt: skip

    def html(self) -> str:
        """The whole document as a standalone page (A4 in print)."""
        return document_page(self.sections(), self.lang, _t("title", self.lang))

    def __repr__(self) -> str:
        return f"{_t('title', self.lang)} {self.number}"


def _as_list(raw) -> list[str]:
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        return [s.strip() for s in raw.replace("；", ";").replace(",", ";").split(";") if s.strip()]
    return [str(s).strip() for s in raw if str(s).strip()]


def customer_document(proposal, kind: str | None = None, *, lang: str = "en", data):
    """The customer's document for the option ``kind`` (default: the recommended)."""
    if lang not in ("en", "zh-CN"):
        raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")
    opt = proposal.option(kind)
    return CustomerDocument(
        proposal, opt.kind, lang, _company(data, lang),
        _rep_name(data, proposal.needs.owner_id, lang),
    )  # fmt: skip


# --------------------------------------------------------------------------- cover


def _cost_cents(line, margin: dict) -> int:
    gm = margin.get(line.product_id)
    if gm is None:
        return 0
    cost = Decimal(line.list_cents) * (Decimal(1) - Decimal(repr(float(gm))))
    return int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class CoverSheet:
    """The manager's internal cover sheet: options with margins, reasons, approval."""

    proposal: object
    kind: str
    lang: str
    company: str
    owner: str
    margin: dict  # product id → the catalogue's gross margin (fraction of list)

    @property
    def units(self) -> Units:
        return Units(self.lang, scale="yuan", currency=self.proposal.book.currency)

    def _h2(self, key: str) -> str:
        return f"<h2>{_esc(_t(key, self.lang))}</h2>"

    def margin_cents(self, option) -> int | None:
        if not self.margin:
            return None
        cost = sum(_cost_cents(ln, self.margin) for ln in option.quote.lines)
        return option.quote.subtotal_cents - cost

    def header(self) -> present.HTML:
        L = self.lang
        p = self.proposal
        n = p.needs
        sep = "：" if L == "zh-CN" else ": "
        peers = p.peers
        if peers.n_customers:
            how = _t(f"lvl_{peers.level}", L)
            peer_text = _t("peers_n", L, n=peers.n_customers, how=how)
        else:
            peer_text = _t("peers_none", L)
        fields = [
            ("c_customer", n.customer_name or _t("new_customer", L)),
            ("c_type", category(n.customer_type, L) if n.customer_type else present.MISSING),
            ("n_industry", category(n.industry, L) if n.industry else present.MISSING),
            ("n_size", f"{n.size:,} {p.book.size_unit_in(L)}"),
            ("c_owner", self.owner or present.MISSING),
            ("c_peers", peer_text),
            ("c_chosen", p.option(self.kind).title(L)),
            ("date", str(p.issue_date)),
        ]
        body = "<br>".join(f"<b>{_esc(_t(k, L))}</b>{sep}{_esc(v)}" for k, v in fields)
        title = _t("cover_title", L)
        return present.HTML(
            f"<h1>{_esc(title)}</h1><p class='simlib-field-error'>{_esc(_t('cover_note', L))}"
            f"</p><p>{body}</p>"
        )

    def options_frame(self) -> pd.DataFrame:
        L = self.lang
        chosen = self.proposal.option(self.kind)
        rows = []
        for o in self.proposal.options:
            q = o.quote
            m = self.margin_cents(o)
            gap = o.over_budget_cents
            rows.append(
                {
                    "option": o.title(L) + (f" ✓ {_t('chosen_mark', L)}" if o is chosen else ""),
                    "products": len(q.lines),
                    "subtotal": q.subtotal_cents / 100,
                    "total": q.total_cents / 100,
                    "against": None if gap is None else gap / 100,
                    "discount": q.discount_cents / q.list_cents if q.list_cents else None,
                    "margin": None if m is None else m / 100,
                    "margin_pct": (m / q.subtotal_cents)
                    if m is not None and q.subtotal_cents
                    else None,
                    "approver": _approver(q.approver, L),
                }
            )
        return pd.DataFrame(rows)

    def options(self) -> present.HTML:
        units = self.units
        cols = [
            Col("option", "方案", "Option"),
            Col("products", "产品数", "Products", kind="count"),
            Col("subtotal", "小计", "Subtotal", kind="amount"),
            Col("total", "总计（含税）", "Total incl. VAT", kind="amount"),
            Col("against", "超出预算", "Above budget", kind="amount", missing="—"),
            Col("discount", "折扣占目录价", "Discount of list", kind="pct"),
            Col("margin", "毛利", "Gross margin", kind="amount"),
            Col("margin_pct", "毛利率", "Margin %", kind="pct"),
            Col("approver", "审批", "Approval"),
        ]
        t = present.table(self.options_frame(), cols, units)
        note = f"<p style='color:#555;font-size:12px'>{_esc(_t('margin_note', self.lang))}</p>"
        return present.HTML(self._h2("options") + t + note)

    def reasons(self) -> present.HTML:
        L = self.lang
        out = [self._h2("reasons")]
        for o in self.proposal.options:
            items = "".join(f"<li>{_esc(r.text(L))}</li>" for r in o.reasons)
            notes = "".join(f"<li><i>{_esc(r.text(L))}</i></li>" for r in o.notes)
            out.append(f"<h3>{_esc(o.title(L))}</h3><ul>{items}{notes}</ul>")
        return present.HTML("".join(out))

    def approval(self) -> present.HTML:
        L = self.lang
        q = self.proposal.option(self.kind).quote
        if q.approver:
            text = _t("a_need", L, who=_approver(q.approver, L))
            color = present.status_color("amber")
        else:
            text = _t("a_none", L)
            color = present.status_color("green")
        return present.HTML(
            self._h2("approval") + f"<p style='border-left:4px solid {color};padding-left:8px'>"
            f"{_esc(text)}</p>"
        )

    def sections(self) -> list[present.HTML]:
        return [self.header(), self.approval(), self.options(), self.reasons()]

    def html(self) -> str:
        return document_page(self.sections(), self.lang, _t("cover_title", self.lang))

    def __repr__(self) -> str:
        return _t("cover_title", self.lang)


def _approver(role, lang: str) -> str:
    from simlib.ledger.roles import role_label

    if not role:
        return "—"
    return role_label(role, lang)


def cover_sheet(proposal, kind: str | None = None, *, lang: str = "en", data) -> CoverSheet:
    """The manager's cover sheet for the option ``kind`` (default: the recommended)."""
    if lang not in ("en", "zh-CN"):
        raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")
    margin = {}
    prods = data.products
    if "gross_margin_pct" in prods.columns:
        for pid, gm in zip(prods["product_id"], prods["gross_margin_pct"]):
            if gm == gm and gm is not None:
                margin[str(pid)] = float(gm)
    opt = proposal.option(kind)
    return CoverSheet(
        proposal, opt.kind, lang, _company(data, lang),
        _rep_name(data, proposal.needs.owner_id, lang), margin,
    )  # fmt: skip


# --------------------------------------------------------------------------- saving


def save_documents(proposal, kind: str | None, folder, *, lang: str, data) -> dict[str, Path]:
    """Write the customer document (HTML), the cover sheet (HTML) and the pipeline
    export (CSV, :func:`simlib.proposals.save_proposal`) into ``folder``.
    The file names carry the document number and the language, never an id."""
    from simlib.proposals import save_proposal

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    doc = customer_document(proposal, kind, lang=lang, data=data)
    cover = cover_sheet(proposal, kind, lang=lang, data=data)
    stem = doc.number
    paths = {
        "document": folder / f"{stem}-{lang}.html",
        "cover": folder / f"{stem}-{lang}-cover.html",
    }
    paths["document"].write_text(doc.html(), encoding="utf-8")
    paths["cover"].write_text(cover.html(), encoding="utf-8")
    paths["export"] = save_proposal(proposal, folder, doc.kind)
    return paths
