"""The app's front page: the four apps, what each is for, in zh-CN and English.

``simlib app`` serves :data:`~simlib.apps.server.NOTEBOOKS` with Voilà; its address
(``http://127.0.0.1:8866/``) shows this page instead of Voilà's bare file list. The page
is a Voilà *template* named ``simlib`` (written to a temporary folder when the server
starts, see :func:`write_template`): its ``tree.html`` is the landing page, chosen by
``?lang=en`` / ``?lang=zh-CN`` in the address (else the company's language), and its
``index.html.j2`` is Voilà's own app page without the two Font Awesome stylesheets it
links from cdn.jsdelivr.net (the same icons are bundled in Voilà's JavaScript), so no
page asks anything of a host other than 127.0.0.1.

Each app link carries the page's language (``voila/render/NAME.ipynb?lang=en``); the app
reads it with :func:`simlib.apps.session.app_lang`.

Examples
--------
>>> from simlib.apps.landing import landing_html
>>> "Commission what-if lab" in landing_html("en")
True
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

from simlib.i18n import LANGS, escape, translator

__all__ = ["APPS", "TEMPLATE", "app_titles", "data_label", "landing_html", "write_template"]

#: The Voilà template name the server uses.
TEMPLATE = "simlib"

#: The apps in the order the page lists them: (notebook, title key, purpose key).
APPS = (
    ("q4_target_workshop.ipynb", "workshop", "workshop_for"),
    ("commission_whatif.ipynb", "lab", "lab_for"),
    ("tracking_dashboard.ipynb", "dashboard", "dashboard_for"),
    ("proposal_form.ipynb", "proposal", "proposal_for"),
)

_T = translator(
    {
        "product": ("simlib", "simlib"),
        "tagline": (
            "Sales targets, commission design and performance tracking",
            "销售目标、提成方案与业绩跟踪",
        ),
        "workshop": ("Q4 target workshop", "第四季度目标研讨会"),
        "workshop_for": (
            "Turn next year's company number into region, team and rep targets people "
            "believe in: top-down split, bottom-up feedback, the chance each target is met "
            "and the gaps to close.",
            "把明年的公司目标分解到区域、团队和销售顾问：自上而下分解、自下而上反馈，"
            "看清每个目标的达成概率和需要弥补的缺口。",
        ),
        "lab": ("Commission what-if lab", "提成方案模拟"),
        "lab_for": (
            "Before the plan is announced: what it will cost, who earns what, whether it "
            "pays for the behaviour you want and what breaks at the edges.",
            "方案发布之前：总成本是多少，谁能拿多少，是否奖励了想要的行为，边界处哪里会出问题。",
        ),
        "dashboard": ("Tracking dashboard", "业绩跟踪看板"),
        "dashboard_for": (
            "Where each region, team and rep stands against target and pace this month and "
            "quarter: key figures, alerts with their evidence, the funnel and the trend.",
            "本月、本季度各区域、团队和销售顾问的目标达成与进度：关键指标、预警及依据、销售漏斗和趋势。",
        ),
        "proposal": ("Proposal and quote", "方案与报价"),
        "proposal_for": (
            "From what a customer needs to a priced proposal: a product mix within the "
            "budget, like what similar customers bought, with the quote and who must approve "
            "its discount.",
            "从客户需求到报价方案：在预算内、参照同类客户购买组合的产品方案，附报价单及折扣审批人。",
        ),
        "open": ("Open", "打开"),
        "data": ("Data", "数据"),
        "demo": ("demo company (generated example data)", "示例公司（生成的演示数据）"),
        "mapping": ("column mapping", "字段映射"),
        "first_open": (
            "An app computes its figures when it opens: the first time can take a minute, "
            "later visits on the same data are quicker.",
            "应用打开时计算数据：第一次可能需要一分钟左右，之后打开同一份数据会更快。",
        ),
        "switch": ("中文", "English"),
        "page_title": ("simlib — apps", "simlib — 应用"),
    }
)

_OTHER = {"en": "zh-CN", "zh-CN": "en"}

_CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #f5f6f8; color: #1f2933;
  font-family: "Helvetica Neue", Arial, "WenQuanYi Micro Hei", "Microsoft YaHei",
  "PingFang SC", sans-serif; }
.simlib-landing { max-width: 980px; margin: 0 auto; padding: 40px 32px 32px; }
.simlib-landing header { display: flex; align-items: baseline; justify-content: space-between;
  gap: 24px; border-bottom: 2px solid #d9dee5; padding-bottom: 14px; }
.simlib-landing h1 { font-size: 30px; margin: 0; letter-spacing: 0.5px; }
.simlib-landing .tagline { color: #52606d; font-size: 17px; margin: 6px 0 0; }
.simlib-landing .switch { font-size: 15px; color: #1565c0; text-decoration: none;
  border: 1px solid #1565c0; border-radius: 4px; padding: 4px 12px; white-space: nowrap; }
.simlib-landing .switch:hover { background: #e3f2fd; }
.simlib-landing .data { margin: 16px 0 26px; font-size: 15px; color: #323f4b; }
.simlib-landing .apps { display: grid; grid-template-columns: repeat(3, 1fr); gap: 20px; }
.simlib-landing a.app { display: flex; flex-direction: column; background: #fff;
  border: 1px solid #d9dee5; border-radius: 8px; padding: 20px 22px; color: inherit;
  text-decoration: none; box-shadow: 0 1px 2px rgba(0,0,0,0.05); }
.simlib-landing a.app:hover { border-color: #1565c0; box-shadow: 0 2px 8px rgba(21,101,192,0.2); }
.simlib-landing a.app h2 { font-size: 20px; margin: 0 0 10px; color: #0d47a1; }
.simlib-landing a.app p { font-size: 15px; line-height: 1.6; margin: 0 0 16px; flex: 1; }
.simlib-landing a.app .go { color: #1565c0; font-weight: 600; font-size: 15px; }
.simlib-landing .note { color: #616e7c; font-size: 13px; margin-top: 26px; }
@media (max-width: 800px) { .simlib-landing .apps { grid-template-columns: 1fr; } }
"""


