"""A widget notebook run the way an analyst runs it: opened in JupyterLab, Run All Cells."""

from __future__ import annotations

import re
import time

import nbformat
import pytest

pytestmark = pytest.mark.browser

expect = pytest.importorskip("playwright.sync_api").expect

NOTEBOOK = "commission_whatif.ipynb"
TITLES = {"zh-CN": "提成方案模拟实验室", "en": "Commission what-if lab"}

#: True once the notebook's kernel is up: the status bar reads "Python 3 (ipykernel) | Idle"
#: (the toolbar's execution indicator says "idle" before any kernel exists).
KERNEL_IDLE = r"""() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]
  .some(e => /\| Idle$/.test(e.textContent.trim()) && !/No Kernel/.test(e.textContent))"""

#: True in the page once every code cell shows an execution count ("[3]:", not "[*]:").
ALL_RAN = r"""() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
    .map(e => e.textContent.trim());
  return prompts.length > 0 && prompts.every(t => /^\[\d+\]:$/.test(t));
}"""


def _saved(page, path, timeout: float = 30.0):
    """The notebook on disk once JupyterLab has saved it with every code cell executed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            nb = nbformat.read(path, as_version=4)
            if all(c.execution_count for c in nb.cells if c.cell_type == "code"):
                return nb
        except Exception:  # noqa: BLE001 - half-written file: read again
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{path} was not saved with every cell executed within {timeout:.0f} s")
        page.wait_for_timeout(250)  # not time.sleep: Playwright must keep serving the page


def test_commission_notebook_runs_in_jupyterlab(lab_server, page, screenshot_dir):
    from simlib.apps.commission_lab import plan_label
    from simlib.company import default_language
    from simlib.plans import load_plan

    page.goto(f"{lab_server.url}lab/tree/{NOTEBOOK}", timeout=lab_server.render_ms)
    page.locator(".jp-NotebookPanel .jp-Notebook").wait_for(timeout=lab_server.render_ms)
    expect(page.locator(".jp-NotebookPanel .jp-CodeCell").first).to_be_visible()
    page.wait_for_function(KERNEL_IDLE, timeout=lab_server.render_ms)

    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    widget = page.locator(".jp-NotebookPanel .jp-OutputArea .simlib-commission-lab")
    widget.wait_for(timeout=lab_server.render_ms)
    page.wait_for_function(ALL_RAN, timeout=lab_server.render_ms)

    # the widget is live: another plan, chosen by the name the dropdown shows (the
    # company's language: the notebook's lang is "" and JupyterLab has no ?lang=), gives
    # other numbers
    lang = default_language()
    expect(widget.locator(".simlib-lab-title h2")).to_have_text(TITLES[lang])
    cost = widget.locator(".simlib-cost-of-sales b")
    before = cost.inner_text()
    assert re.fullmatch(r"\d+\.\d\d%", before), before
    plans = widget.locator(".simlib-plan select")
    shown = plans.locator("option").all_inner_texts()
    assert "annual_ytd" not in shown and "tiered_cn" not in shown, shown  # names, not ids
    annual = plan_label(load_plan("annual_ytd"), "annual_ytd", lang)
    assert annual in shown, shown
    plans.select_option(label=annual)
    expect(cost).not_to_have_text(before)
    expect(cost).to_have_text(re.compile(r"\d+\.\d\d%"))

    # no cell shows an error (JupyterLab renders errors as stderr output with a traceback)
    stderr = page.locator(
        ".jp-NotebookPanel .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    )
    texts = stderr.all_inner_texts()
    assert not [t for t in texts if "Traceback" in t or "Error" in t], texts

    # and the saved notebook agrees: every code cell ran, none raised
    page.get_by_role("menuitem", name="File", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Save Notebook\b")).first.click()
    nb = _saved(page, lab_server.root / NOTEBOOK)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, [f"{o.ename}: {o.evalue}" for o in errors]
    mimes = {m for c in nb.cells for o in c.get("outputs", []) for m in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in mimes

    path = screenshot_dir / "jupyterlab_commission_whatif.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    page.watch.check()
