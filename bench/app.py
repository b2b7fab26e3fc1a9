"""Benchmark: how soon each app shows its first number, cold and warm, and how fast each
control updates it, in a real browser (Chromium, 1440×900) against a real Voilà server.

Each app (the Q4 target workshop, the commission what-if lab, the tracking dashboard)
gets its own server, started as ``simlib app`` starts it
(:func:`simlib.apps.server.voila_command`), serving copies of the notebooks whose
parameters cell sets ``n_trials = N``, with ``$SIMLIB_CACHE_DIR`` an empty temporary
folder. Then:

1. time to first number: from ``page.goto`` of ``/voila/render/NAME.ipynb?lang=en`` to
   the headline number shown (workshop: the company-target card; lab: cost of sales;
   dashboard: revenue). COLD is the first visit (empty disk cache: the demo company,
   the history, the trials are computed and written); WARM a second visit from a new
   browser context, in a new kernel, on the same cache folder (they are read back).
   Both include starting the kernel and importing simlib; two floors measured on the
   same server say how much: *kernel*, a notebook that shows one number, and *+import*,
   the same after importing the app's module. The number of result files
   per kind in the cache folder is printed after each visit: a warm visit that adds
   files missed the cache (e.g. simlib's source changed between the visits, which
   changes every key);
2. control updates, on the warm page once it has been quiet for a while: one control is
   changed as a user does (a slider's readout typed, a box ticked, a button, a list
   entry, a number typed and Enter), with a different value each repetition, and timed
   in the page from the user's event (click, Enter, change) to *first change*, the
   watched output's text (or picture) differing in the DOM, and to *settled*, the last
   change anywhere on the page before it stays quiet for ``QUIET_S`` (the slower views
   and charts); median over the repetitions.

How to read it: the cold/warm ratio is what the disk cache buys on a reopen; the rest of
a warm visit is the kernel, imports and the first drawing. The machine is shared (its
CPU count and load average are printed): other work inflates every figure. Numba's
compiled kernels are cached next to simlib's source, not in ``$SIMLIB_CACHE_DIR``, so
COLD here means a first open of the data, not a first run of simlib on the machine.

    .venv/bin/python bench/app.py [--trials 10000] [--repeat 3] [--quick]
                                  [--apps workshop lab dashboard]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1440, "height": 900}
#: A first render (cold, 10,000 trials on two busy cores) may take this long.
RENDER_S = 600
#: One update after a control changes.
UPDATE_S = 180
#: The page counts as settled after this long without a DOM change.
QUIET_S = 3.0
SERVER_START_S = 90


@dataclass
class Control:
    """One control, how to change it, and the output whose change is timed.

    ``kind``: ``readout`` (a slider's readout: typed, then Enter), ``text`` (a number box:
    typed, then Enter), ``check`` (a checkbox clicked), ``button`` (the ``value``-th
    button of a toggle), ``select`` (the ``value``-th entry of a list)."""

    name: str
    kind: str
    selector: str
    values: list
    watch: str


@dataclass
class App:
    key: str
    title: str
    notebook: str
    root: str
    first: str  # the headline number
    module: str  # what the notebook imports (timed alone as a floor)
    controls: list[Control] = field(default_factory=list)
    trials: bool = True  # the notebook has an n_trials parameter


APPS = {
    "workshop": App(
        "workshop",
        "target workshop",
        "q4_target_workshop.ipynb",
        ".simlib-target-workshop",
        ".simlib-target-workshop .simlib-card .v",
        "simlib.apps.target_workshop",
        [
            Control(
                "uplift rep (readout typed)",
                "readout",
                ".simlib-uplift-rep",
                [6, 9, 4.5],
                ".simlib-cards",
            ),
            Control(
                "fair quotas (ticked)",
                "check",
                ".simlib-fair-quotas",
                [True, False, True],
                ".simlib-cards",
            ),
            Control(
                "wall metric (toggle)", "button", ".simlib-wall", [1, 2, 0], ".simlib-wall-out"
            ),
        ],
    ),  # fmt: skip
    "lab": App(
        "lab",
        "commission lab",
        "commission_whatif.ipynb",
        ".simlib-commission-lab",
        ".simlib-commission-lab .simlib-cost-of-sales b",
        "simlib.apps.commission_lab",
        [
            Control(
                "band 2 rate (typed)",
                "text",
                ".simlib-rate-1",
                [2.5, 3.5, 1.0],
                ".simlib-cost-of-sales",
            ),
            Control("mode (toggle)", "button", ".simlib-mode", [1, 0, 1], ".simlib-cost-of-sales"),
        ],
    ),  # fmt: skip
    "dashboard": App(
        "dashboard",
        "tracking dashboard",
        "tracking_dashboard.ipynb",
        ".simlib-tracking-dashboard",
        ".simlib-tracking-dashboard .simlib-kpi-revenue b",
        "simlib.apps.tracking_dashboard",
        [
            Control("period (list)", "select", ".simlib-period", [1, 2, 3], ".simlib-kpi-revenue"),
            Control("level (list)", "select", ".simlib-level", [1, 2, 3], ".simlib-kpi-revenue"),
        ],
        trials=False,
    ),  # fmt: skip
}

# --------------------------------------------------------------------------- in the page

#: Installed once the app is shown: a MutationObserver that notes the time of the last
#: DOM change and of the first change of the watched output after the user's event.
OBSERVER = """() => {
  const sig = sel => Array.from(document.querySelectorAll(sel))
    .map(e => e.tagName === 'IMG' ? (e.getAttribute('src') || '') : e.innerText).join('\\u241e');
  const b = window.__bench = {armed: false, t0: null, head: null, sel: null, before: null,
                              last: performance.now(), sig};
  new MutationObserver(() => {
    const now = performance.now();
    b.last = now;
    if (b.t0 !== null && b.head === null && sig(b.sel) !== b.before) b.head = now;
  }).observe(document.body, {subtree: true, childList: true, characterData: true,
                             attributes: true, attributeFilter: ['src', 'style']});
  for (const ev of ['pointerdown', 'keydown', 'change'])
    document.addEventListener(ev, () => {
      if (b.armed && b.t0 === null) b.t0 = performance.now();
    }, true);
}"""

ARM = """sel => { const b = window.__bench;
  b.sel = sel; b.before = b.sig(sel); b.t0 = null; b.head = null; b.armed = true; }"""

FIRST_NUMBER = """sel => { const e = document.querySelector(sel);
  if (!e || e.offsetParent === null) return false;
  const t = e.innerText.trim(); return t !== '' && t !== '\\u2014'; }"""


def quiet(page, seconds: float = QUIET_S, timeout_s: float = UPDATE_S) -> None:
    """Wait until the page has not changed for ``seconds``."""
    page.wait_for_function(
        "q => performance.now() - window.__bench.last > q",
        arg=1000 * seconds,
        polling=100,
        timeout=1000 * timeout_s,
    )


def change(page, root: str, c: Control, value) -> tuple[float, float]:
    """Change ``c`` to ``value``; (first change, settled) in ms from the user's event."""
    sel = f"{root} {c.selector}"
    commit = None
    if c.kind == "readout":
        page.locator(f"{sel} .widget-readout").click()
        page.keyboard.press("Control+A")
        page.keyboard.type(str(value))
        commit = lambda: page.keyboard.press("Enter")  # noqa: E731
    elif c.kind == "text":
        box = page.locator(f"{sel} input")
        box.fill(str(value))
        commit = lambda: box.press("Enter")  # noqa: E731
    elif c.kind == "check":
        box = page.locator(f"{sel} input")
        if box.is_checked() == bool(value):
            raise RuntimeError(f"{c.name}: already {value}")
        commit = box.click
    elif c.kind == "button":
        commit = page.locator(f"{sel} button").nth(int(value)).click
    elif c.kind == "select":
        commit = lambda: page.locator(f"{sel} select").select_option(index=int(value))  # noqa: E731
    else:
        raise ValueError(c.kind)
    page.evaluate(ARM, f"{root} {c.watch}")
    commit()
    page.wait_for_function("() => window.__bench.head !== null", timeout=1000 * UPDATE_S)
    quiet(page)
    t0, head, last = page.evaluate(
        "() => { const b = window.__bench; b.armed = false; return [b.t0, b.head, b.last]; }"
    )
    return head - t0, last - t0


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_notebook(name: str, dest: Path, n_trials: int) -> None:
    """``notebooks/NAME`` in ``dest``, its parameters cell set to ``n_trials``."""
    import nbformat

    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = re.sub(
                r"^n_trials = \d+", f"n_trials = {n_trials}", cell.source, flags=re.M
            )
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest / name)


