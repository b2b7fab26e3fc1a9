"""``simlib app``: the widget notebooks as a web app, served by Voilà.

The three apps in ``notebooks/`` (the Q4 target workshop, the commission what-if lab
and the tracking dashboard) are served on ``127.0.0.1`` with their code hidden:
``http://127.0.0.1:8866/`` lists them (each opens in a new tab), and
``/voila/render/<name>.ipynb`` runs one in a fresh kernel per visit, from the
notebook's parameters cell (the shipped 10,000 trials take about 25 s on two cores).

Where things are found: the kernel starts in the notebook's folder (Voilà's rule), but
nothing in the notebooks depends on it: :mod:`simlib` finds ``params/`` beside the
package (or at ``$SIMLIB_PARAMS``) and the demo company is generated in memory. So a
copy of the notebooks anywhere (e.g. with a smaller ``n_trials`` in the parameters
cell, as the browser tests do) is served with ``voila_command(root=that_folder)``. The
target workshop's *Export* buttons write to ``exports/`` under the kernel's folder.

Examples
--------
On the command line::

    simlib app                 # http://127.0.0.1:8866/ until Ctrl-C
    simlib app --port 9000 --open

From Python::

    >>> from simlib.apps.server import voila_command
    >>> voila_command(9000)[1:3]
    ['-m', 'voila']
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "AppError",
    "HOST",
    "DEFAULT_PORT",
    "NOTEBOOKS",
    "notebooks_dir",
    "app_url",
    "voila_command",
    "port_is_free",
    "serve",
]

#: The app listens on this address only (never on the network).


class AppError(Exception):
    """The app cannot start as asked (a bad or busy port); the message says why."""


HOST = "127.0.0.1"
DEFAULT_PORT = 8866

#: The widget notebooks the app offers (file names in ``notebooks/``).
NOTEBOOKS = ("q4_target_workshop.ipynb", "commission_whatif.ipynb", "tracking_dashboard.ipynb")

#: How long Voilà may take to stop its kernels after Ctrl-C before it is killed.
STOP_SECONDS = 20

#: A kernel with no page connected is shut down after this long idle. Voilà 0.5 shuts
#: a visitor's kernel down when the page closes only if the browser holds its _xsrf
#: cookie, which the notebook list sets (voila-dashboards/voila#1458): a page opened by
#: a direct link, a crashed tab or a laptop gone to sleep leaves its kernel behind.
#: A page left open keeps its kernel however long it sits.
CULL_SECONDS = 600


def notebooks_dir() -> Path:
    """The ``notebooks/`` folder of this checkout."""
    return Path(__file__).resolve().parents[2] / "notebooks"


def app_url(port: int = DEFAULT_PORT, notebook: str | None = None) -> str:
    """The app's address: the list of notebooks, or one notebook rendered."""
    base = f"http://{HOST}:{int(port)}/"
    return base + f"voila/render/{notebook}" if notebook else base


def _check_port(port) -> int:
    try:
        p = int(port)
    except (TypeError, ValueError):
        p = -1
    if not 0 < p < 65536:
        raise ValueError(f"port must be a whole number from 1 to 65535; got {port!r}")
    return p


def voila_command(
    port: int = DEFAULT_PORT,
    *,
    root: Path | str | None = None,
    open_browser: bool = False,
    extra: Sequence[str] = (),
) -> list[str]:
    """The argv that serves the notebooks in ``root`` (default ``notebooks/``) with Voilà.

    Voilà's defaults that matter are set explicitly: code cells are stripped from the
    page, tracebacks are not sent to the browser, the server listens on
    :data:`HOST` only and on ``port`` only (Voilà would otherwise silently move to
    another port when it is taken). Kernels idle with no page connected for
    :data:`CULL_SECONDS` are shut down. The list of notebooks is Voilà's plain HTML
    page (its JupyterLab-based one logs errors in the browser in Voilà 0.5).
    ``extra`` is appended as given (e.g. ``["--Voila.log_level=INFO"]``).

    Raises
    ------
    ValueError
        ``port`` is not a valid TCP port, or ``root`` is not a folder.
    """
    port = _check_port(port)
    folder = Path(root) if root is not None else notebooks_dir()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of notebooks")
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(folder.resolve()),
        f"--port={port}",
        f"--Voila.ip={HOST}",
        "--Voila.port_retries=0",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.classic_tree=True",
        f"--MappingKernelManager.cull_idle_timeout={CULL_SECONDS}",
        "--MappingKernelManager.cull_interval=60",
    ]
    cmd.append("--Voila.open_browser=True" if open_browser else "--no-browser")
    cmd.extend(str(x) for x in extra)
    return cmd


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when a server could listen on ``host:port`` now (as Voilà binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado does
        try:
            s.bind((host, int(port)))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def _stop(proc: subprocess.Popen) -> None:
    """Ask Voilà to stop (on SIGTERM it shuts its kernels down), then insist."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_SECONDS)
        return
    except (subprocess.TimeoutExpired, KeyboardInterrupt):  # stuck, or a second Ctrl-C
        pass
    proc.kill()
    proc.wait()


def serve(
    port: int = DEFAULT_PORT, *, open_browser: bool = False, root: Path | str | None = None
) -> int:
    """Serve the app until Ctrl-C; returns the exit code (0 after Ctrl-C).

    Prints the address first. Voilà runs in its own session; Ctrl-C (or SIGTERM or
    SIGHUP sent to this process) is passed on to it once, as SIGTERM, and it shuts
    its kernels down before this returns.

    Raises
    ------
    AppError
        The port is not valid or already in use.
    """
    try:
        cmd = voila_command(port, root=root, open_browser=open_browser)
    except ValueError as e:
        raise AppError(str(e)) from None
    port = int(port)
    if not port_is_free(port):
        raise AppError(
            f"port {port} on {HOST} is already in use (another simlib app?); "
            f"stop it or choose another port with --port"
        )
    print(f"simlib app: {app_url(port)}  (Ctrl-C to stop)", flush=True)

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        try:
            previous[sig] = signal.signal(sig, interrupt)
        except ValueError:  # not the main thread: leave the defaults
            pass
    proc = subprocess.Popen(cmd, start_new_session=os.name == "posix")
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        _stop(proc)
        print("simlib app: stopped", flush=True)
        code = 0
    finally:
        _stop(proc)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code and code != -signal.SIGTERM:
        print(f"simlib app: Voilà stopped with exit status {code}", file=sys.stderr)
        return code
    return 0
