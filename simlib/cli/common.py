"""What every ``simlib`` command shares: user errors, exit codes, data flags, output.

Nothing here imports a heavy library at import time: ``simlib --help`` builds the
whole parser from these modules without loading numpy, pandas or matplotlib.
"""

from __future__ import annotations

import json
import sys

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USER",
    "LANG_CHOICES",
    "UserError",
    "add_data_args",
    "json_rows",
    "load_dataset",
    "parse_amount",
    "parse_date",
    "print_table",
    "user_lang",
]

EXIT_OK, EXIT_INTERNAL, EXIT_USER = 0, 1, 2

#: The languages a command prints in (``--lang``).
LANG_CHOICES = ("en", "zh-CN")


class UserError(Exception):
    """A mistake in how simlib was called; shown as a message, not a traceback."""


def user_lang(args) -> str:
    """``--lang``, else the company's language (``params/company.yaml``)."""
    if getattr(args, "lang", None):
        return args.lang
    from simlib.company import default_language

    return default_language()


def load_dataset(args):
    """The demo company, or ``--data`` through ``--mapping``."""
    from simlib.data import load_data, load_demo

    if getattr(args, "data", None):
        if not getattr(args, "mapping", None):
            raise UserError("--data needs --mapping (a file in params/mappings/, e.g. salesforce)")
        return load_data(
            args.data,
            args.mapping,
            strict=not getattr(args, "lenient", False),
            rejects=getattr(args, "rejects", None),
        )
    return load_demo(seed=getattr(args, "demo_seed", None))


def add_data_args(parser) -> None:
    """The flags every data-reading command shares: --data/--mapping, or the demo."""
    parser.add_argument(
        "--data",
        default=None,
        help="CRM export folder/file or SQLAlchemy URL (default: the demo company)",
    )
    parser.add_argument("--mapping", default=None, help="column mapping for --data")
    parser.add_argument("--lenient", action="store_true", help="skip bad rows (see data check)")
    parser.add_argument("--demo-seed", type=int, default=None, help="demo company seed")
    parser.add_argument("--lang", choices=LANG_CHOICES, default=None)


def print_table(df, money_cols=(), pct_cols=(), lang="en", unit=None, out=None):
    from simlib.money import format_money, format_percent

    out = out or sys.stdout
    view = df.copy()
    for c in money_cols:
        view[c] = [("–" if v != v else format_money(v, "CNY", lang, unit=unit)) for v in view[c]]
    for c in pct_cols:
        view[c] = [format_percent(v) for v in view[c]]
    from simlib.i18n import label, relabel

    if "stage" in view.columns:
        view["stage"] = [label(v, lang) for v in view["stage"]]
    if "level" in view.columns:
        view["level"] = [label(v, lang) for v in view["level"]]
    print(view.rename(columns=relabel(view.columns, lang)).to_string(index=False), file=out)


def parse_date(text: str):
    import pandas as pd

    try:
        return pd.Timestamp(text).date()
    except (ValueError, TypeError):
        raise UserError(f"not a date: {text!r}; expected a date like 2026-06-30") from None


def json_rows(df) -> str:
    import numpy as np

    def clean(v):
        if isinstance(v, (np.floating, float)):
            return None if v != v else float(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        if hasattr(v, "isoformat"):
            return v.isoformat()
        return v

    return json.dumps(
        [{k: clean(v) for k, v in r.items()} for r in df.to_dict("records")],
        ensure_ascii=False,
        indent=1,
    )


def parse_amount(text: str, flag: str) -> float:
    import pandas as pd

    from simlib.data.io import parse_amounts

    if str(text).strip().endswith("%"):
        raise UserError(
            f"{flag} is an amount (like 1500000 or 150万), not a percentage; got {text!r}"
        )
    val, bad = parse_amounts(pd.Series([text]))
    if bad.iloc[0] or val.isna().iloc[0]:
        raise UserError(f"{flag} must be an amount like 1500000, 1,500,000 or 150万; got {text!r}")
    return float(val.iloc[0])


def tune_memory() -> None:
    """Memory settings for a simlib command's own process (and the processes it starts).

    Arrow's jemalloc pool (:func:`prefer_jemalloc`), and NumPy without transparent huge
    pages unless ``NUMPY_MADVISE_HUGEPAGE`` says otherwise: this VM hands freed memory
    back to the host, so every fresh page costs a fault, and a 2 MB huge page costs its
    zeroing at once. Measured on the million-opportunity export (bench/ingest.py), two
    runs each: data check system time 3.7-6.4 s -> 2.6-2.9 s, simlib simulate 4.6-6.1 s ->
    2.8-3.6 s. Only before NumPy is imported (it reads the variable once); results are
    the same either way.
    """
    import os

    if "numpy" not in sys.modules:
        os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    prefer_jemalloc()


def prefer_jemalloc() -> None:
    """Arrow's jemalloc pool for this process, unless ARROW_DEFAULT_MEMORY_POOL says.

    Every command that reads an export goes through Arrow. Measured on a million-deal
    export (bench/ingest.py): with pyarrow's default mimalloc pool, data check spent
    14-21 s in the kernel (this VM hands freed memory back to the host and faults it in
    again) beside 10 s of its own work; with jemalloc, 2 s. Called by ``main``.
    """
    import os

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    if "pyarrow" not in sys.modules:
        # read when pyarrow makes its pool (set_memory_pool later measured 2-3x the
        # kernel time of this); a pyarrow without jemalloc warns and uses its default
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "jemalloc"
        return
    try:
        import pyarrow as pa

        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc
        pass
