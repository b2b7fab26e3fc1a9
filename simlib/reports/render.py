"""Render one report: papermill executes the template, nbconvert exports HTML.

A render writes ``<name>.html`` (no code cells) and the executed ``<name>.ipynb`` into
the output folder. Both are first written beside their final place and then renamed,
so a failed render never replaces the last good report: the partial notebook goes to
``failed/<name>.ipynb`` with the error in ``failed/<name>.error.txt``.

Start-up dominates a single render (papermill, nbconvert, a kernel, then pandas,
scipy and simlib inside the kernel: ~6 s before the first line of the report runs).
A :class:`Renderer` therefore keeps one warm kernel and gives each report a clean
namespace in it (``%reset -f``, matplotlib settings restored, figures closed):
imports and the data caches survive, variables of the previous report do not.
The kernel is restarted after a failed report and every ``recycle`` reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simlib.reports.templates import ROOT, ReportError, Template, check_parameters, template_info

_WARM_UP = """\
%matplotlib inline
import matplotlib, matplotlib.pyplot
import simlib.reports._kernel as _simlib_kernel
_simlib_kernel.warm_up()
"""
_RESET = """\
%reset -f
import simlib.reports._kernel as _simlib_kernel
_simlib_kernel.clean_slate()
del _simlib_kernel
"""


@dataclass
class RenderResult:
    """What happened to one report (a row of the run's manifest)."""

    template: str
    name: str
    parameters: dict[str, Any]
    status: str = "pending"  # "ok" | "failed"
    html: str | None = None
    ipynb: str | None = None
    checksum: str | None = None  # sha256 of the HTML
    duration_s: float = 0.0
    error: str | None = None
    failed_notebook: str | None = None
    started: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    )

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_UNSAFE = re.compile(r"[^\w.\-=+@]+", re.UNICODE)


def safe_part(value: Any) -> str:
    """A path component from a parameter value: no separators, no leading dots."""
    text = _UNSAFE.sub("_", str(value)).strip("._") or "_"
    return text[:80]


def output_name(template: Template, params: dict[str, Any], pattern: str | None = None) -> str:
    """The report's relative output path without extension.

    ``pattern`` is formatted with the template name and the parameters (each made
    path-safe), e.g. ``"reps/{rep_id}/{period}"``; the default is the template name
    followed by the values of the parameters given.
    """
    values = {**template.defaults, **params}
    if pattern:
        try:
            text = pattern.format(
                template=template.name, **{k: safe_part(v) for k, v in values.items()}
            )
        except (KeyError, IndexError) as e:
            raise ReportError(
                f"output pattern {pattern!r}: {e} is not a parameter of {template.name}"
            ) from None
        parts = [safe_part(p) for p in text.split("/") if p not in ("", ".", "..")]
        return "/".join(parts)
    given = [safe_part(v) for v in params.values()]
    return "__".join([template.name, *given]) if given else template.name


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def html_of(nb) -> str:
    """The executed notebook as standalone HTML without code cells or prompts."""
    import logging

    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    exporter.log.setLevel(logging.ERROR)  # "Alternative text is missing" on every figure
    body, _ = exporter.from_notebook_node(nb)
    return body


