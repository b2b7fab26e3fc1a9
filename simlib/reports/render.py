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
import errno
import functools
import hashlib
import json
import os
import re
import signal
import socket
import sys
import tempfile
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
    pdf: str | None = None  # the PDF beside the HTML (None: not made, see pdf_note)
    pdf_note: str | None = None  # why there is no (new) PDF, when there is not
    data_fingerprint: str | None = None  # of the data the report read (in its footer)
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


#: nbconvert's lab page without what it fetches from a CDN (require.js, MathJax, the
#: widget manager, mermaid): a report is read offline, and a ``$`` in a name must stay
#: text, not become a formula. It adds the page furniture: the language, the title (the
#: report's first heading), simlib's screen and A4 print CSS, and the provenance footer.
_SELF_CONTAINED = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block extra_css -%}
<style type="text/css">
{{ resources.simlib_css }}
</style>
{%- endblock extra_css -%}
{%- block html_head_css -%}
<style type="text/css">
{{ resources.simlib_report_css }}
</style>
{%- endblock html_head_css -%}
{% block body_footer %}
{{ resources.simlib_footer }}
</body>
{% endblock body_footer %}
"""

#: The report page around the cells: readable width and Chinese fonts on screen, full
#: width in print, no empty output areas, stderr never shown.
_REPORT_CSS = """
body.jp-Notebook { max-width: 1100px; margin: 0 auto; padding: 12px 24px;
  font-family: system-ui, -apple-system, "Segoe UI", "WenQuanYi Micro Hei",
  "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; }
.jp-RenderedHTMLCommon, .jp-RenderedMarkdown { font-family: inherit; }
.jp-OutputArea-output img { max-width: 100%; height: auto; }
.simlib-footer { margin-top: 2.5em; }
@media print {
  body.jp-Notebook { max-width: none; margin: 0; padding: 0; }
  .jp-Cell { padding: 0 !important; }
  .jp-OutputArea-output { overflow: visible !important; }
}
"""

#: The tag of the cell a render appends to a template: it records the fingerprint of
#: the data the report read (see :func:`simlib.reports._kernel.provenance`).
PROVENANCE_TAG = "simlib-provenance"
PROVENANCE_MIME = "application/vnd.simlib.provenance+json"

_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S | re.I)
_TAGS = re.compile(r"<[^>]+>")
_ANCHOR = re.compile(r'<a class="anchor-link"[^>]*>.*?</a>', re.S)


def page_title(body: str, default: str = "") -> str:
    """The text of the page's first ``<h1>`` (the report's own heading), else ``default``."""
    import html as _html

    m = _H1.search(body)
    if not m:
        return default
    text = _html.unescape(_TAGS.sub("", _ANCHOR.sub("", m[1])))
    return " ".join(text.split()) or default


def provenance_of(nb) -> dict[str, Any]:
    """What the provenance cell of an executed notebook recorded (``{}`` if none)."""
    for cell in nb.get("cells", []):
        if PROVENANCE_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        for o in cell.get("outputs", []):
            v = o.get("data", {}).get(PROVENANCE_MIME)
            if isinstance(v, dict):
                return dict(v)
            if isinstance(v, str):
                try:
                    return dict(json.loads(v))
                except ValueError:
                    pass
    return {}


def with_provenance_cell(nb):
    """A copy of template ``nb`` with the provenance cell appended (tagged, so that
    :func:`html_of` leaves it off the page)."""
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(
        "import simlib.reports._kernel as _simlib_kernel\n"
        "_simlib_kernel.provenance(globals())\n"
        "del _simlib_kernel",
        metadata={"tags": [PROVENANCE_TAG]},
    )
    if not all("id" in c for c in nb.cells):  # nbformat 4.4 and older: no cell ids
        cell.pop("id", None)
    else:
        cell["id"] = "simlib-provenance"
    nb.cells.append(cell)
    return nb


def _now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def html_of(
    nb,
    *,
    lang: str | None = None,
    params: dict[str, Any] | None = None,
    when: str | None = None,
    fingerprint: str | None = None,
) -> str:
    """The executed notebook as a standalone page: no code cells, prompts or stderr.

    The page says its language (``lang``, else the notebook's ``lang`` parameter, else
    English), takes its title from the report's first heading, carries simlib's
    screen and A4 print CSS and ends with a provenance footer: the fingerprint of the
    data the report read (``fingerprint``, else what the provenance cell recorded),
    the report's parameters (``params``) and the time (``when``, default now) — except a
    document for a customer (template metadata ``simlib.audience: customer``), which ends
    with none.
    """
    import logging

    import jinja2
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

    from simlib.present import PAGE_CSS, footer

    class _DropStderr(Preprocessor):
        """Warnings and logging are for the log, not for the reader."""

        def preprocess_cell(self, cell, resources, index):
            if "outputs" in cell:
                cell.outputs = [
                    o
                    for o in cell.outputs
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
            return cell, resources

    if lang is None:
        lang = _nb_lang(nb)
    lang = "zh-CN" if lang == "zh-CN" else "en"
    if fingerprint is None:
        fingerprint = provenance_of(nb).get("data_fingerprint") or ""
    shown = {k: v for k, v in (params or {}).items() if v not in ("", None)}
    # A document for a customer (its template's metadata: {"simlib": {"audience":
    # "customer"}}) carries no provenance footer: no parameters, fingerprint or tool name
    # on a quote; the run's manifest keeps them.
    for_customer = (nb.metadata.get("simlib") or {}).get("audience") == "customer"
    foot = (
        ""
        if for_customer
        else footer(
            lang=lang,
            fingerprint=fingerprint,
            params={
                k: json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
                for k, v in shown.items()
            },
            when=when if when is not None else _now_text(),
        )
    )
    exporter = HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        extra_loaders=[jinja2.DictLoader({"simlib_report.html.j2": _SELF_CONTAINED})],
        template_file="simlib_report.html.j2",
    )
    exporter.log.setLevel(logging.ERROR)  # "Alternative text is missing" on every figure
    # The template's own description (for whoever opens the template) is not the page's,
    # nor is the provenance cell.
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"template-doc", PROVENANCE_TAG}, enabled=True),
        enabled=True,
    )
    exporter.register_preprocessor(_DropStderr(enabled=True), enabled=True)
    resources = {
        "simlib_css": PAGE_CSS,
        "simlib_report_css": _REPORT_CSS,
        "simlib_footer": str(foot),
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    import html as _html

    title = page_title(body, "simlib")
    # nbconvert accepts ISO 639-1 codes only ("zh", not "zh-CN"): the tag is set here.
    body = re.sub(r"<html\b[^>]*>", f'<html lang="{lang}">', body, count=1)
    return re.sub(
        r"<title>.*?</title>",
        lambda _m: f"<title>{_html.escape(title)}</title>",
        body,
        count=1,
        flags=re.S,
    )


_LANG_LINE = re.compile(r"^lang\s*(?::[^=\n]*)?=\s*['\"]([\w-]+)['\"]", re.M)


def _nb_lang(nb) -> str:
    """The ``lang`` parameter papermill injected, else the template's default, else en."""
    found = {}
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        for tag in ("injected-parameters", "parameters"):
            if tag in tags and (m := _LANG_LINE.search("".join(cell.get("source", "")))):
                found[tag] = m[1]
    return found.get("injected-parameters") or found.get("parameters") or "en"


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


