"""Real-browser tests: the widget notebooks served by :mod:`simlib.apps.server` (Voilà) and opened
in JupyterLab, driven by Playwright with Debian's Chromium.

One Voilà server (and one JupyterLab server, for its test) runs per session, on a free
port of 127.0.0.1, serving copies of the notebooks whose parameters cell asks for
:data:`N_TRIALS` Monte Carlo trials instead of 10,000. Each server's log goes to a file,
added to the report of a failing test. Screenshots go to ``$SIMLIB_SCREENSHOTS`` or,
by default, ``screenshots/`` under pytest's base temporary folder (printed at the end).

The tests are skipped only when ``/usr/bin/chromium`` (or ``$SIMLIB_CHROMIUM``) or the
playwright package is missing; ``playwright install`` is never run.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = Path(os.environ.get("SIMLIB_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: Monte Carlo trials in the served copies (the notebooks ship with 10,000).
N_TRIALS = 400
#: A notebook's first render: a fresh kernel imports simlib, builds the demo company and
#: simulates (15-25 s on a 2-core machine).
RENDER_MS = 150_000
#: One recompute after a control changes (tens of milliseconds to a few seconds).
UPDATE_MS = 30_000
SERVER_START_S = 60

#: Requests to other hosts answered with an empty stylesheet: Voilà's page templates
#: link Font Awesome (the icons of ipywidgets buttons; v4 on the tree page) from
#: cdn.jsdelivr.net. Offline the fetch fails with a console error; online it would make
#: the tests depend on the network. Any other request off 127.0.0.1 is refused and
#: fails the test.
STUBBED_EXTERNAL = re.compile(
    r"^https://cdn\.jsdelivr\.net/npm/"
    r"(@fortawesome/fontawesome-free|font-awesome)@[^/]+/css/[\w.-]+\.css$"
)


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small_copy(names, dest: Path, n_trials: int = N_TRIALS) -> Path:
    """Copies of ``notebooks/NAME`` in ``dest`` whose parameters cell sets ``n_trials``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(cells) == 1, f"{name}: expected one cell tagged 'parameters'"
        src, n = re.subn(r"^n_trials = \d+", f"n_trials = {n_trials}", cells[0].source, flags=re.M)
        if "n_trials" in cells[0].source:
            assert n == 1, f"{name}: expected one line 'n_trials = N' in the parameters cell"
        cells[0].source = src
        nbformat.write(nb, dest / name)
    return dest


def _log_tail(path: Path, limit: int = 20_000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"(no log: {e})"
    return text if len(text) <= limit else "...\n" + text[-limit:]


@dataclass
class Server:
    """A server subprocess in its own session, its port and its log file."""

    name: str
    proc: subprocess.Popen
    port: int
    log: Path
    root: Path | None = None
    #: Monte Carlo trials in the notebooks it serves; how long a first render may take
    n_trials: int = N_TRIALS
    render_ms: int = RENDER_MS

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def wait_ready(self, timeout: float = SERVER_START_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"{self.name} exited with status {self.proc.returncode} before listening:\n"
                    + _log_tail(self.log)
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail(
            f"{self.name} not listening on port {self.port} after {timeout:.0f} s:\n"
            + _log_tail(self.log)
        )

    def stop(self) -> None:
        """SIGTERM (both servers then shut their kernels down), then kill the group."""
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


def start_server(
    name: str, cmd: list[str], port: int, log: Path, root: Path, env=None, cwd=None
) -> Server:
    env = dict(os.environ if env is None else env)
    env.pop("MPLBACKEND", None)  # inline figures in the notebooks, as a user sees them
    fh = open(log, "wb")
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=cwd,
        )
    finally:
        fh.close()
    server = Server(name, proc, port, log, root)
    server.wait_ready()
    return server


# --------------------------------------------------------------------------- servers


_SERVERS: dict[str, Server] = {}


@pytest.fixture(scope="session")
def voila_server(tmp_path_factory):
    """``simlib.apps.server.voila_command`` serving small-trial copies of the three widget
    notebooks (landing page at ``/``), on the demo company, with an empty disk cache."""
    from simlib.apps.server import NOTEBOOKS as APP_NOTEBOOKS
    from simlib.apps.server import voila_command

    base = tmp_path_factory.mktemp("voila")
    root = small_copy(APP_NOTEBOOKS, base / "notebooks")
    port = free_port()
    # the apps' disk cache starts empty for each test session (never ~/.cache/simlib)
    env = {**os.environ, "SIMLIB_CACHE_DIR": str(base / "cache")}
    for name in ("SIMLIB_APP_SOURCE", "SIMLIB_APP_MAPPING"):  # the demo company
        env.pop(name, None)
    server = start_server(
        "voila",
        voila_command(port, root=root, extra=["--Voila.log_level=INFO"]),
        port,
        base / "voila.log",
        root,
        env=env,
    )
    _SERVERS["voila"] = server
    yield server
    server.stop()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """JupyterLab on a small-trial copy of the commission notebook, with its own config,
    data and runtime folders (nothing read from or written to ~/.jupyter)."""
    base = tmp_path_factory.mktemp("jupyterlab")
    root = small_copy(["commission_whatif.ipynb"], base / "root")
    cfg = base / "config"
    # no "would you like news?" prompt over the notebook
    settings = cfg / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(cfg),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
    }
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--LabApp.extension_manager=readonly",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    server = start_server("jupyterlab", cmd, port, base / "jupyterlab.log", root, env=env, cwd=root)
    _SERVERS["jupyterlab"] = server
    yield server
    server.stop()


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set SIMLIB_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "playwright is not installed (pip install playwright; no browser download needed)"
        )
    from playwright.sync_api import expect

    expect.set_options(timeout=UPDATE_MS)  # a recompute, not a render
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    env = os.environ.get("SIMLIB_SCREENSHOTS")
    d = Path(env) if env else tmp_path_factory.getbasetemp() / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    _SCREENSHOTS.append(d)
    return d


