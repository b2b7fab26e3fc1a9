"""What an app opens: the user's CRM export (or the demo company), and the slow
results computed from it, kept on disk so that reopening an app is quick.

``simlib app --data PATH --mapping M`` puts the export in the environment of every app
kernel (``SIMLIB_APP_SOURCE``, ``SIMLIB_APP_MAPPING``); a notebook's own ``source`` and
``mapping`` parameters win over it; with neither, the apps open the demo company.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from simlib.cache import disk_cached, disk_key

__all__ = ["SOURCE_ENV", "MAPPING_ENV", "app_lang", "app_source", "open_data", "cached_for"]

T = TypeVar("T")

SOURCE_ENV = "SIMLIB_APP_SOURCE"
MAPPING_ENV = "SIMLIB_APP_MAPPING"


def app_source(source: str = "", mapping: str = "") -> tuple[str, str]:
    """The export and mapping an app opens: the arguments, else the environment."""
    if source:
        return str(source), str(mapping)
    return os.environ.get(SOURCE_ENV, ""), os.environ.get(MAPPING_ENV, "")


def app_lang(lang: str = "") -> str:
    """The language an app page is shown in.

    ``?lang=en`` or ``?lang=zh-CN`` in the page's address (Voilà gives a kernel its
    request's query string as ``$QUERY_STRING``) wins, then the notebook's ``lang``
    parameter, then the company's default language (``params/company.yaml``).
    """
    from urllib.parse import parse_qs

    from simlib.i18n import LANGS

    asked = parse_qs(os.environ.get("QUERY_STRING", "")).get("lang", [""])[-1]
    if asked in LANGS:
        return asked
    if lang in LANGS:
        return lang
    from simlib.company import default_language

    return default_language()


def open_data(source: str = "", mapping: str = "", demo_seed: int | None = None):
    """The :class:`~simlib.data.Dataset` an app works on (see :func:`app_source`)."""
    from simlib.data import load_data, load_demo

    source, mapping = app_source(source, mapping)
    if source:
        if not mapping:
            raise ValueError(
                f"the export {source} needs a column mapping (a name in params/mappings/, "
                "e.g. salesforce, or a YAML file)"
            )
        return load_data(source, mapping)
    return load_demo(seed=demo_seed)


def cached_for(data, kind: str, params: dict, compute: Callable[[], T]) -> T:
    """``compute()`` for ``data`` and ``params``, kept on disk by the data's fingerprint.

    ``kind`` names the result (``"lab-trials"``); ``params`` everything else it depends
    on (period, as-of, trials, seed, plan...). simlib's version is part of the key.
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("simlib")
    except PackageNotFoundError:
        v = "dev"
    key = disk_key(kind, data.fingerprint, sorted(params.items()), v)
    return disk_cached(kind, key, compute)
