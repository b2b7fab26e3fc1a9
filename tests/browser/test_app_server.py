"""``simlib.apps.server``: the Voilà command, the ``app`` subcommand, a port already taken, a
served app stopped by Ctrl-C; and in Chromium, the landing page (the three apps in
zh-CN and English, the data they show, each link opening its app, nothing fetched off
127.0.0.1)."""

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

from simlib.apps.landing import APPS, app_titles, data_label, landing_html, write_template
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
    assert cmd[:4] == [sys.executable, "-m", "simlib.apps.server", str(notebooks_dir())]
    assert "--VoilaConfiguration.template=simlib" in cmd
    assert voila_command(landing=False)[:3] == [sys.executable, "-m", "voila"]
    assert not any("template" in flag for flag in voila_command(landing=False))
    assert not any("preheat" in flag for flag in cmd)
    assert "--VoilaConfiguration.default_pool_size=2" in voila_command(preheat=2)
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
    assert (args.port, args.open, args.preheat) == (DEFAULT_PORT, False, 0)
    args = parser.parse_args(["app", "--port", "9001", "--open"])
    assert (args.port, args.open) == (9001, True)
    args = parser.parse_args(["app", "--data", "crm/", "--mapping", "salesforce", "--preheat", "1"])
    assert (args.data, args.mapping, args.preheat) == ("crm/", "salesforce", 1)
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


# --------------------------------------------------------------------------- landing page

TITLES = {lang: app_titles(lang) for lang in ("en", "zh-CN")}


def test_landing_page_html_in_both_languages():
    for lang, other in (("en", "zh-CN"), ("zh-CN", "en")):
        html = landing_html(lang)
        assert f'<html lang="{lang}">' in html
        for notebook, title in zip(NOTEBOOKS, TITLES[lang], strict=True):
            assert f'href="/voila/render/{notebook}?lang={lang}"' in html
            assert f"<h2>{title}</h2>" in html
        assert f'href="/?lang={other}"' in html
        assert data_label("", "", lang) in html  # the demo company
        for leak in ("http://", "https://", "<script", "Voilà", "ipynb</"):
            assert leak not in html
    assert [a[0] for a in APPS] == list(NOTEBOOKS)


def test_landing_page_names_the_data_not_its_folder_nor_a_password():
    assert data_label("/home/ana/exports/crm_2026.csv", "salesforce", "en") == (
        "crm_2026.csv (column mapping salesforce)"
    )
    assert data_label("/srv/crm/", "/srv/maps/ours.yaml", "zh-CN") == "crm（字段映射 ours）"
    shown = data_label("postgresql://sales:s3cret@db.internal/crm", "salesforce", "en")
    assert "s3cret" not in shown and "db.internal" not in shown and "crm" in shown
    html = landing_html("en", "/x/<b>{% endraw %}{{ 7*7 }}.csv", "demo")
    assert "<b>" not in html and "&lt;b&gt;" in html


def test_template_picks_the_language_from_the_address(tmp_path):
    """The tree page Voilà renders: ``?lang=`` wins, else the company's language; the app
    page is Voilà's own without the CDN stylesheets."""
    import jinja2

    root = write_template(tmp_path, "zh-CN", "/data/<crm>.csv", "demo")
    folder = root / "voila" / "templates" / "simlib"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True)
    tree = env.get_template("tree.html")
    for query, lang in (
        ("lang=en", "en"),
        ("lang=zh-CN", "zh-CN"),
        ("x=1&lang=en", "en"),
        ("", "zh-CN"),
        (None, "zh-CN"),
        ("lang=fr", "zh-CN"),
    ):
        html = tree.render(query=query)
        assert f'<html lang="{lang}">' in html, query
        assert "&lt;crm&gt;.csv" in html and "{%" not in html
    index = (folder / "index.html.j2").read_text()
    assert "cdn.jsdelivr.net" not in index and "notebook_css" in index
    assert '"base_template": "lab"' in (folder / "conf.json").read_text()