_SCREENSHOTS: list[Path] = []


@dataclass
class Watch:
    """What a page reported: console errors, uncaught exceptions, requests off 127.0.0.1."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    #: requests answered by the stub of :data:`STUBBED_EXTERNAL` (the page asked a CDN)
    stubbed: list[str] = field(default_factory=list)

    def check(self) -> None:
        """No console error and no request off 127.0.0.1. The one error ignored is the
        404 of ``/favicon.ico``, which the browser asks for on its own and Voilà's
        notebook list does not serve; it says nothing about the app."""
        assert not self.external, f"requests to other hosts: {self.external}"
        assert not self.errors, "errors in the browser console:\n" + "\n".join(self.errors)


#: URLs off 127.0.0.1, matched by Playwright itself (a Python predicate would hold every
#: request of the page until this process next calls Playwright).
EXTERNAL = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])https?://")


def _route(watch: Watch):
    def handle(route):
        url = route.request.url
        if STUBBED_EXTERNAL.match(url):
            watch.stubbed.append(url)
            return route.fulfill(
                status=200, content_type="text/css", body="/* stubbed by the tests */"
            )
        watch.external.append(url)
        return route.abort()

    return handle


#: The screen the apps are judged on (issue 12: a projector or a laptop, 1440×900).
VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture
def page(browser, request, screenshot_dir):
    """A fresh page (own context) whose console errors and page errors are collected in
    ``page.watch``; a screenshot is saved when the test fails. Leaving the page fires
    ``beforeunload``, on which Voilà shuts the page's kernel down."""
    watch = Watch()
    context = browser.new_context(viewport=VIEWPORT)
    context.route(EXTERNAL, _route(watch))
    pg = context.new_page()
    pg.set_default_timeout(UPDATE_MS)

    def on_console(msg):
        url = msg.location.get("url", "")
        text = f"{msg.type}: {msg.text} ({url})"
        if msg.type == "error" and urlparse(url).path == "/favicon.ico" and "404" in msg.text:
            watch.ignored.append(text)
        elif msg.type == "error":
            watch.errors.append(text)
        elif msg.type == "warning":
            watch.warnings.append(text)

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
    pg.watch = watch
    yield pg
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        try:
            path = screenshot_dir / f"FAILED-{request.node.name}.png"
            pg.screenshot(path=str(path))
            print(f"screenshot of the failure: {path}")
        except Exception as e:  # noqa: BLE001 - a failed screenshot must not hide the failure
            print(f"no screenshot: {e}")
    try:
        pg.goto("about:blank", timeout=10_000)  # beforeunload: Voilà shuts the kernel down
    except Exception:  # noqa: BLE001
        pass
    context.close()


# --------------------------------------------------------------------------- reporting


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)
    if rep.failed:
        for key in ("voila_server", "lab_server"):
            if key in getattr(item, "fixturenames", ()):
                server = _SERVERS.get("voila" if key == "voila_server" else "jupyterlab")
                if server is not None:
                    rep.sections.append(
                        (f"{server.name} log ({server.log})", _log_tail(server.log))
                    )


def pytest_terminal_summary(terminalreporter):
    for d in _SCREENSHOTS:
        shots = sorted(d.glob("*.png"))
        if shots:
            terminalreporter.write_line(f"browser screenshots ({len(shots)}): {d}")
