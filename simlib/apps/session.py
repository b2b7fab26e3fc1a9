"""What an app opens: the user's CRM export (or the demo company), and the slow
results computed from it, kept on disk so that reopening an app is quick.

``simlib app --data PATH --mapping M`` puts the export in the environment of every app
kernel (``SIMLIB_APP_SOURCE``, ``SIMLIB_APP_MAPPING``); a notebook's own ``source`` and
``mapping`` parameters win over it; with neither, the apps open the demo company.

Everything slow is kept in :func:`simlib.cache.cache_dir` (``$SIMLIB_CACHE_DIR``): the
loaded dataset itself (keyed by the export's files, sizes and modification times, the
mapping and the parameter files; the demo company by its seed) and each app's first
computation (:func:`cached_for`, keyed by the data's fingerprint and the app's
parameters). Every key also carries a digest of simlib's source, so a new version of
the code never reads an old result. ``simlib cache clear`` empties the folder.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from simlib.cache import disk_cached, disk_key

__all__ = [
    "SOURCE_ENV",
    "MAPPING_ENV",
    "app_lang",
    "app_source",
    "open_data",
    "cached_for",
    "show_when_ready",
]

T = TypeVar("T")

SOURCE_ENV = "SIMLIB_APP_SOURCE"
MAPPING_ENV = "SIMLIB_APP_MAPPING"


def app_source(source: str = "", mapping: str = "") -> tuple[str, str]:
    """The export and mapping an app opens: the arguments, else the environment."""
    if source:
        return str(source), str(mapping)
    return os.environ.get(SOURCE_ENV, ""), os.environ.get(MAPPING_ENV, "")


def _query_string() -> str:
    """The page's query string. Voilà sets ``$QUERY_STRING`` in the kernel it starts for
    a request; a kernel started ahead of any request (Voilà's ``preheat_kernel``) has
    none and waits here for the request that claims it (Voilà's ``wait_for_request``)."""
    qs = os.environ.get("QUERY_STRING")
    if qs is None and os.environ.get("VOILA_PREHEAT") == "True":
        try:
            from voila.utils import wait_for_request

            wait_for_request()
        except Exception:  # noqa: BLE001 - no Voilà, no server: no query string
            return ""
        qs = os.environ.get("QUERY_STRING")
    return qs or ""


def app_user(user: str = "") -> str:
    """Who is using an app page: ``?user=`` in the page's address (an id or a name from
    the org data), else the notebook's ``user`` parameter, else ``$SIMLIB_USER``; ``""``
    when nobody said (the page is then read-only where the ledger needs a person)."""
    from urllib.parse import parse_qs

    asked = parse_qs(_query_string()).get("user", [""])[-1].strip()
    return asked or str(user or "").strip() or os.environ.get("SIMLIB_USER", "").strip()


def app_lang(lang: str = "") -> str:
    """The language an app page is shown in.

    ``?lang=en`` or ``?lang=zh-CN`` in the page's address (Voilà gives a kernel its
    request's query string as ``$QUERY_STRING``) wins, then the notebook's ``lang``
    parameter, then the company's default language (``params/company.yaml``).
    """
    from urllib.parse import parse_qs

    from simlib.i18n import LANGS

    asked = parse_qs(_query_string()).get("lang", [""])[-1]
    if asked in LANGS:
        return asked
    if lang in LANGS:
        return lang
    from simlib.company import default_language

    return default_language()


def _stat_digest(paths) -> str:
    """A digest of the path, size and modification time of each file in ``paths``
    (folders walked); a file that cannot be read is left out."""
    h = hashlib.sha256()
    for p in paths:
        p = Path(p)
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            h.update(f"{f}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:32]


def _params_digest() -> str:
    from simlib.config import default_params_dir

    return _stat_digest([default_params_dir()])


def _with_fingerprint(data):
    data.fingerprint  # noqa: B018 - computed once, then pickled with the dataset
    return data


def open_data(source: str = "", mapping: str = "", demo_seed: int | None = None):
    """The :class:`~simlib.data.Dataset` an app works on (see :func:`app_source`).

    An export in files is read back from the disk cache while its files, the mapping
    and the parameter files are unchanged (a database URL is always read afresh); the
    demo company by its seed.

    Raises
    ------
    ValueError
        An export without a mapping.
    simlib.config.ParamError, simlib.data.DataError
        The mapping is not found or not valid, or the export does not load through it
        (the message names the file, the column and what is wrong).
    """
    from simlib.data import load_data, load_demo

    source, mapping = app_source(source, mapping)
    if not source:

        def demo():
            return _with_fingerprint(load_demo(seed=demo_seed))

        return disk_cached("dataset", disk_key("demo", demo_seed, _params_digest()), demo)
    if not mapping:
        raise ValueError(
            f"the export {source} needs a column mapping (a name in params/mappings/, "
            "e.g. salesforce, or a YAML file)"
        )

    def load():
        return _with_fingerprint(load_data(source, mapping))

    if "://" in source:
        return load()
    src = Path(source).expanduser().resolve()
    if not src.exists():
        return load()  # its own clear "data path not found"
    mapped = [Path(mapping)] if Path(mapping).is_file() else []
    key = disk_key(
        "export", str(src), _stat_digest([src]), str(mapping), _stat_digest(mapped),
        _params_digest(),
    )  # fmt: skip
    return disk_cached("dataset", key, load)


def cached_for(data, kind: str, params: dict, compute: Callable[[], T]) -> T:
    """``compute()`` for ``data`` and ``params``, kept on disk by the data's fingerprint.

    ``kind`` names the result (``"lab-trials"``); ``params`` everything else it depends
    on (period, as-of, trials, seed, plan...). simlib's source digest is part of the key
    (:func:`simlib.cache.disk_key`), and so are the parameter files in ``params/``.
    """
    key = disk_key(kind, data.fingerprint, sorted(params.items()), _params_digest())
    return disk_cached(kind, key, compute)


_OPENING = {
    "loading": (
        "Opening the data and computing the first view… (the first time on new data takes "
        "a little while; afterwards it is kept on disk)",
        "正在读取数据并计算首个视图……（新数据第一次需要稍候，之后会保存在磁盘上）",
    ),
    "open_failed": ("The data could not be opened.", "无法打开数据。"),
}


def show_when_ready(
    build: Callable[[], T],
    lang: str,
    name: str = "app",
    *,
    loading: str = "",
    box_class: str = "simlib-app-loading",
) -> T | None:
    """Show a progress line in the notebook or Voilà page at once (``loading``, or a
    general one), then the app that ``build()`` returns (anything with ``.show()``
    giving a widget) in its place; the box carries the CSS class ``box_class``.

    A data problem (``ValueError``, ``OSError``, a parameter or data error) is said in
    the page's language with its message; anything else is logged and shown as
    :func:`simlib.present.apology`. Returns the app, or None when it could not open.
    """
    import logging

    import ipywidgets as w
    from IPython.display import display

    from simlib.i18n import escape
    from simlib.present import PAGE_CSS, apology

    zh = lang == "zh-CN"
    text = escape(loading) if loading else _OPENING["loading"][zh]
    box = w.VBox([w.HTML(f"<p class='simlib-loading' style='color:#555'>{text}</p>")])
    box.add_class(box_class)
    display(box)
    log = logging.getLogger(f"simlib.apps.{name}")
    try:
        app = build()
        box.children = [app.show()]
        return app
    except (ValueError, OSError) as e:  # incl. ParamError and DataError: the data, said
        log.warning("%s: cannot open the data: %s", name, e)
        box.children = [
            w.HTML(
                f"<style>{PAGE_CSS}</style><div class='simlib-apology' role='alert'>"
                f"<b>{_OPENING['open_failed'][zh]}</b><br>{escape(str(e))}</div>"
            )
        ]
    except Exception:  # noqa: BLE001 - anything else: logged, an apology on the page
        log.exception("%s: could not start", name)
        box.children = [w.HTML(f"<style>{PAGE_CSS}</style>{apology(lang)}")]
    return None
