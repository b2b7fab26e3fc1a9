"""Render a template over a grid of parameters, in one pool of warm kernels.

``render_batch("rep_review_pack", {"rep_id": "all", "period": ["2026-09", "2026-10"]})``
renders every (rep, period) pair. Each worker process keeps one warm kernel
(:class:`~simlib.reports.render.Renderer`), so imports and data load once per worker,
not once per report. One failing item never stops the others; the result lists
each item's status and a manifest records the run. With ``client=`` (a
``dask.distributed.Client``) the same items run on a Dask cluster instead.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simlib.data import load_source
from simlib.reports.render import (
    ROOT,
    Renderer,
    RenderResult,
    check_output_dir,
    clean_stale_scratch,
    die_with_parent,
    mark_dead_runs,
    new_run_id,
    oserror_text,
    output_name,
    write_manifest,
)
from simlib.reports.templates import (
    ReportError,
    Template,
    absolute_paths,
    check_parameters,
    template_info,
)

# Grid values "all" expand to every id of this kind in the data.
_EXPANDABLE = {"rep_id": "reps", "team": "teams", "region": "regions"}


@dataclass
class BatchResult:
    run_id: str
    out_dir: Path
    results: list[RenderResult]
    manifest: Path | None = None
    duration_s: float = 0.0
    workers: int = 1
    manifest_error: str | None = None  # why the manifest could not be written (full disk, ...)

    @property
    def failed(self) -> list[RenderResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        n, bad = len(self.results), len(self.failed)
        text = (
            f"{n - bad} of {n} reports rendered in {self.duration_s:.1f} s "
            f"({self.duration_s / max(n, 1):.2f} s per report, {self.workers} workers) "
            f"into {self.out_dir}"
        )
        if bad:
            text += "\nfailed:\n" + "\n".join(
                f"  {r.name}: {brief_error(r.error)}" for r in self.failed
            )
        return text


def brief_error(error: str | None, lines: int = 3) -> str:
    """The start of an item's error, on one line (the whole text is in failed/)."""
    parts = [p.strip() for p in (error or "?").splitlines() if p.strip()][:lines]
    return " ".join(parts)[:400]


@dataclass(frozen=True)
class Item:
    template: str  # path of the template notebook
    params: dict[str, Any]
    name: str
    out_dir: str
    cwd: str = str(ROOT)
    fresh: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    pdf: bool = True  # print a PDF beside the HTML


def org_ids(
    kind: str, demo_seed: int | None = None, source: str = "", mapping: str = ""
) -> list[str]:
    """Every active rep, team or region id of the company (see :func:`simlib.data.load_source`)."""
    import pandas as pd

    data = load_source(source, mapping, demo_seed)
    if kind == "reps":  # sales reps on the books at the data's date
        reps = data.tables["reps"]
        active = (reps["role"] == "rep") & (
            reps["leave_date"].isna() | (reps["leave_date"] >= pd.Timestamp(data.as_of))
        )
        return [str(r) for r in reps.loc[active, "rep_id"]]
    org = data.tables["org"]
    level = {"teams": "team", "regions": "region"}[kind]
    return [str(x) for x in org.loc[org["level"] == level, "node_id"]]


def expand_grid(
    template: Template,
    grid: dict[str, Any] | Iterable[dict[str, Any]],
    *,
    demo_seed: int | None = None,
) -> list[dict[str, Any]]:
    """Parameter sets from a grid: each list multiplies, ``"all"`` means every id.

    A list of dicts is taken as the items themselves. Every set is checked against
    the template before anything runs.
    """
    if isinstance(grid, dict):
        axes = []
        for name, value in grid.items():
            if value == "all" and name in _EXPANDABLE:
                seed = grid.get("demo_seed", demo_seed)
                value = org_ids(
                    _EXPANDABLE[name],
                    seed if isinstance(seed, int) else None,
                    str(grid.get("source") or ""),
                    str(grid.get("mapping") or ""),
                )
            values = value if isinstance(value, (list, tuple)) else [value]
            if not values:
                raise ReportError(f"template {template.name}: grid {name} is an empty list")
            axes.append([(name, v) for v in values])
        items = [dict(combo) for combo in itertools.product(*axes)]
    else:
        items = [dict(p) for p in grid]
    return [check_parameters(template, p) for p in items]


# --------------------------------------------------------------------------- workers
_local = threading.local()


def _renderer(cwd: str, fresh: bool, pdf: bool = True) -> Renderer:
    """This process's (thread's) renderer: one warm kernel and one browser (for the
    PDFs), reused across items."""
    r = getattr(_local, "renderer", None)
    if r is None or r.cwd != cwd or r.fresh != fresh:
        if r is not None:
            r.close()
        r = Renderer(cwd=cwd, fresh=fresh, pdf=pdf)
        _local.renderer = r
        from multiprocessing import util

        util.Finalize(r, r.close, exitpriority=10)  # pool workers skip atexit
        import atexit

        atexit.register(r.close)
    r.pdf = pdf
    return r