def app_titles(lang: str) -> list[str]:
    """The apps' titles in ``lang``, in the order of :data:`APPS`."""
    return [_T(key, lang) for _, key, _ in APPS]


def data_label(source: str = "", mapping: str = "", lang: str = "en") -> str:
    """What the apps show, for a reader: the export's file name (never its folder, never a
    database password) and the mapping's name, or the demo company. Plain text."""
    if not source:
        return _T("demo", lang)
    s = str(source)
    if "://" in s:
        parts = urlsplit(s)
        name = parts.path.rstrip("/").rsplit("/", 1)[-1]
        shown = f"{parts.scheme}: {name}" if name else parts.scheme
    else:
        shown = Path(s.rstrip("/\\")).name or s
    if mapping:
        m = re.sub(r"\.ya?ml$", "", Path(str(mapping)).name)
        if lang == "zh-CN":
            shown += f"（{_T('mapping', lang)} {m}）"
        else:
            shown += f" ({_T('mapping', lang)} {m})"
    return shown


def landing_html(
    lang: str,
    source: str = "",
    mapping: str = "",
    base_url: str = "/",
) -> str:
    """The whole landing page in ``lang`` (a complete HTML document, no script, nothing
    fetched from another host)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}; got {lang!r}")
    other = _OTHER[lang]
    cards = []
    for notebook, title, purpose in APPS:
        href = f"{base_url}voila/render/{notebook}?lang={lang}"
        cards.append(
            f'<a class="app" href="{escape(href)}" data-notebook="{escape(notebook)}">'
            f"<h2>{escape(_T(title, lang))}</h2>"
            f"<p>{escape(_T(purpose, lang))}</p>"
            f'<span class="go">{escape(_T("open", lang))} →</span></a>'
        )
    colon = "：" if lang == "zh-CN" else ": "
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(_T('page_title', lang))}</title><style>{_CSS}</style></head>"
        '<body><main class="simlib-landing">'
        "<header><div>"
        f"<h1>{escape(_T('product', lang))}</h1>"
        f'<p class="tagline">{escape(_T("tagline", lang))}</p></div>'
        f'<a class="switch" href="{escape(base_url)}?lang={other}" lang="{other}">'
        f"{escape(_T('switch', lang))}</a></header>"
        f'<p class="data"><strong>{escape(_T("data", lang))}</strong>{colon}'
        f"{escape(data_label(source, mapping, lang))}</p>"
        f'<div class="apps">{"".join(cards)}</div>'
        f'<p class="note">{escape(_T("first_open", lang))}</p>'
        "</main></body></html>\n"
    )


def _raw(html: str) -> str:
    """``html`` as literal Jinja text (nothing in it is read as a Jinja tag)."""
    # every brace is outside a tag or in CSS; a "{" as an entity cannot end a raw block
    return "{% raw %}" + html.replace("{% endraw", "&#123;% endraw") + "{% endraw %}"


def _tree_template(default_lang: str, source: str, mapping: str) -> str:
    """Voilà's ``tree.html``: the landing page in the language the address asks for."""
    pages = {lang: landing_html(lang, source, mapping) for lang in LANGS}
    out = ['{%- set args = (query or "").split("&") -%}']
    for i, lang in enumerate(LANGS):
        out.append(("{%- if" if i == 0 else "{%- elif") + f' "lang={lang}" in args -%}}')
        out.append(_raw(pages[lang]))
    out.append("{%- else -%}")
    out.append(_raw(pages[default_lang]))
    out.append("{%- endif -%}")
    return "\n".join(out)


#: The stylesheets Voilà's app page links from a CDN (Font Awesome, bundled anyway).
_CDN_LINK = re.compile(r'^\s*<link[^>]+href="https://cdn\.jsdelivr\.net/[^"]*"[^>]*>\s*$\n?', re.M)


def write_template(
    root: Path | str,
    default_lang: str,
    source: str = "",
    mapping: str = "",
    voila_templates: Path | str | None = None,
) -> Path:
    """Write the ``simlib`` Voilà template under ``root`` (``root/voila/templates/simlib``)
    and return ``root``, the folder to put on ``JUPYTER_PATH``.

    ``voila_templates`` is Voilà's own template folder (found next to the running
    Python by default); its ``lab/index.html.j2`` is copied without the CDN stylesheets.
    When it cannot be found the app pages are Voilà's ``lab`` pages unchanged.
    """
    if default_lang not in LANGS:
        default_lang = "en"
    root = Path(root)
    folder = root / "voila" / "templates" / TEMPLATE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")
    (folder / "tree.html").write_text(
        _tree_template(default_lang, source, mapping), encoding="utf-8"
    )
    lab = _voila_lab_index(voila_templates)
    if lab is not None:
        (folder / "index.html.j2").write_text(_CDN_LINK.sub("", lab), encoding="utf-8")
    return root


def _voila_lab_index(voila_templates: Path | str | None) -> str | None:
    import sys

    if voila_templates is not None:
        candidates = [Path(voila_templates)]
    else:
        candidates = [Path(sys.prefix) / "share" / "jupyter" / "voila" / "templates"]
        try:
            from jupyter_core.paths import jupyter_path

            candidates += [Path(p) for p in jupyter_path("voila", "templates")]
        except ImportError:
            pass
    for d in candidates:
        try:
            return (d / "lab" / "index.html.j2").read_text(encoding="utf-8")
        except OSError:
            continue
    return None