_HOST = safe_part(socket.gethostname())[:24]


def scratch_tag() -> str:
    """``<host>-<pid>`` in the names of scratch files, so a later run can tell the
    leftovers of a dead process (kill -9, power cut) from files still being written."""
    return f"{_HOST}-{os.getpid()}"


_SCRATCH_TAG = re.compile(rf"\.{re.escape(_HOST)}-(\d+)\.")


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def is_stale_scratch(name: str) -> bool:
    """Whether a scratch file name carries this host's tag and a pid that is gone."""
    m = _SCRATCH_TAG.search(name)
    return m is not None and not _pid_alive(int(m[1]))


def _write_atomic(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, then a rename.
    The temporary file never outlives a failure (a full disk, a folder in the way)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{scratch_tag()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


#: What a full, read-only or mis-shaped output folder raises.
WRITE_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EFBIG,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.EEXIST,
    }
)


def oserror_text(e: OSError) -> str:
    """An OSError as a reader wants it: what could not be done to which path, and why."""
    why = e.strerror or str(e)
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "no space left on the device"
    elif e.errno in (errno.EACCES, errno.EPERM):
        why = "permission denied"
    elif e.errno == errno.EROFS:
        why = "read-only file system"
    elif e.errno == errno.EISDIR:
        why = "it is a folder, not a file; remove it or choose another output name"
    elif e.errno == errno.ENOTDIR:
        why = "part of the path is a file, not a folder"
    where = e.filename if e.filename is not None else ""
    if e.filename2 is not None:
        where = e.filename2
    return f"cannot write {where}: {why}" if where else f"cannot write: {why}"