def render_item(item: Item) -> RenderResult:
    """Render one item in this process's warm kernel (the unit of work of a batch)."""
    try:
        return _renderer(item.cwd, item.fresh, item.pdf).render(
            item.template, item.params, item.out_dir, name=item.name
        )
    except Exception as e:  # noqa: BLE001 - the kernel itself failed; the item fails alone
        return RenderResult(
            Path(item.template).stem,
            item.name,
            item.params,
            status="failed",
            error=f"{type(e).__name__}: {e}",
        )


def _pool_context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["simlib.reports.render", "simlib.reports.batch"])
    return ctx


def _watch_parent(pid: int) -> None:
    """End this worker (and with it its kernel) as soon as process ``pid`` ends.

    Pool workers are children of the forkserver, which outlives the batch while a
    worker holds its pipe: without this a batch killed with kill -9 left its workers
    rendering the queued reports.
    """
    import signal
    import time

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        fd = None

    def watch() -> None:
        if fd is not None:
            import select

            select.select([fd], [], [])  # readable once the process has ended
        else:
            while True:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                except OSError:
                    pass
                time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="simlib-watch-parent", daemon=True).start()


def _quiet_worker(batch_pid: int | None = None) -> None:
    import logging
    import warnings

    if batch_pid is not None:  # a pool worker: die with the forkserver and with the batch
        die_with_parent()
        _watch_parent(batch_pid)

    warnings.filterwarnings("ignore")
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    import simlib.reports.render  # noqa: F401 - papermill, nbconvert and the engine, once


def render_batch(
    template: str | Path,
    grid: dict[str, Any] | Iterable[dict[str, Any]],
    out_dir: str | Path = "reports",
    *,
    pattern: str | None = None,
    workers: int | None = None,
    client=None,
    progress: bool = True,
    fresh: bool = False,
    cwd: str | Path = ROOT,
    run_id: str | None = None,
    demo_seed: int | None = None,
    job: str | None = None,
    on_result: Callable[[RenderResult], None] | None = None,
    pdf: bool = True,
) -> BatchResult:
    """Render ``template`` for every parameter set of ``grid`` into ``out_dir``.

    ``workers`` processes (default: the CPU count) or the Dask ``client``'s workers
    render the items; ``fresh=True`` starts a kernel per report (the slow way).
    Returns when every item has finished, with one :class:`RenderResult` per item,
    in grid order, and writes ``manifests/<run id>.json``. Each report's PDF is
    printed beside its HTML unless ``pdf=False``.
    """
    t = template_info(template)
    params = expand_grid(t, grid, demo_seed=demo_seed)
    names = [output_name(t, p, pattern) for p in params]
    # The kernels run in ``cwd`` (the checkout): relative data paths are the caller's.
    items = [
        Item(str(t.path), absolute_paths(p), n, str(out_dir), str(cwd), fresh, pdf=pdf)
        for p, n in zip(params, names)
    ]
    run = {
        "job": job,
        "template": t.name,
        "template_path": str(t.path),
        "template_sha256": t.checksum,
        "grid": grid if isinstance(grid, dict) else "items",
    }
    return run_items(
        items,
        out_dir,
        run=run,
        workers=workers,
        client=client,
        progress=progress,
        run_id=run_id,
        on_result=on_result,
        desc=t.name,
    )


