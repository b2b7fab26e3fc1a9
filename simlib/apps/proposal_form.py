"""The proposal form (SPEC R19): a customer's needs in, the options side by side, one
chosen and saved as the customer's document, the manager's cover sheet and the
pipeline export.

``notebooks/proposal_form.ipynb`` shows it (Voilà)::

    ProposalForm.app(lang=lang, source=source, mapping=mapping, out_dir=out_dir)

Every need is checked by :func:`simlib.proposals.resolve_needs`; each problem is said
next to its control, in the page's language, and the options are blanked until the
needs are valid again. Any change of a control blanks the options (never stale
numbers); an unexpected error is logged and shown as :func:`simlib.present.apology`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import ipywidgets as w

from simlib import present
from simlib.i18n import category, translator
from simlib.i18n import escape as _esc
from simlib.present import Units

__all__ = ["ProposalForm"]

log = logging.getLogger(__name__)

_T = translator(
    {
        "title": ("Proposal from a customer's needs", "按客户需求起草方案"),
        "intro": (
            "Fill in what the customer needs, get the options, choose one and save: the "
            "customer's proposal, the manager's cover sheet and the pipeline export.",
            "填写客户需求，生成可选方案，选定一个并保存：客户方案书、经理审批封面和商机导出文件。",
        ),
        "customer": ("Customer", "客户"),
        "customer_ph": ("an existing customer, or empty", "现有客户名称，可留空"),
        "budget": ("Budget incl. VAT (¥)", "预算（含税，元）"),
        "budget_ph": ("e.g. 2000000 or 200万", "例如 2000000 或 200万"),
        "lines": ("Product lines", "产品线"),
        "products": ("Products", "产品"),
        "size": ("Size ({unit})", "规模（{unit}）"),
        "industry": ("Industry", "行业"),
        "customer_type": ("Customer type", "客户类型"),
        "must_have": ("Must have", "必备项"),
        "exclude": ("Exclude", "排除项"),
        "start_date": ("Desired start", "期望开始日期"),
        "date_ph": ("e.g. 2027-01-15", "例如 2027-01-15"),
        "discount": ("Extra discount", "额外折扣"),
        "discount_ph": ("e.g. 8%", "例如 8%"),
        "any": ("(the customer's / any)", "（按客户 / 不限）"),
        "go": ("Get options", "生成方案"),
        "choose": ("Option to send", "发送的方案"),
        "save": ("Save", "保存"),
        "working": ("Working out the options…", "正在计算方案……"),
        "fix": (
            "The needs cannot be met as written: see the messages next to the fields.",
            "需求无法按所填满足：请看各字段旁的提示。",
        ),
        "stale": (
            "The needs changed: get the options again.",
            "需求已更改：请重新生成方案。",
        ),
        "option": ("Option", "方案"),
        "product": ("Product", "产品"),
        "subtotal": ("Subtotal", "小计"),
        "vat": ("VAT", "增值税"),
        "total": ("Total", "总计"),
        "against": ("Against budget", "对比预算"),
        "within": ("within budget", "预算内"),
        "over": ("{a} above", "超出 {a}"),
        "approval": ("Approval", "审批"),
        "no_approval": ("not needed", "无需审批"),
        "saved": ("Saved: {files}", "已保存：{files}"),
        "export": ("the pipeline export (CSV)", "商机导出文件（CSV）"),
        "select_hint": ("Ctrl/Shift-click to choose several", "按住 Ctrl/Shift 可多选"),
    }
)

_FIELD_OF = {"budget_min": "budget", "budget_max": "budget", "opportunity": "customer"}
_FIELDS = (
    "customer", "budget", "lines", "products", "size", "industry", "customer_type",
    "must_have", "exclude", "start_date", "discount",
)  # fmt: skip

_CSS = """
.simlib-pf-label { font-weight: 600; font-size: 14px; margin-top: 6px; }
.simlib-pf-form { width: 470px; }
.simlib-pf-out { flex: 1; min-width: 600px; padding-left: 24px; }
.simlib-pf-opts { display: flex; gap: 14px; flex-wrap: wrap; }
.simlib-pf-opt { border: 1px solid #d9dee5; border-radius: 6px; padding: 8px 12px;
  min-width: 270px; flex: 1; background: #fff; }
.simlib-pf-opt h3 { margin: 2px 0 6px; font-size: 16px; color: #0d47a1; }
.simlib-pf-total { font-size: 20px; font-weight: 600; margin: 6px 0; }
.simlib-pf-opt ul { padding-left: 18px; margin: 4px 0; font-size: 13px; }
"""


class ProposalForm:
    """The form's widgets and what they do."""

    def __init__(self, data, lang: str = "en", out_dir: str | Path = "proposals"):
        from simlib.company import default_currency
        from simlib.proposals import load_pricing, price_book

        self.data = data
        self.lang = lang
        self.out_dir = Path(out_dir or "proposals")
        self.book = price_book(load_pricing(), data.products, currency=default_currency())
        self.units = Units(lang, scale="yuan", currency=self.book.currency)
        self.proposal = None
        self._build()

    # ---- construction
    @classmethod
    def app(cls, *, lang="", source="", mapping="", demo_seed=None, out_dir=""):
        from simlib.apps.session import app_lang, open_data, show_when_ready

        lang = app_lang(lang)
        return show_when_ready(
            lambda: cls(open_data(source, mapping, demo_seed), lang, out_dir or "proposals"),
            lang,
            "proposal_form",
        )

    def t(self, key: str, **kw) -> str:
        return _T(key, self.lang, **kw)

    def _build(self) -> None:
        L = self.lang
        prods = self.data.products
        lines = list(dict.fromkeys(str(x) for x in prods["product_line"].dropna()))
        names = [(e.name_in(L), pid) for pid, e in self.book.entries.items()]
        line_opts = [(category(x, L), x) for x in lines]
        cust = self.data.tables.get("customers")
        cust_names = sorted(cust["name"].astype(str).unique()) if cust is not None else []
        industries = (
            sorted(cust["industry"].dropna().astype(str).unique()) if cust is not None else []
        )
        lay = w.Layout(width="440px")
        multi = w.Layout(width="440px", height="96px")
        c = self.controls = {}
        c["customer"] = w.Combobox(
            options=cust_names, placeholder=self.t("customer_ph"), ensure_option=False, layout=lay
        )
        c["budget"] = w.Text(placeholder=self.t("budget_ph"), layout=lay)
        c["lines"] = w.SelectMultiple(options=line_opts, layout=multi)
        c["products"] = w.SelectMultiple(options=names, layout=multi)
        c["size"] = w.Text(value="50", layout=lay)
        c["industry"] = w.Dropdown(
            options=[(self.t("any"), "")] + [(category(x, L), x) for x in industries], layout=lay
        )
        c["customer_type"] = w.Dropdown(
            options=[(self.t("any"), "")] + [(category(x, L), x) for x in ("smb", "key_account")],
            layout=lay,
        )
        c["must_have"] = w.SelectMultiple(options=line_opts + names, layout=multi)
        c["exclude"] = w.SelectMultiple(options=line_opts + names, layout=multi)
        c["start_date"] = w.Text(placeholder=self.t("date_ph"), layout=lay)
        c["discount"] = w.Text(placeholder=self.t("discount_ph"), layout=lay)
        self.errors = {k: w.HTML() for k in _FIELDS}
        rows = []
        for k in _FIELDS:
            label = self.t("size", unit=self.book.size_unit_in(L)) if k == "size" else self.t(k)
            lab = w.HTML(f"<div class='simlib-pf-label'>{_esc(label)}</div>")
            c[k].add_class(f"simlib-pf-{k}")
            self.errors[k].add_class(f"simlib-pf-err-{k}")
            rows += [lab, c[k], self.errors[k]]
            c[k].observe(self._changed, names="value")
        self.go = w.Button(description=self.t("go"), button_style="primary")
        self.go.layout = w.Layout(width="200px", height="36px", margin="12px 0")
        self.go.add_class("simlib-pf-go")
        self.go.on_click(self._on_go)
        self.status = w.HTML()
        self.status.add_class("simlib-pf-status")
        self.options_view = w.HTML()
        self.options_view.add_class("simlib-pf-options")
        self.choose = w.RadioButtons(options=[], layout=w.Layout(width="auto"))
        self.choose.add_class("simlib-pf-choose")
        self.choose_label = w.HTML()
        self.save = w.Button(description=self.t("save"), disabled=True)
        self.save.layout = w.Layout(width="160px", height="36px", margin="8px 0")
        self.save.add_class("simlib-pf-save")
        self.save.on_click(self._on_save)
        self.saved = w.HTML()
        self.saved.add_class("simlib-pf-saved")
        form = w.VBox(rows + [self.go])
        form.add_class("simlib-pf-form")
        out = w.VBox(
            [self.status, self.options_view, self.choose_label, self.choose, self.save, self.saved]
        )
        out.add_class("simlib-pf-out")
        head = w.HTML(
            f"<style>{present.PAGE_CSS}{_CSS}</style><h1>{_esc(self.t('title'))}</h1>"
            f"<p>{_esc(self.t('intro'))}</p>"
        )
        self.root = w.VBox([head, w.HBox([form, out])])
        self._blank()

    def show(self):
        return self.root

    # ---- state
    def raw_needs(self) -> dict:
        c = self.controls
        raw = {}
        for k in ("customer", "budget", "size", "start_date", "discount", "industry"):
            v = str(c[k].value or "").strip()
            if v:
                raw[k] = v
        if c["customer_type"].value:
            raw["customer_type"] = c["customer_type"].value
        for k in ("lines", "products", "must_have", "exclude"):
            if c[k].value:
                raw[k] = list(c[k].value)
        return raw

    def _blank(self, message: str = "") -> None:
        self.proposal = None
        self.options_view.value = ""
        self.choose.options = []
        self.choose_label.value = ""
        self.choose.layout.display = "none"
        self.save.disabled = True
        self.status.value = message

    def _changed(self, _change=None) -> None:
        had = self.proposal is not None
        for e in self.errors.values():
            e.value = ""
        self._blank(f"<p style='color:#555'>{_esc(self.t('stale'))}</p>" if had else "")
        self.saved.value = ""

    # ---- actions
    def compute(self):
        """The proposal for the form's needs (raises NeedsError)."""
        from simlib.views.proposal import build_proposal

        return build_proposal(self.raw_needs(), self.data, lang=self.lang)

    def _on_go(self, _b=None) -> None:
        from simlib.proposals import NeedsError

        for e in self.errors.values():
            e.value = ""
        self.saved.value = ""
        self._blank(f"<p style='color:#555'>{_esc(self.t('working'))}</p>")
        try:
            prop = self.compute()
        except NeedsError as err:
            general = ""
            for p in err.problems:
                k = _FIELD_OF.get(p.field, p.field)
                msg = str(present.field_error(p.text(self.lang)))
                if k in self.errors:
                    self.errors[k].value += msg
                else:  # a problem with no control of its own: said at the top
                    general += msg
            self.status.value = str(present.field_error(self.t("fix"))) + general
            return
        except Exception:  # noqa: BLE001 - logged, an apology on the page
            log.exception("proposal form: the options could not be computed")
            self._blank(str(present.apology(self.lang)))
            return
        self.proposal = prop
        self.status.value = ""
        self.options_view.value = self.options_html(prop)
        self.choose.options = [(o.title(self.lang), o.kind) for o in prop.options]
        self.choose.value = prop.option().kind
        self.choose_label.value = f"<div class='simlib-pf-label'>{_esc(self.t('choose'))}</div>"
        self.choose.layout.display = None
        self.save.disabled = False

    def options_html(self, prop) -> str:
        """The options side by side: products and quantities, subtotal, VAT, total."""
        L = self.lang
        u = self.units
        cards = []
        for o in prop.options:
            q = o.quote
            zh = L == "zh-CN"
            items = "".join(
                f"<li>{_esc(ln.name_in(L))} × {ln.quantity:,} "
                f"{_esc(ln.unit_zh if zh else ln.unit_en)}</li>"
                for ln in q.lines
            )
            gap = o.over_budget_cents
            if gap is None:
                against = "—"
            elif gap <= 0:
                against = self.t("within")
            else:
                against = self.t("over", a=u.amount(gap / 100, unit=True))
            from simlib.ledger.roles import role_label

            appr = role_label(q.approver, L) if q.approver else self.t("no_approval")
            sep = "：" if zh else ": "
            cards.append(
                f"<div class='simlib-pf-opt' data-kind='{_esc(o.kind)}'>"
                f"<h3>{_esc(o.title(L))}</h3><ul>{items}</ul>"
                f"<div>{_esc(self.t('subtotal'))}{sep}"
                f"{u.amount(q.subtotal_cents / 100, unit=True)}</div>"
                f"<div>{_esc(self.t('vat'))}{sep}{u.amount(q.vat_cents / 100, unit=True)}</div>"
                f"<div class='simlib-pf-total'>{_esc(self.t('total'))}{sep}"
                f"{u.amount(q.total_cents / 100, unit=True)}</div>"
                f"<div>{_esc(self.t('against'))}{sep}{_esc(against)}</div>"
                f"<div>{_esc(self.t('approval'))}{sep}{_esc(appr)}</div></div>"
            )
        return f"<div class='simlib-pf-opts'>{''.join(cards)}</div>"

    def _on_save(self, _b=None) -> None:
        from simlib.views.proposal import save_documents

        if self.proposal is None:
            return
        try:
            paths = save_documents(
                self.proposal, self.choose.value, self.out_dir, lang=self.lang, data=self.data
            )
        except Exception:  # noqa: BLE001 - logged, an apology on the page
            log.exception("proposal form: saving failed")
            self.saved.value = str(present.apology(self.lang))
            return
        sep = "、" if self.lang == "zh-CN" else ", "
        files = sep.join([paths["document"].name, paths["cover"].name, self.t("export")])
        self.saved.value = f"<p class='simlib-pf-done'>{_esc(self.t('saved', files=files))}</p>"