def check_output_dir(out_dir: str | Path) -> Path:
    """``out_dir`` created if need be and proven writable, else a ReportError naming it.

    Checked before any kernel starts, so a read-only or mistyped output folder is one
    message, not a failure per report and a manifest that cannot be written.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"output folder {out_dir} is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportError(
            f"output folder {out_dir}: cannot create it ({e.strerror or e})"
        ) from None
    try:
        fd, probe = tempfile.mkstemp(prefix=f".probe.{scratch_tag()}.", dir=out_dir)
    except OSError as e:
        raise ReportError(
            f"output folder {out_dir} is not writable ({e.strerror or e}); "
            "choose another with --out"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return out_dir


# --------------------------------------------------------------------------- PDF
#: Where Chromium is looked for (``$SIMLIB_CHROMIUM`` first).
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def chromium_path() -> str | None:
    """The Chromium to print with: ``$SIMLIB_CHROMIUM``, else the usual places, else None."""
    import shutil

    env = os.environ.get("SIMLIB_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for p in CHROMIUM_PATHS:
        if Path(p).is_file():
            return p
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class PdfUnavailable(RuntimeError):
    """No PDF can be printed on this machine (no Chromium, no Playwright)."""


class PdfPrinter:
    """Prints report pages to A4 PDF with headless Chromium (Playwright).

    One browser serves every page of a process (launching Chromium takes a second or
    two); a page may load only ``file:`` and ``data:`` URLs, anything else is blocked.
    """

    def __init__(self, executable: str | None = None):
        self.executable = executable
        self._pw = None
        self._browser = None
        self.unavailable: str | None = None  # why no PDF can be made here, once known
        # Playwright's sync API runs an event loop in the thread that starts it, and
        # refuses to start where one runs already: the browser lives in a thread of
        # its own, so the caller's thread (a notebook, a test, another browser) is free.
        self._thread = None

    def _call(self, fn, *args, **kwargs):
        from concurrent.futures import ThreadPoolExecutor

        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="simlib-pdf")
        return self._thread.submit(fn, *args, **kwargs).result()

    def _launch(self):
        if self.unavailable:
            raise PdfUnavailable(self.unavailable)
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self._close()
        exe = self.executable or chromium_path()
        if not exe or not Path(exe).is_file():
            self.unavailable = (
                "no PDF: Chromium was not found (install chromium, or set SIMLIB_CHROMIUM "
                "to its path); the HTML report is complete"
            )
            raise PdfUnavailable(self.unavailable)
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            self.unavailable = "no PDF: Playwright is not installed; the HTML report is complete"
            raise PdfUnavailable(self.unavailable) from None
        try:
            self._pw = sync_playwright().start()
            self._browser = self._pw.chromium.launch(
                executable_path=exe, args=["--no-sandbox", "--disable-gpu"]
            )
        except Exception as e:  # noqa: BLE001 - said once, the HTML is still written
            self._close()
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            self.unavailable = f"no PDF: Chromium ({exe}) did not start: {first}"
            raise PdfUnavailable(self.unavailable) from None
        return self._browser

    def print_pdf(self, html_file: Path, pdf_file: Path, *, timeout_s: float = 120) -> None:
        """Print ``html_file`` to ``pdf_file`` (A4, backgrounds), written atomically."""
        self._call(self._print_pdf, Path(html_file), Path(pdf_file), timeout_s)

    def _print_pdf(self, html_file: Path, pdf_file: Path, timeout_s: float) -> None:
        browser = self._launch()
        pdf_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = pdf_file.with_name(f".{pdf_file.name}.{scratch_tag()}.{threading.get_ident()}.tmp")
        context = browser.new_context(java_script_enabled=True, offline=True)
        try:
            page = context.new_page()
            page.set_default_timeout(timeout_s * 1000)

            def only_local(route):
                url = route.request.url
                if url.startswith(("file:", "data:")):
                    route.continue_()
                else:
                    route.abort()

            page.route("**/*", only_local)
            page.goto(Path(html_file).resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.pdf(
                path=str(tmp),
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
                margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
            )
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, pdf_file)
        finally:
            _unlink_quietly(tmp)
            try:
                context.close()
            except Exception:  # noqa: BLE001 - the browser may be gone already
                pass

    def close(self) -> None:
        if self._thread is not None:
            thread, self._thread = self._thread, None
            try:
                thread.submit(self._close).result(timeout=30)
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass
            thread.shutdown(wait=False)

    def _close(self) -> None:
        for thing, how in ((self._browser, "close"), (self._pw, "stop")):
            if thing is not None:
                try:
                    getattr(thing, how)()
                except Exception:  # noqa: BLE001 - best effort at shutdown
                    pass
        self._browser = self._pw = None


# --------------------------------------------------------------------------- child processes
_PR_SET_PDEATHSIG = 1
_prctl_fn: Any = False  # not looked up yet


def _prctl():
    """libc's prctl (Linux), looked up once in the parent (never after a fork)."""
    global _prctl_fn
    if _prctl_fn is False:
        _prctl_fn = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                fn = ctypes.CDLL(None, use_errno=True).prctl
                fn.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
                fn.restype = ctypes.c_int
                _prctl_fn = fn
            except (OSError, AttributeError):
                pass
    return _prctl_fn


