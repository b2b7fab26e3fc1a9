"""``simlib app``: the widget notebooks as a web app, served by Voilà.

The four apps in ``notebooks/`` (the Q4 target workshop, the commission what-if lab,
the tracking dashboard and the proposal form) are served on ``127.0.0.1`` with their code hidden:
``http://127.0.0.1:8866/`` is a landing page naming them and what each is for, in
zh-CN or English (``?lang=en``, ``?lang=zh-CN``; see :mod:`simlib.apps.landing`), and
``/voila/render/<name>.ipynb?lang=..`` runs one in a fresh kernel per visit, from the
notebook's parameters cell (the shipped 10,000 trials take about 25 s on two cores the
first time; the slow results are then kept on disk, see
:func:`simlib.apps.session.cached_for`).

Which data: ``serve(source=..., mapping=...)`` (``simlib app --data PATH --mapping M``)
puts the export in every kernel's environment (:data:`~simlib.apps.session.SOURCE_ENV`,
:data:`~simlib.apps.session.MAPPING_ENV`); without it the apps show the demo company.
Voilà is started through this module (``python -m simlib.apps.server``), which writes
the landing page template to a temporary folder, puts it on ``JUPYTER_PATH`` and runs
Voilà in the same process.

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
    ['-m', 'simlib.apps.server']
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
    "main",
]


class AppError(Exception):
    """The app cannot start as asked (a bad or busy port); the message says why."""


#: The app listens on this address only (never on the network).
HOST = "127.0.0.1"
DEFAULT_PORT = 8866

#: The widget notebooks the app offers (file names in ``notebooks/``).
NOTEBOOKS = (
    "q4_target_workshop.ipynb",
    "commission_whatif.ipynb",
    "tracking_dashboard.ipynb",
    "proposal_form.ipynb",
)

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
    landing: bool = True,
    preheat: int = 0,
) -> list[str]:
    """The argv that serves the notebooks in ``root`` (default ``notebooks/``) with Voilà.

    Voilà's defaults that matter are set explicitly: code cells are stripped from the
    page, tracebacks are not sent to the browser, the server listens on
    :data:`HOST` only and on ``port`` only (Voilà would otherwise silently move to
    another port when it is taken). Kernels idle with no page connected for
    :data:`CULL_SECONDS` are shut down. With ``landing`` (the default) Voilà runs
    through :func:`main`, whose template shows the landing page at ``/`` and app pages
    that fetch nothing from a CDN; without it, Voilà's plain list of notebooks.
    ``preheat`` > 0 keeps that many kernels per notebook started and rendered ahead of
    a visit (Voilà's ``preheat_kernel``; each costs a full first computation and its
    memory). ``extra`` is appended as given (e.g. ``["--Voila.log_level=INFO"]``).

    Raises
    ------
    ValueError
        ``port`` is not a valid TCP port, or ``root`` is not a folder.
    """
    port = _check_port(port)
    folder = Path(root) if root is not None else notebooks_dir()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder of notebooks")
    runner = "simlib.apps.server" if landing else "voila"
    cmd = [
        sys.executable,
        "-m",
        runner,
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
    if landing:
        from simlib.apps.landing import TEMPLATE

        cmd.append(f"--VoilaConfiguration.template={TEMPLATE}")
    if preheat:
        cmd += [
            "--VoilaConfiguration.preheat_kernel=True",
            f"--VoilaConfiguration.default_pool_size={int(preheat)}",
        ]
    cmd.append("--Voila.open_browser=True" if open_browser else "--no-browser")
    cmd.extend(str(x) for x in extra)
    return cmd


def main(argv: Sequence[str] | None = None) -> int:
    """Run Voilà with the ``simlib`` template (``python -m simlib.apps.server ARGS``).

    Writes the template (:func:`simlib.apps.landing.write_template`: the landing page in
    the company's language, naming the data in :data:`~simlib.apps.session.SOURCE_ENV`)
    to a temporary folder, puts it first on ``JUPYTER_PATH`` and runs Voilà with
    ``argv`` in this process; the folder is removed when Voilà stops.
    """
    import shutil
    import tempfile

    from simlib.apps.landing import write_template
    from simlib.apps.session import app_source
    from simlib.company import default_language

    argv = list(sys.argv[1:] if argv is None else argv)
    tmp = tempfile.mkdtemp(prefix="simlib-voila-")
    try:
        source, mapping = app_source()
        write_template(tmp, default_language(), source, mapping)
        paths = [tmp, os.environ.get("JUPYTER_PATH", "")]
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)
        from voila.app import Voila

        Voila.launch_instance(argv=argv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


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
    port: int = DEFAULT_PORT,
    *,
    open_browser: bool = False,
    root: Path | str | None = None,
    source: str = "",
    mapping: str = "",
    preheat: int = 0,
) -> int:
    """Serve the app until Ctrl-C; returns the exit code (0 after Ctrl-C).

    Prints the address first. ``source`` and ``mapping`` (checked by the caller, e.g.
    ``simlib app --data``) go to every app kernel as
    :data:`~simlib.apps.session.SOURCE_ENV` and :data:`~simlib.apps.session.MAPPING_ENV`;
    without them the apps open what this process's environment names, else the demo
    company. Voilà runs in its own session; Ctrl-C
    (or SIGTERM or SIGHUP sent to this process) is passed on to it once, as SIGTERM,
    and it shuts its kernels down before this returns.

    Raises
    ------
    AppError
        The port is not valid or already in use.
    """
    from simlib.apps.session import MAPPING_ENV, SOURCE_ENV

    try:
        cmd = voila_command(port, root=root, open_browser=open_browser, preheat=preheat)
    except ValueError as e:
        raise AppError(str(e)) from None
    port = int(port)
    if not port_is_free(port):
        raise AppError(
            f"port {port} on {HOST} is already in use (another simlib app?); "
            f"stop it or choose another port with --port"
        )
    env = dict(os.environ)
    if source:
        env[SOURCE_ENV], env[MAPPING_ENV] = str(source), str(mapping)
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
    proc = subprocess.Popen(cmd, start_new_session=os.name == "posix", env=env)
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


if __name__ == "__main__":
    sys.exit(main())