FLOOR = "simlib-bench-floor"


def floor_notebook(dest: Path, name: str, module: str = "") -> None:
    """A notebook that shows one number, after importing ``module`` (or nothing)."""
    import nbformat

    src = (f"import {module}  # noqa: F401\n" if module else "") + (
        f"from IPython.display import HTML\nHTML(\"<b class='{FLOOR}'>1</b>\")"
    )
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)]), dest / name)


def source_state() -> frozenset:
    """Path, size and modification time of simlib's source: every disk-cache key carries
    a digest of them (:func:`simlib.cache.code_digest`), so a change between two visits
    means the second reads nothing back."""
    out = set()
    for f in (ROOT / "simlib").rglob("*.py"):
        try:
            st = f.stat()
        except OSError:
            continue
        out.add((str(f), st.st_size, st.st_mtime_ns))
    return frozenset(out)


class Server:
    """Voilà as ``simlib app`` starts it, on a free port, with its own cache folder,
    serving the app's notebook and two floors: one showing a number (a kernel's start),
    one importing the app's module first."""

    def __init__(self, base: Path, notebook: str, n_trials: int, module: str):
        from simlib.apps.server import voila_command

        root = base / "notebooks"
        copy_notebook(notebook, root, n_trials)
        floor_notebook(root, "floor_kernel.ipynb")
        floor_notebook(root, "floor_import.ipynb", module)
        self.cache = base / "cache"
        self.port = free_port()
        self.log = base / "voila.log"
        env = {**os.environ, "SIMLIB_CACHE_DIR": str(self.cache)}
        for k in ("MPLBACKEND", "SIMLIB_APP_SOURCE", "SIMLIB_APP_MAPPING"):
            env.pop(k, None)  # inline figures, the demo company
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(
                voila_command(self.port, root=root),
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Voilà exited ({self.proc.returncode}); log: {self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"Voilà not listening; log: {self.log}") from None
                time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def cached(self) -> str:
        """Result files in the cache folder, per kind (``dataset 1, lab-trials 1``)."""
        if not self.cache.is_dir():
            return "empty"
        kinds = sorted(d for d in self.cache.iterdir() if d.is_dir())
        return ", ".join(f"{d.name} {len(list(d.glob('*.pkl')))}" for d in kinds) or "empty"

    def stop(self) -> None:
        """SIGTERM (Voilà shuts its kernels down), then kill what is left of its group."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()


# --------------------------------------------------------------------------- the runs

#: Voilà's page links Font Awesome on a CDN: answered with an empty stylesheet, so that
#: no figure waits on (or fails for want of) the network; anything else off-host refused.
EXTERNAL = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])https?://")


def _offline(route):
    if route.request.url.endswith(".css"):
        return route.fulfill(status=200, content_type="text/css", body="")
    return route.abort()


def visit(browser, server: Server, notebook: str, first: str):
    """A new browser context, the server's list (for the _xsrf cookie, so that leaving the
    page shuts its kernel down), then the notebook: (seconds from ``goto`` to ``first``
    shown with a number, page, context)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.route(EXTERNAL, _offline)
    page = context.new_page()
    page.goto(server.url)
    t0 = time.perf_counter()
    page.goto(f"{server.url}voila/render/{notebook}?lang=en", wait_until="commit")
    page.wait_for_function(FIRST_NUMBER, arg=first, timeout=1000 * RENDER_S)
    return time.perf_counter() - t0, page, context