def die_with_parent(parent_pid: int | None = None) -> bool:
    """Have Linux SIGKILL this process when its parent ends (PR_SET_PDEATHSIG).

    With ``parent_pid`` (the parent's pid read before the fork), a parent that already
    ended before the call ends this process at once. Returns False where unsupported.
    """
    prctl = _prctl()
    if prctl is None or prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
    return True


def _kernel_preexec():
    """A Popen ``preexec_fn`` binding the kernel's life to this process (None off Linux)."""
    if _prctl() is None:
        return None
    parent = os.getpid()
    return lambda: die_with_parent(parent)


@functools.cache
def _kernel_manager_class():
    """KernelManager whose kernels die with the process that started them.

    jupyter_client starts kernels in a session of their own (so Ctrl-C reaches them
    only through the manager) and they only poll for their parent; a batch killed with
    kill -9 left them rendering. The parent-death signal ends them at once.
    """
    from jupyter_client.manager import KernelManager

    class ChildKernelManager(KernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            preexec = _kernel_preexec()
            if preexec is not None:
                kw.setdefault("preexec_fn", preexec)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return ChildKernelManager


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
        pdf: bool = True,
    ):
        self.cwd = str(cwd)
        self.pdf = pdf
        self._printer: PdfPrinter | None = None
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

        km = _kernel_manager_class()(kernel_name=self.kernel_name)
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
        self.close_kernel()
        if self._printer is not None:
            self._printer.close()
            self._printer = None

    def close_kernel(self) -> None:
        if self._km is not None:
            try:
                self._km.shutdown_kernel(now=True)
            except Exception:  # noqa: BLE001 - best effort at shutdown
                pass
            else:  # a kernel that ended normally leaves no log behind in the temp folder
                _unlink_quietly(self.log)
        self._km = None

    def _ready_kernel(self):
        if self._km is None or not self._km.is_alive() or self._served >= self.recycle:
            self.close_kernel()
            self._start()
        else:
            self._run(_RESET)
        self._served += 1
        return self._km

    # ---------------------------------------------------------------- one report
    def execute(self, path: Path, params: dict[str, Any], out_ipynb: Path):
        """Execute the template into ``out_ipynb`` (written as cells run)."""
        import nbformat
        import papermill as pm

        nb = with_provenance_cell(nbformat.read(str(path), as_version=4))
        kw = dict(
            parameters=params,
            progress_bar=False,
            log_output=False,
            cwd=self.cwd,
            kernel_name=self.kernel_name,
            execution_timeout=self.timeout,
        )
        if self.fresh:
            return pm.execute_notebook(
                nb, str(out_ipynb), kernel_manager_class=_kernel_manager_class(), **kw
            )
        km = self._ready_kernel()
        try:
            return pm.execute_notebook(nb, str(out_ipynb), engine_name="simlib-warm", km=km, **kw)
        except BaseException:
            self.close_kernel()  # a failed report may leave anything behind; start clean
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
        """Render one report; never raises for a failing notebook (see ``status``).

        Whatever fails (the notebook, the kernel, a full disk, a folder in the way), the
        last good report stays as it was and no temporary file is left behind.
        """
        t = template if isinstance(template, Template) else template_info(template)
        params = check_parameters(t, dict(params or {}))
        out_dir = Path(out_dir)
        name = name or output_name(t, params, pattern)
        res = RenderResult(t.name, name, params)
        html_path = out_dir / f"{name}.html"
        ipynb_path = out_dir / f"{name}.ipynb"
        tag = f"{scratch_tag()}.{threading.get_ident()}"
        # Scratch files are hidden and tagged with host and pid (see clean_stale_scratch).
        new_html = html_path.with_name(f".{html_path.name}.{tag}.new")
        work = out_dir / ".work" / f"{safe_part(name)}.{tag}.ipynb"
        t0 = time.perf_counter()
        try:
            for p in (html_path, ipynb_path):
                if p.is_dir():
                    raise ReportError(
                        f"output {p} is a folder, not a file; remove it or choose "
                        "another output name"
                    )
            work.parent.mkdir(parents=True, exist_ok=True)
            nb = self.execute(t.path, params, work)
            lang = {**t.defaults, **params}.get("lang")
            html = html_of(nb, lang=lang if isinstance(lang, str) else None, params=params)
            res.data_fingerprint = provenance_of(nb).get("data_fingerprint") or None
            new_html.parent.mkdir(parents=True, exist_ok=True)
            with open(new_html, "w", encoding="utf-8") as f:
                f.write(html)
                f.flush()
                os.fsync(f.fileno())
            ipynb_path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(work, ipynb_path)
            os.replace(new_html, html_path)
            res.status, res.html, res.ipynb = "ok", str(html_path), str(ipynb_path)
            res.checksum = hashlib.sha256(html.encode("utf-8")).hexdigest()  # what was written
            if self.pdf:
                self._print_pdf(html_path, out_dir / f"{name}.pdf", res)
        except BaseException as e:  # noqa: BLE001 - reported per item, never fatal for a batch
            res.status = "failed"
            res.error = _describe(e)
            _unlink_quietly(new_html)
            self._keep_failed(out_dir, name, work, res)
            if isinstance(e, KeyboardInterrupt):
                raise
        finally:
            res.duration_s = round(time.perf_counter() - t0, 3)
        return res

    def _print_pdf(self, html_path: Path, pdf_path: Path, res: RenderResult) -> None:
        """The PDF beside the HTML; a PDF that cannot be made is a note, not a failure
        (the previous PDF, if any, stays as it was)."""
        if self._printer is None:
            self._printer = PdfPrinter()
        try:
            if pdf_path.is_dir():
                raise ReportError(f"output {pdf_path} is a folder, not a file")
            self._printer.print_pdf(html_path, pdf_path)
            res.pdf = str(pdf_path)
        except PdfUnavailable as e:
            res.pdf_note = str(e)
        except KeyboardInterrupt:
            raise
        except OSError as e:
            res.pdf_note = "no PDF: " + (
                oserror_text(e) if e.errno in WRITE_ERRNOS else f"{type(e).__name__}: {e}"
            )
        except Exception as e:  # noqa: BLE001 - the HTML is good; say why there is no PDF
            first = (str(e).strip().splitlines() or [""])[0]
            res.pdf_note = f"no PDF: printing failed: {type(e).__name__}: {first}"
            self._printer.close()  # a browser in a bad state is started again next time

    @staticmethod
    def _keep_failed(out_dir: Path, name: str, work: Path, res: RenderResult) -> None:
        """The partial notebook and the error into ``failed/``, as far as the disk allows."""
        failed = out_dir / "failed" / f"{name}.ipynb"
        try:
            if work.exists():
                failed.parent.mkdir(parents=True, exist_ok=True)
                os.replace(work, failed)
                res.failed_notebook = str(failed)
            _write_atomic(failed.with_suffix(".error.txt"), (res.error or "") + "\n")
        except OSError:
            pass  # read-only or full: the error is in the result and the manifest
        finally:
            _unlink_quietly(work)


