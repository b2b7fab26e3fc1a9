"""The PDF beside each report: headless Chromium's print-to-PDF, A4, local files only,
written atomically, and a clear note (not a failure) where no browser can run."""

from __future__ import annotations

import re
import threading

import pytest

from simlib.reports.render import PdfPrinter, PdfUnavailable, chromium_path

pytestmark = pytest.mark.skipif(not chromium_path(), reason="no Chromium on this machine")

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>t</title>
<style>@page {{ size: A4; }} body {{ font-family: sans-serif; }}</style></head><body>
<h1>目标研讨会摘要</h1><p>公司目标 157,000.0万元</p>{extra}</body></html>"""


def _pages(pdf: bytes) -> list[tuple[float, float]]:
    return [
        (float(w), float(h))
        for w, h in re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    ]


def test_a_report_prints_to_an_a4_pdf_and_leaves_no_scratch(tmp_path):
    html = tmp_path / "r.html"
    html.write_text(PAGE.format(extra=""), encoding="utf-8")
    printer = PdfPrinter()
    try:
        printer.print_pdf(html, tmp_path / "out" / "r.pdf")
    finally:
        printer.close()
    pdf = (tmp_path / "out" / "r.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-")
    pages = _pages(pdf)
    assert pages and all(abs(w - 595.9) < 2 and abs(h - 842.9) < 2 for w, h in pages), pages
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["r.pdf"]


def test_nothing_is_fetched_from_the_network(tmp_path):
    """A page that refers to a server (here a real one on 127.0.0.1, which counts what it
    is asked) is printed without a single request reaching it."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked = []

    class Count(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    html = tmp_path / "r.html"
    html.write_text(
        PAGE.format(extra=f'<img src="{url}/x.png"><script src="{url}/a.js"></script>'),
        encoding="utf-8",
    )
    printer = PdfPrinter()
    try:
        printer.print_pdf(html, tmp_path / "r.pdf", timeout_s=30)
    finally:
        printer.close()
        server.shutdown()
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF-")
    assert asked == []


def test_the_printer_leaves_the_callers_thread_free_for_playwright(tmp_path):
    """The browser runs in a thread of its own: printing leaves no event loop running in
    the caller's thread (a sync Playwright kept there once made every later one in the
    process fail, "Sync API inside the asyncio loop"), and another thread can start its
    own Playwright while the printer's browser is open."""
    import asyncio

    def loop_running() -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return True

    html = tmp_path / "r.html"
    html.write_text(PAGE.format(extra=""), encoding="utf-8")
    before = loop_running()
    printer = PdfPrinter()
    try:
        printer.print_pdf(html, tmp_path / "r.pdf")
        assert loop_running() == before

        started = []

        def own_playwright():
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                started.append(p.chromium.name)

        t = threading.Thread(target=own_playwright)
        t.start()
        t.join(60)
        assert started == ["chromium"]
    finally:
        printer.close()


def test_no_browser_is_a_note_not_a_failure(tmp_path):
    html = tmp_path / "r.html"
    html.write_text(PAGE.format(extra=""), encoding="utf-8")
    printer = PdfPrinter(executable=str(tmp_path / "no-chromium"))
    with pytest.raises(PdfUnavailable, match="Chromium was not found"):
        printer.print_pdf(html, tmp_path / "r.pdf")
    with pytest.raises(PdfUnavailable):  # said once, remembered
        printer.print_pdf(html, tmp_path / "r.pdf")
    printer.close()
    assert not (tmp_path / "r.pdf").exists()