def floor(browser, server: Server, notebook: str) -> float:
    seconds, page, ctx = visit(browser, server, notebook, f".{FLOOR}")
    leave(page, ctx)
    return seconds


def leave(page, context) -> None:
    try:
        page.goto("about:blank", timeout=10_000)  # beforeunload: Voilà shuts the kernel down
    finally:
        context.close()
    time.sleep(1.0)  # let the kernel go before the next measurement


@dataclass
class Result:
    app: App
    kernel: float | None = None
    imported: float | None = None
    cold: float | None = None
    warm: float | None = None
    cache_cold: str = ""
    cache_warm: str = ""
    source_changed: bool = False
    controls: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    failed: str = ""


def run_app(browser, app: App, base: Path, n_trials: int, repeat: int) -> Result:
    res = Result(app)
    server = Server(base, app.notebook, n_trials, app.module)
    try:
        res.kernel = floor(browser, server, "floor_kernel.ipynb")
        res.imported = floor(browser, server, "floor_import.ipynb")
        print(
            f"{app.title}: a number shown by a new kernel {res.kernel:.2f} s, "
            f"after importing {app.module} {res.imported:.2f} s",
            flush=True,
        )
        before = source_state()
        res.cold, page, ctx = visit(browser, server, app.notebook, app.first)
        print(f"{app.title}: cold first number {res.cold:.2f} s", flush=True)
        leave(page, ctx)
        res.cache_cold = server.cached()
        res.warm, page, ctx = visit(browser, server, app.notebook, app.first)
        res.source_changed = source_state() != before
        print(f"{app.title}: warm first number {res.warm:.2f} s", flush=True)
        res.cache_warm = server.cached()
        try:
            page.evaluate(OBSERVER)
            quiet(page, timeout_s=RENDER_S)  # the rest of the first drawing
            for c in app.controls:
                heads, settles = [], []
                for value in c.values[:repeat]:
                    head, settled = change(page, app.root, c, value)
                    heads.append(head)
                    settles.append(settled)
                    print(
                        f"{app.title}: {c.name} → {value}: first change {head:,.0f} ms, "
                        f"settled {settled:,.0f} ms",
                        flush=True,
                    )
                res.controls[c.name] = (heads, settles)
        except Exception:
            shot = base / "failed.png"
            page.screenshot(path=str(shot))
            print(f"{app.title}: screenshot {shot}; Voilà log {server.log}", flush=True)
            raise
        finally:
            leave(page, ctx)
    except Exception as e:  # noqa: BLE001 - the other apps are still measured
        res.failed = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        print(f"{app.title}: FAILED {res.failed}", flush=True)
    finally:
        server.stop()
    return res


