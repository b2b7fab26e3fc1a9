"""Bilingual text helpers shared by the report modules."""

from __future__ import annotations

import html
from collections.abc import Callable

LANGS = ("en", "zh-CN")


def translator(table: dict[str, tuple[str, str]]) -> Callable[..., str]:
    """``t(key, lang, **fields)``: the (en, zh-CN) pair of ``table[key]``, formatted."""

    def t(key: str, lang: str, **kw) -> str:
        en, zh = table[key]
        s = zh if lang == "zh-CN" else en
        return s.format(**kw) if kw else s

    return t


def check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")


def esc(s) -> str:
    """Text from data, safe inside Markdown and HTML (tags and entities escaped)."""
    return html.escape(str(s), quote=False)