def _describe(e: BaseException) -> str:
    """The cell error papermill reports, shortened to what a reader needs."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(e, PapermillExecutionError):
        return f"cell {e.exec_count}: {e.ename}: {e.evalue}"
    if isinstance(e, ReportError):
        return str(e)
    if isinstance(e, OSError) and e.errno in WRITE_ERRNOS:
        return oserror_text(e)
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
    """``manifests/<run id>.json``: the run's template(s), inputs and every item's outcome.

    A batch writes it when it starts (``status: running``), again after every item and
    at the end (``complete`` or ``interrupted``), each time atomically, so at any moment
    the newest manifest says what is on disk: every ``ok`` item's checksum is its file's.
    """
    out_dir = Path(out_dir)
    path = out_dir / "manifests" / f"{run['run_id']}.json"
    doc = {
        **run,
        "updated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "items": [r.to_dict() for r in results],
        "ok": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
    }
    _write_atomic(path, json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    return path


def mark_dead_runs(out_dir: str | Path) -> list[Path]:
    """Manifests still ``running`` whose process (on this host) is gone: ``interrupted``.

    A batch killed outright (kill -9, power cut) cannot say so itself; the next batch
    into the same folder does. Returns the manifests changed.
    """
    changed = []
    for path in sorted((Path(out_dir) / "manifests").glob("*.json")):
        try:
            text = path.read_text(encoding="utf-8")
            if '"running"' not in text:  # most manifests: finished long ago
                continue
            doc = json.loads(text)
            if (
                not isinstance(doc, dict)
                or doc.get("status") != "running"
                or doc.get("host") != socket.gethostname()
                or not isinstance(doc.get("pid"), int)
                or _pid_alive(doc["pid"])
            ):
                continue
            doc["status"] = "interrupted"
            doc["note"] = (
                f"process {doc['pid']} ended before the run finished (killed?); "
                "items not listed were not rendered or not recorded"
            )
            _write_atomic(path, json.dumps(doc, ensure_ascii=False, indent=1, default=str))
            changed.append(path)
        except (OSError, ValueError):
            continue  # unreadable or not ours: left as it is
    return changed


def clean_stale_scratch(out_dir: str | Path) -> int:
    """Remove scratch files (``.work/``, ``.*.tmp``) of dead processes of this host."""
    out_dir = Path(out_dir)
    n = 0
    for folder, dirs, files in os.walk(out_dir):
        dirs[:] = [d for d in dirs if d not in ("manifests",)]
        in_work = Path(folder).name == ".work"
        for f in files:
            hidden = f.startswith(".") and f.endswith((".tmp", ".new"))
            if (in_work or hidden) and is_stale_scratch(f):
                try:
                    os.unlink(os.path.join(folder, f))
                    n += 1
                except OSError:
                    pass
    return n


def new_run_id() -> str:
    now = dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{os.urandom(2).hex()}"