def test_voila_runs_through_the_landing_template(voila_server):
    """The session's server started via ``python -m simlib.apps.server`` with the
    ``simlib`` template (a missing template would stop Voilà at once)."""
    import urllib.request

    with urllib.request.urlopen(f"{voila_server.url}?lang=en", timeout=30) as r:
        html = r.read().decode("utf-8")
    assert TITLES["en"][0] in html and "cdn.jsdelivr" not in html


def _no_request_off_localhost(page) -> None:
    page.watch.check()
    assert not page.watch.stubbed, f"a page asked a CDN: {page.watch.stubbed}"


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_landing_page_in_the_browser(voila_server, page, screenshot_dir, lang):
    other = "en" if lang == "zh-CN" else "zh-CN"
    page.goto(f"{voila_server.url}?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").inner_text() == "simlib"
    assert page.locator("a.app h2").all_inner_texts() == TITLES[lang]
    for p in page.locator("a.app p").all_inner_texts():
        assert len(p) > 20
    hrefs = [a.get_attribute("href") for a in page.locator("a.app").all()]
    assert hrefs == [f"/voila/render/{nb}?lang={lang}" for nb in NOTEBOOKS]
    assert data_label("", "", lang) in page.locator(".data").inner_text()
    text = page.locator("body").inner_text()
    for leak in ("Voilà", ".ipynb", "None", "nan", "Traceback"):
        assert leak not in text
    page.screenshot(path=str(screenshot_dir / f"landing-{lang}.png"), full_page=True)
    page.locator("a.switch").click()
    page.wait_for_url(f"**/?lang={other}")
    assert page.locator("a.app h2").all_inner_texts() == TITLES[other]
    _no_request_off_localhost(page)


@pytest.mark.browser
def test_landing_page_default_language_is_the_companys(voila_server, page):
    from simlib.company import default_language

    page.goto(voila_server.url)
    lang = default_language()
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("a.app h2").all_inner_texts() == TITLES[lang]
    _no_request_off_localhost(page)


@pytest.mark.browser
def test_every_landing_link_opens_its_app(voila_server, page, screenshot_dir):
    """Each card opens its app (a kernel renders the notebook: widgets, no error), in
    the language of the landing page, with nothing fetched off 127.0.0.1."""
    for notebook, lang in zip(NOTEBOOKS, ("zh-CN", "en", "zh-CN", "en"), strict=True):
        page.goto(f"{voila_server.url}?lang={lang}")
        page.locator(f'a.app[data-notebook="{notebook}"]').click()
        page.wait_for_url(f"**/voila/render/{notebook}?lang={lang}", timeout=voila_server.render_ms)
        page.locator("#rendered_cells").wait_for(state="visible", timeout=voila_server.render_ms)
        page.locator(".jupyter-widgets").first.wait_for(timeout=voila_server.render_ms)
        assert "Traceback" not in page.locator("body").inner_text()
        stem = notebook.removesuffix(".ipynb")
        page.screenshot(path=str(screenshot_dir / f"from-landing-{stem}-{lang}.png"))
    _no_request_off_localhost(page)


@pytest.mark.browser
def test_landing_page_names_the_users_data(tmp_path, page, screenshot_dir):
    """``simlib app --data`` puts the export in the server's environment: the landing
    page names its file (not its folder) and its mapping."""
    from tests.browser.conftest import free_port, start_server

    port = free_port()
    export = ROOT / "tests" / "fixtures" / "tiny"
    env = {**os.environ, "SIMLIB_APP_SOURCE": str(export), "SIMLIB_APP_MAPPING": "demo"}
    server = start_server(
        "voila-data", voila_command(port), port, tmp_path / "voila.log", notebooks_dir(), env=env
    )
    try:
        shown_as = {"en": "tiny (column mapping demo)", "zh-CN": "tiny（字段映射 demo）"}
        for lang, shown in shown_as.items():
            page.goto(f"{server.url}?lang={lang}")
            text = page.locator(".data").inner_text()
            assert shown in text and str(export.parent) not in text
        page.screenshot(path=str(screenshot_dir / "landing-own-data-zh-CN.png"), full_page=True)
        _no_request_off_localhost(page)
    finally:
        server.stop()