def report(results: list[Result], n_trials: int, repeat: int) -> None:
    def s(x):
        return f"{x:8.2f}" if x is not None else f"{'—':>8}"

    print(f"\ntime to first number (s), n_trials = {n_trials:,}")
    print(
        f"{'app':<20} {'kernel':>8} {'+import':>8} {'cold':>8} {'warm':>8} {'cold/warm':>10}"
        "   cache files after cold → warm"
    )
    for r in results:
        ratio = f"{r.cold / r.warm:9.1f}x" if r.cold and r.warm else f"{'—':>10}"
        same = "same" if r.cache_warm == r.cache_cold else r.cache_warm
        note = "" if r.app.trials else " (no trials)"
        if r.source_changed:
            note += " (simlib's source changed between the visits: no key matched)"
        print(
            f"{r.app.title:<20} {s(r.kernel)} {s(r.imported)} {s(r.cold)} {s(r.warm)} {ratio}"
            f"   {r.cache_cold} → {same}{note}"
        )
    print(
        "kernel: a notebook showing one number (Voilà's page and a new kernel); "
        "+import: the same after importing the app's module"
    )
    what = f"median of {repeat}" if repeat > 1 else "one change each"
    print(f"\ncontrol updates (ms, {what}; from the user's event, on the warm page)")
    print(f"{'app':<20} {'control':<30} {'first change':>13} {'settled':>9}   each (first change)")
    for r in results:
        for c in r.app.controls:
            if c.name not in r.controls:
                print(f"{r.app.title:<20} {c.name:<30} {'—':>13} {'—':>9}")
                continue
            heads, settles = r.controls[c.name]
            each = ", ".join(f"{h:,.0f}" for h in heads)
            print(
                f"{r.app.title:<20} {c.name:<30} {statistics.median(heads):13,.0f} "
                f"{statistics.median(settles):9,.0f}   {each}"
            )
    for r in results:
        if r.failed:
            print(f"{r.app.title}: failed ({r.failed})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--trials", type=int, default=10_000, help="n_trials in the served notebooks (10,000)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="changes of each control (3)")
    ap.add_argument("--quick", action="store_true", help="1,000 trials, one change each")
    ap.add_argument("--apps", nargs="+", choices=list(APPS), default=list(APPS))
    args = ap.parse_args()
    n_trials, repeat = (1000, 1) if args.quick else (args.trials, args.repeat)
    repeat = max(1, min(repeat, 3))

    from playwright.sync_api import sync_playwright

    cpus = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    print(
        f"machine: {cpus} CPUs ({usable} usable), load average "
        f"{os.getloadavg()[0]:.2f} at start (other work on the machine inflates every figure)"
    )
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print(
            "PYTHONDONTWRITEBYTECODE is set: a kernel compiles every module it imports that "
            "has no .pyc yet (the kernel and +import floors include it)"
        )
    base = Path(tempfile.mkdtemp(prefix="simlib-bench-app-"))
    results = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            print(
                f"Chromium {browser.version}, viewport {VIEWPORT['width']}×{VIEWPORT['height']}; "
                f"Voilà per app with an empty SIMLIB_CACHE_DIR; n_trials = {n_trials:,}\n",
                flush=True,
            )
            for key in args.apps:
                results.append(run_app(browser, APPS[key], base / key, n_trials, repeat))
            browser.close()
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        report(results, n_trials, repeat)
    finally:
        if any(r.failed for r in results):
            print(f"logs and screenshots kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
