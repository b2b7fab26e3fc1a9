"""Helpers run *inside* a report kernel by :class:`simlib.reports.render.Renderer`.

``warm_up`` imports what every template needs and records the settings a clean
kernel has; ``clean_slate`` restores them before the next report, so a report
rendered in a warm kernel looks exactly like one rendered in a fresh kernel.
"""

from __future__ import annotations

import warnings

_RC0: dict | None = None
_WARNINGS0: list | None = None


def warm_up() -> None:
    global _RC0, _WARNINGS0
    import matplotlib
    import pandas  # noqa: F401

    import simlib.data  # noqa: F401
    import simlib.plots  # noqa: F401
    import simlib.tracking  # noqa: F401

    _RC0 = dict(matplotlib.rcParams)
    _WARNINGS0 = list(warnings.filters)


def clean_slate() -> None:
    import matplotlib
    import matplotlib.pyplot as plt
    import pandas as pd

    plt.close("all")
    if _RC0 is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            matplotlib.rcParams.update(_RC0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd.reset_option("all")
    if _WARNINGS0 is not None:
        warnings.filters[:] = _WARNINGS0
        warnings.filterwarnings("default")  # forget what was shown: a fresh kernel would show it
        warnings.filters.pop(0)
    import simlib.plots

    simlib.plots._WARNED_NO_CJK = False  # each report says once that it has no CJK font


#: The MIME type of the provenance record (see :mod:`simlib.reports.render`).
PROVENANCE_MIME = "application/vnd.simlib.provenance+json"


def provenance(ns: dict) -> dict:
    """Record, as an output of the cell that calls it, the fingerprint of the data the
    report read.

    Every template reads its company with ``load_source(source, mapping, demo_seed)``
    (its parameters); that call is cached for the life of the kernel (the demo company
    by seed, an export while its files are unchanged), so asking again here returns the
    very data the report used, and its fingerprint costs a hash, not a load.
    """
    from IPython.display import display

    from simlib.data import io, load_source

    record: dict = {"data_fingerprint": ""}
    seed = ns.get("demo_seed")
    seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
    source = str(ns.get("source") or "")
    # A report that read no company (the cache holds none) has no fingerprint to show.
    if source:
        loaded = len(io.SOURCE_CACHE) > 0
    else:
        from simlib.data.sample import DEMO_AS_OF, DEMO_SEED

        loaded = (DEMO_SEED if seed is None else seed, DEMO_AS_OF) in io.DEMO_CACHE._entries
    try:
        if not loaded:
            raise LookupError("no company data was loaded by this report")
        data = load_source(source, str(ns.get("mapping") or ""), seed)
        record = {"data_fingerprint": data.fingerprint, "as_of": str(data.as_of)}
    except Exception as e:  # noqa: BLE001 - the page then shows no fingerprint, nothing else
        record["note"] = f"{type(e).__name__}: {e}"
    display({PROVENANCE_MIME: record}, raw=True)
    return record
