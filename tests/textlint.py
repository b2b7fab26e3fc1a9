"""A text lint for what people read: rendered report pages and app screens.

``lint_html(html, lang)`` and ``lint_text(text, lang)`` return a list of problems (empty
when the page is clean). They fail on what issue 12 lists: ``NaN``/``None``, a Python
dict or object repr, ``Traceback``, ``papermill``, scientific notation, code-style
column headers (``node_id``, ``name_zh``), ids where names belong (``T-SH``, ``S003``),
a rep's Latin-only name on a zh-CN page, and (HTML) any resource off 127.0.0.1.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

#: What never belongs on a page for people, with why.
_BAD_TEXT = [
    (re.compile(r"\bNaN\b|\bnan\b|\bNaT\b"), "a missing value shown as NaN"),
    (re.compile(r"\bNone\b"), "a missing value shown as None"),
    (re.compile(r"Traceback|Error: |Exception\b"), "a Python error"),
    (re.compile(r"papermill", re.I), "the report machinery (papermill)"),
    (re.compile(r"\{'|\[\(|<[A-Za-z_]+ object at 0x"), "a Python repr"),
    (re.compile(r"\b[A-Z][A-Za-z]+\((?:[a-z_]+=)"), "a Python object repr"),
    (re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+\b"), "scientific notation"),
    (re.compile(r"(?<![\w-])(?:R-[A-Z]{2,}|T-[A-Z]{2,}|S\d{3})(?![\w-])"), "an org or rep id"),
]
#: Code-style headers: snake_case words, or names of data columns.
_CODE_HEADER = re.compile(r"^(?:[a-z0-9]+_[a-z0-9_]+|node_id|name_zh|revenue|owner_id|rep_id)$")
#: An address that leaves this machine: a scheme other than data:/file: (or http(s) to
#: anything but 127.0.0.1/localhost), or a protocol-relative //host. Relative paths stay.
_OFF = re.compile(
    r"^(?://|(?!(?:data|file|javascript|mailto):)[a-z][a-z0-9+.-]*:"
    r"(?!//(?:127\.0\.0\.1|localhost)(?::\d+)?(?:/|$)))",
    re.I,
)


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.headers: list[str] = []
        self.urls: list[str] = []
        self._skip = 0
        self._th = False

    def handle_starttag(self, tag, attrs):
        # the provenance footer names the parameters (ids included) on purpose
        if tag in ("script", "style", "title", "footer"):
            self._skip += 1
        if tag == "th":
            self._th = True
            self.headers.append("")
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.urls.append(v)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title", "footer") and self._skip:
            self._skip -= 1
        if tag == "th":
            self._th = False

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._th:
            self.headers[-1] += data


def lint_text(text: str, lang: str, *, latin_names=()) -> list[str]:
    """Problems in the visible ``text`` of a page in ``lang``."""
    out = []
    for rx, why in _BAD_TEXT:
        m = rx.search(text)
        if m:
            a = max(0, m.start() - 40)
            out.append(f"{why}: …{text[a : m.end() + 40]!r}…")
    if lang == "zh-CN":
        for name in latin_names:
            if name and re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", text):
                out.append(f"a Latin-only name on a zh-CN page: {name!r}")
    return out


def lint_html(html: str, lang: str, *, latin_names=()) -> list[str]:
    """Problems of a whole HTML page: its visible text, its headers and its resources."""
    p = _Page()
    p.feed(html)
    out = lint_text(" ".join(p.text), lang, latin_names=latin_names)
    out += [
        f"a code-style header: {h.strip()!r}" for h in p.headers if _CODE_HEADER.match(h.strip())
    ]
    out += [f"a resource off this machine: {u!r}" for u in p.urls if _OFF.match(u.strip())]
    return out


def latin_rep_names(data) -> list[str]:
    """The reps' English names that differ from their Chinese ones (on a zh-CN page the
    Chinese name is due)."""
    reps = data.reps
    if "name_zh" not in reps:
        return []
    return sorted(
        {
            str(n)
            for n, z in zip(reps["name"], reps["name_zh"])
            if isinstance(z, str) and z and z != n
        }
    )
