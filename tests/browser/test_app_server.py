"""``simlib.apps.server`` without a browser: the Voilà command, the ``app`` subcommand, a port
already taken, and a served app stopped by Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simlib.apps.server import (
    DEFAULT_PORT,
    HOST,
    NOTEBOOKS,
    AppError,
    app_url,
    notebooks_dir,
    port_is_free,
    serve,
    voila_command,
)
from simlib.cli.app import add_parser

ROOT = Path(__file__).resolve().parents[2]


def test_the_apps_are_the_widget_notebooks():
    assert notebooks_dir() == ROOT / "notebooks"
    for name in NOTEBOOKS:
        assert (notebooks_dir() / name).is_file(), name


def test_voila_command_serves_the_notebooks_folder_on_localhost_only():
    cmd = voila_command()
    assert cmd[:4] == [sys.executable, "-m", "voila", str(notebooks_dir())]
    for flag in (
        f"--port={DEFAULT_PORT}",
        f"--Voila.ip={HOST}",
        "--Voila.port_retries=0",
        "--no-browser",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
    ):
        assert flag in cmd
    assert HOST == "127.0.0.1"


def test_voila_command_options(tmp_path):
    cmd = voila_command(9123, root=tmp_path, open_browser=True, extra=["--Voila.log_level=INFO"])
    assert cmd[3] == str(tmp_path.resolve())
    assert "--port=9123" in cmd and "--no-browser" not in cmd and "--Voila.open_browser=True" in cmd
    assert cmd[-1] == "--Voila.log_level=INFO"
    for bad in (0, 70000, "http"):
        with pytest.raises(ValueError, match="port"):
            voila_command(bad)
    with pytest.raises(ValueError, match="not a folder"):
        voila_command(root=tmp_path / "missing")


def test_voila_knows_every_flag(voila_server):
    """Voilà only warns about a misspelt ``--Class.option``: the session's server, started
    with :func:`voila_command`, must not have."""
    import time

    # The port opens a moment before Voilà writes its banner: give the log a few seconds.
    deadline = time.monotonic() + 20
    log = voila_server.log.read_text(errors="replace")
    while "Voilà is running at" not in log and time.monotonic() < deadline:
        time.sleep(0.2)
        log = voila_server.log.read_text(errors="replace")
    assert "Voilà is running at" in log, log
    assert "not recognized" not in log, log


def test_app_subcommand():
    parser = argparse.ArgumentParser(prog="simlib")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["app"])
    assert (args.port, args.open) == (DEFAULT_PORT, False)
    args = parser.parse_args(["app", "--port", "9001", "--open"])
    assert (args.port, args.open) == (9001, True)
    assert args.func.__name__ == "cmd_app"
    with pytest.raises(SystemExit):
        parser.parse_args(["app", "--port", "many"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_a_port_in_use_is_a_user_error(capsys):
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen()
        port = s.getsockname()[1]
        assert not port_is_free(port)
        with pytest.raises(AppError, match=f"port {port} on 127.0.0.1 is already in use"):
            serve(port)
    assert "http" not in capsys.readouterr().out  # nothing started, no address printed
    with pytest.raises(AppError, match="port"):
        serve(123456)


def test_serve_until_ctrl_c(tmp_path):
    """``serve`` prints the address, serves, and on Ctrl-C stops Voilà and returns 0."""
    port = free_port()
    # as in a terminal, whatever SIGINT disposition this test runner has (a background
    # job of a non-interactive shell ignores it)
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        f"from simlib.apps.server import serve; sys.exit(serve({port}, root={str(tmp_path)!r}))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        first = proc.stdout.readline()
        assert app_url(port) in first, first
        deadline = time.monotonic() + 60
        while port_is_free(port):
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "Voilà did not start listening"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        out, _ = proc.communicate(timeout=40)
        assert proc.returncode == 0, out
        assert "simlib app: stopped" in out
        assert port_is_free(port)  # Voilà is gone too
    finally:
        if proc.poll() is None:
            proc.terminate()  # serve passes it on to Voilà
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