def run_items(
    items: list[Item],
    out_dir: str | Path,
    *,
    run: dict[str, Any] | None = None,
    workers: int | None = None,
    client=None,
    progress: bool = True,
    run_id: str | None = None,
    on_result: Callable[[RenderResult], None] | None = None,
    desc: str = "reports",
    pdf: bool | None = None,
) -> BatchResult:
    """Render prepared items (any mix of templates) in one pool; write the manifest.

    The manifest is written when the run starts, after every item and at the end, so
    it always says what is on disk, even after kill -9. The output folder is checked
    first: a folder that cannot be written is one ReportError naming it. ``pdf``
    (True/False) overrides each item's own choice of a PDF beside its HTML.
    """
    import dataclasses
    import socket
    import time

    out_dir = Path(out_dir)
    if pdf is not None:
        items = [dataclasses.replace(it, pdf=pdf) for it in items]
    names = [it.name for it in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ReportError(
            f"several items would write {dupes[0]}; give an output pattern "
            "that uses every varying parameter"
        )
    check_output_dir(out_dir)
    mark_dead_runs(out_dir)
    clean_stale_scratch(out_dir)
    run_id = run_id or new_run_id()
    workers = max(1, min(workers or os.cpu_count() or 1, len(items) or 1))
    t0 = time.perf_counter()
    results: list[RenderResult | None] = [None] * len(items)
    bar = _progress(len(items), desc, progress)
    meta: dict[str, Any] = {
        "run_id": run_id,
        **(run or {}),
        "status": "running",
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "seed": sorted({it.params["seed"] for it in items if "seed" in it.params}) or None,
        "data": None,
        "demo_seed": None,
        "data_fingerprint": None,
        "workers": workers,
        "backend": "dask" if client is not None else "processes",
        "total": len(items),
    }
    manifest: dict[str, Any] = {"path": None, "error": None}

    def save(final: bool = False) -> None:
        finished = [r for r in results if r is not None]
        meta["pending"] = [it.name for it, r in zip(items, results) if r is None]
        meta["duration_s"] = round(time.perf_counter() - t0, 3)
        meta["complete"] = len(finished) == len(items)
        try:
            manifest["path"] = write_manifest(out_dir, meta, finished)
            manifest["error"] = None
        except OSError as e:  # a full disk: the reports already written stay
            manifest["error"] = f"manifest not written: {oserror_text(e)}"
            if final:
                manifest["path"] = None

    def describe_data() -> None:
        sources = sorted(
            {
                (
                    str(it.params.get("source") or ""),
                    str(it.params.get("mapping") or ""),
                    it.params.get("demo_seed"),
                )
                for it in items
            },
            key=str,
        )
        described = [_describe_source(*src) for src in sources]
        meta["data"] = "; ".join(d for d, _ in described)
        meta["demo_seed"] = sorted({s for *_, s in sources if isinstance(s, int)}) or None
        meta["data_fingerprint"] = ",".join(f for _, f in described)
        save()

    def done(i: int, r: RenderResult) -> None:
        results[i] = r
        save()
        bar.update(1)
        if not r.ok:
            bar.write(f"failed: {r.name}: {brief_error(r.error)}")
        if on_result:
            on_result(r)

    save()
    try:
        if client is not None:
            workers = len(client.scheduler_info().get("workers", {})) or 1
            meta["workers"] = workers
            futures = client.map(render_item, items, pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            from dask.distributed import as_completed as dask_completed

            describe_data()
            for f in dask_completed(futures):
                done(index[f.key], f.result())
        elif workers == 1:
            _quiet_worker()
            describe_data()
            for i, item in enumerate(items):
                done(i, render_item(item))
        else:
            # forkserver: workers fork from a clean server that has imported papermill,
            # nbconvert and simlib once (plain fork would copy the caller's live kernel
            # clients and event loops, which deadlocks).
            ctx = _pool_context()
            pool = ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_quiet_worker, initargs=(os.getpid(),)
            )
            futures = {}
            try:
                futures = {pool.submit(render_item, item): i for i, item in enumerate(items)}
                describe_data()
                for f in as_completed(futures):
                    i = futures[f]
                    try:
                        done(i, f.result())
                    except Exception as e:  # noqa: BLE001 - a worker died; the item fails alone
                        it = items[i]
                        done(
                            i,
                            RenderResult(
                                Path(it.template).stem,
                                it.name,
                                it.params,
                                status="failed",
                                error=f"worker failed: {type(e).__name__}: {e}",
                            ),
                        )
            except BaseException:
                # Ctrl-C: drop what has not started, let the reports being rendered finish
                # (output is written whole or not at all) and record them in the manifest.
                pool.shutdown(wait=True, cancel_futures=True)
                for f, i in futures.items():
                    if (
                        results[i] is None
                        and f.done()
                        and not f.cancelled()
                        and f.exception() is None
                    ):
                        results[i] = f.result()
                raise
            pool.shutdown()
        meta["status"] = "complete"
    finally:
        bar.close()
        if meta["status"] != "complete":
            meta["status"] = "interrupted"
        save(final=True)
        finished = [r for r in results if r is not None]
        batch = BatchResult(
            run_id,
            out_dir,
            finished,
            manifest["path"],
            time.perf_counter() - t0,
            workers,
            manifest["error"],
        )
        try:
            (out_dir / ".work").rmdir()  # scratch space of the renders; kept if not empty
        except OSError:
            pass
    return batch


def _describe_source(source: str, mapping: str, demo_seed) -> tuple[str, str]:
    """(description, fingerprint) of the data a batch's reports read.

    ``load_source`` keys on the files' times and sizes, and the fingerprint is kept on
    the dataset it loaded, so a changed export is never described by an old digest.
    """
    try:
        data = load_source(source, mapping, demo_seed if isinstance(demo_seed, int) else None)
    except Exception as e:  # noqa: BLE001 - the reports themselves say what is wrong
        return f"{source or 'demo company'} (not loadable: {e})", ""
    return data.source or source or "demo company", data.fingerprint


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="report",
        disable=not enabled,
        file=sys.stderr,
        leave=True,
        dynamic_ncols=True,
    )
