"""What the reach commands share (reminders, leads, drill, key accounts, honours,
promotion, milestones, clawbacks, solve): names for ids, a plain-text table that lines up
Chinese characters, the page's units, and user errors with the closest name.

Nothing here imports a heavy library at import time (``simlib --help`` stays quick).
"""

from __future__ import annotations

import difflib
import json
import unicodedata

from simlib.cli import common
from simlib.cli.common import UserError, user_lang

__all__ = [
    "check_period",
    "dataset",
    "dump_json",
    "lang_of",
    "Names",
    "print_table",
    "say",
    "width",
]


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 day``, ``2 days`` (English only; Chinese has no plural)."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def lang_of(args) -> str:
    return user_lang(args)


def say(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh-CN" else en


def dataset(args):
    """The data of ``--data``/``--mapping``, else the demo company (looked up at call
    time, so a test can hand in a loaded dataset)."""
    return common.load_dataset(args)


def dump_json(obj) -> None:
    """Print ``obj`` as JSON: NaN → null, timestamps → ISO dates, numpy → Python."""
    print(json.dumps(_plain(obj), ensure_ascii=False, indent=1))


def _plain(v):
    import math

    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    mod = type(v).__module__
    if mod.startswith("numpy"):
        import numpy as np

        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.floating):
            return _plain(float(v))
        if isinstance(v, np.datetime64):
            import pandas as pd

            return _plain(pd.Timestamp(v))
    if mod.startswith("pandas"):
        import pandas as pd

        if v is pd.NaT or (not isinstance(v, str) and pd.isna(v)):
            return None
        if isinstance(v, pd.Timestamp):
            return v.date().isoformat() if v == v.normalize() else v.isoformat()
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def check_period(text: str, lang: str, flag: str = "--period"):
    """The window of a period label, or a user error in the user's language."""
    from simlib.periods import as_window

    try:
        return as_window(text)
    except (ValueError, TypeError) as e:
        raise UserError(
            say(
                lang,
                f"{flag} {text!r} is not a period ({e}); e.g. 2026-11, 2026-Q3, 2026",
                f"{flag} {text!r} 不是有效的期间（{e}）；例如 2026-11、2026-Q3、2026",
            )
        ) from None


# --------------------------------------------------------------------------- names


_LEVEL = {
    "rep": ("rep", "销售"),
    "team": ("team", "团队"),
    "region": ("region", "大区"),
    "company": ("company", "公司"),
    None: ("org node", "组织节点"),
}


class Names:
    """Ids → display names (Chinese names in zh-CN where the data has them), and names →
    ids for the ``--rep/--team/--within`` flags (by id or by either name)."""

    def __init__(self, facts, lang: str):
        self.lang = lang
        nodes = facts.nodes.drop_duplicates("node_id")
        self.level = dict(zip(nodes["node_id"].astype(str), nodes["level"].astype(str)))
        self.en, self.zh = {}, {}
        for nid, en, zh in zip(nodes["node_id"].astype(str), nodes["name"], nodes["name_zh"]):
            self.en[nid] = en if isinstance(en, str) and en else nid
            self.zh[nid] = zh if isinstance(zh, str) and zh else self.en[nid]

    def __call__(self, node_id) -> str:
        """The display name of an id (the id itself when the data has no name)."""
        if node_id is None or node_id != node_id:
            return "—"
        nid = str(node_id)
        return (self.zh if self.lang == "zh-CN" else self.en).get(nid, nid)

    def resolve(self, text: str | None, flag: str, levels=None) -> str | None:
        """The id of the node ``text`` names (id, English or Chinese name, any case);
        a user error naming the closest when there is none."""
        if text is None:
            return None
        want = str(text).strip()
        pool = [n for n, lv in self.level.items() if levels is None or lv in levels]
        key = want.casefold()
        for nid in pool:
            if key in (nid.casefold(), self.en[nid].casefold(), self.zh[nid].casefold()):
                return nid
        labels = {}
        for nid in pool:
            for s in (nid, self.en[nid], self.zh[nid]):
                labels[s] = nid
        close = difflib.get_close_matches(want, list(labels), n=1, cutoff=0.4)
        if not close:
            close = difflib.get_close_matches(key, [s.casefold() for s in labels], n=1, cutoff=0.4)
            close = [next(s for s in labels if s.casefold() == close[0])] if close else []
        what = _LEVEL.get(levels[0] if levels and len(levels) == 1 else None)
        hint = ""
        if close:
            nid = labels[close[0]]
            hint = say(
                self.lang,
                f"; did you mean {self(nid)}?",
                f"；是否指 {self(nid)}？",
            )
        raise UserError(
            say(
                self.lang,
                f"{flag}: no {what[0]} {want!r} in the data{hint}",
                f"{flag}：数据中没有{what[1]} {want!r}{hint}",
            )
        )


# --------------------------------------------------------------------------- tables


def width(s: str) -> int:
    """Columns a string takes in a terminal (Chinese characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(s))


def _pad(s: str, n: int, right: bool) -> str:
    gap = " " * max(0, n - width(s))
    return gap + s if right else s + gap


def print_table(headers, rows, right=(), indent: str = "", out=None) -> None:
    """A plain-text table: ``headers`` (list of str), ``rows`` (lists of str), the
    columns whose index is in ``right`` right-aligned (numbers)."""
    import sys

    out = out or sys.stdout
    rows = [[("" if c is None else str(c)) for c in r] for r in rows]
    ws = [width(h) for h in headers]
    for r in rows:
        for i, c in enumerate(r):
            ws[i] = max(ws[i], width(c))
    print(
        indent + "  ".join(_pad(h, ws[i], i in right) for i, h in enumerate(headers)).rstrip(),
        file=out,
    )
    for r in rows:
        print(
            indent + "  ".join(_pad(c, ws[i], i in right) for i, c in enumerate(r)).rstrip(),
            file=out,
        )


def date_text(x) -> str:
    """A date as ``2026-11-20`` ("—" when missing)."""
    import pandas as pd

    if x is None or x is pd.NaT or (not isinstance(x, str) and pd.isna(x)):
        return "—"
    return f"{pd.Timestamp(x):%Y-%m-%d}"


def category(value, lang: str) -> str:
    """A category of the data (lead source, customer type, product line) in ``lang``."""
    if value is None or value != value:
        return say(lang, "unknown", "未知")
    from simlib.i18n import category as _category

    return _category(value, lang)
