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