def output_text(nb, *, images: bool = False) -> str:
    """Everything a reader of an executed notebook sees as text: its outputs (streams,
    results, Markdown, HTML; pictures' base64 only with ``images``), not its code."""
    if isinstance(nb, (str, Path)):
        nb = json.loads(Path(nb).read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            if "text" in o:
                parts.append("".join(o["text"]) if isinstance(o["text"], list) else o["text"])
            for mime, v in o.get("data", {}).items():
                if images or not mime.startswith("image/"):
                    parts.append("".join(v) if isinstance(v, list) else str(v))
            if o.get("output_type") == "error":
                parts.append(f"{o.get('ename')}: {o.get('evalue')}")
    return "\n".join(parts)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Renderer:
    """Renders reports one after another in a warm kernel (one per process or thread).

    ``fresh=True`` starts a new kernel for every report instead (slow; what the
    command-line tools do), for comparison and for the paranoid.
    """

    def __init__(
        self,
        *,
        cwd: str | Path = ROOT,
        kernel_name: str = "python3",
        timeout: float | None = 1800,
        recycle: int = 200,
        fresh: bool = False,
    ):
        self.cwd = str(cwd)
        self.kernel_name = kernel_name
        self.timeout = timeout
        self.recycle = recycle
        self.fresh = fresh
        self._km = None
        self._served = 0
        register_engine()

    # ---------------------------------------------------------------- the kernel
    def _start(self) -> None:
        import subprocess
        import tempfile

        from jupyter_client.manager import KernelManager

        km = KernelManager(kernel_name=self.kernel_name)
        # The kernel's own chatter ("running over TCP without encryption") goes to a log
        # file, not the user's terminal; report output travels over the kernel protocol.
        self.log = Path(tempfile.gettempdir()) / f"simlib-kernel-{os.getpid()}.log"
        with open(self.log, "ab") as log:
            km.start_kernel(
                cwd=self.cwd,
                extra_arguments=["--HistoryManager.enabled=False"],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self._km, self._served = km, 0
        self._run(_WARM_UP)

    def _run(self, code: str) -> None:
        # A client per call: a client whose kernel was meanwhile used by another
        # client (papermill's) stops receiving its own replies.
        kc = self._km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            reply = kc.execute_interactive(
                code, timeout=120, store_history=False, output_hook=lambda msg: None
            )
        finally:
            kc.stop_channels()
        if reply["content"]["status"] != "ok":
            c = reply["content"]
            raise RuntimeError(f"kernel set-up failed: {c.get('ename')}: {c.get('evalue')}")

    def close(self) -> None:
        if self._km is not None:
            try:
                self._km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass
        self._km = None

    def _ready_kernel(self):
        if self._km is None or not self._km.is_alive() or self._served >= self.recycle:
            self.close()
            self._start()
        else:
            self._run(_RESET)
        self._served += 1
        return self._km

    # ---------------------------------------------------------------- one report
    def execute(self, path: Path, params: dict[str, Any], out_ipynb: Path):
        """Execute the template into ``out_ipynb`` (written as cells run)."""
        import papermill as pm

        kw = dict(
            parameters=params,
            progress_bar=False,
            log_output=False,
            cwd=self.cwd,
            kernel_name=self.kernel_name,
            execution_timeout=self.timeout,
        )
        if self.fresh:
            return pm.execute_notebook(str(path), str(out_ipynb), **kw)
        km = self._ready_kernel()
        try:
            return pm.execute_notebook(
                str(path), str(out_ipynb), engine_name="simlib-warm", km=km, **kw
            )
        except BaseException:
            self.close()  # a failed report may leave anything behind; start clean
            raise

    def render(
        self,
        template: str | Path | Template,
        params: dict[str, Any] | None = None,
        out_dir: str | Path = "reports",
        *,
        name: str | None = None,
        pattern: str | None = None,
    ) -> RenderResult:
        """Render one report; never raises for a failing notebook (see ``status``)."""
        t = template if isinstance(template, Template) else template_info(template)
        params = check_parameters(t, dict(params or {}))
        out_dir = Path(out_dir)
        name = name or output_name(t, params, pattern)
        res = RenderResult(t.name, name, params)
        html_path = out_dir / f"{name}.html"
        ipynb_path = out_dir / f"{name}.ipynb"
        work = out_dir / ".work" / f"{safe_part(name)}.{os.getpid()}.{threading.get_ident()}.ipynb"
        work.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        try:
            nb = self.execute(t.path, params, work)
            html = html_of(nb)
            _write_atomic(html_path.with_suffix(".html.new"), html)
            ipynb_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(work, ipynb_path)
            os.replace(html_path.with_suffix(".html.new"), html_path)
            res.status, res.html, res.ipynb = "ok", str(html_path), str(ipynb_path)
            res.checksum = _sha256(html_path)
        except BaseException as e:  # noqa: BLE001 - reported per item, never fatal for a batch
            res.status = "failed"
            res.error = _describe(e)
            failed = out_dir / "failed" / f"{name}.ipynb"
            failed.parent.mkdir(parents=True, exist_ok=True)
            if work.exists():
                os.replace(work, failed)
                res.failed_notebook = str(failed)
            _write_atomic(failed.with_suffix(".error.txt"), res.error + "\n")
            Path(str(html_path.with_suffix(".html.new"))).unlink(missing_ok=True)
            if isinstance(e, KeyboardInterrupt):
                raise
        finally:
            res.duration_s = round(time.perf_counter() - t0, 3)
        return res


def _describe(e: BaseException) -> str:
    """The cell error papermill reports, shortened to what a reader needs."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(e, PapermillExecutionError):
        return f"cell {e.exec_count}: {e.ename}: {e.evalue}"
    if isinstance(e, ReportError):
        return str(e)
    return f"{type(e).__name__}: {e}\n" + "".join(traceback.format_exception(e)[-3:])


# --------------------------------------------------------------------------- the engine
def register_engine() -> None:
    """Register ``simlib-warm``: a papermill engine that runs in a kernel it is given
    and leaves it running. Idempotent; called by :class:`Renderer`, not at import."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    if "simlib-warm" in papermill_engines._engines:
        return

    class WarmEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            km=None,
            **kwargs,
        ):
            kwargs.pop("input_path", None)
            kwargs.pop("timeout", None)
            kwargs.pop("startup_timeout", None)
            client = PapermillNotebookClient(
                nb_man,
                km=km,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                **kwargs,
            )
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    papermill_engines.register("simlib-warm", WarmEngine)


# --------------------------------------------------------------------------- the manifest
def write_manifest(out_dir: str | Path, run: dict[str, Any], results: list[RenderResult]) -> Path:
    """``manifests/<run id>.json``: the run's template(s), inputs and every item's outcome."""
    out_dir = Path(out_dir)
    path = out_dir / "manifests" / f"{run['run_id']}.json"
    doc = {
        **run,
        "items": [r.to_dict() for r in results],
        "ok": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
    }
    _write_atomic(path, json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    return path


def new_run_id() -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{os.urandom(2).hex()}"
