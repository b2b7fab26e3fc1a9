"""The demo company's whole report pack, rendered as the main job renders it.

Every rep's pack is scanned for other reps' names, ids and payouts (SPEC R20); team
reviews for reps of other teams; the index links every document.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from simlib.reports.pack import render_pack
from simlib.reports.render import output_text

LANG = "zh-CN"  # the demo company's language, as `simlib demo` renders it
MONTH = "2026-10"


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    out = tmp_path_factory.mktemp("pack")
    batch, index = render_pack(out, lang=LANG, n_trials=400, workers=2, progress=False)
    return out, batch, index


@pytest.fixture(scope="module")
def people():
    from simlib.views.team_review import load_facts

    f = load_facts()
    return f, f.reps.set_index("rep_id")


def _document_text(out: Path, name: str) -> str:
    """What a reader of the document can see: the HTML and the executed notebook's outputs."""
    page = (out / f"{name}.html").read_text(encoding="utf-8")
    text = [html.unescape(_IMAGES.sub("", page))]
    text.append(output_text(out / f"{name}.ipynb"))  # pixels: see _figures
    return "\n".join(text)


def _figures(out: Path, name: str) -> int:
    nb = json.loads((out / f"{name}.ipynb").read_text(encoding="utf-8"))
    return sum(
        1
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if any(m.startswith("image/") for m in o.get("data", {}))
    )


_IMAGES = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+")


def test_every_document_rendered_and_the_index_links_them(pack):
    out, batch, index = pack
    assert batch.ok, batch.summary()
    names = [r.name for r in batch.results]
    assert sum(n.startswith("director/") for n in names) == 3
    assert sum(n.startswith("teams/") for n in names) == 18  # 9 teams × weekly + monthly
    assert sum(n.startswith("reps/") for n in names) == 60  # every active rep
    assert sum(n.startswith("statements/") for n in names) == 60  # and their statement
    doc = index.read_text(encoding="utf-8")
    hrefs = re.findall(r'href="([^"]+\.html)"', doc)
    # every document once; each person's own index (people/<id>/index.html) beside them
    people = [h for h in hrefs if h.startswith("people/")]
    assert sorted(h for h in hrefs if h not in people) == sorted(f"{n}.html" for n in names)
    assert people and all((out / h).exists() for h in hrefs)
    manifest = json.loads(batch.manifest.read_text(encoding="utf-8"))
    assert manifest["audience"]["reps/S003/review_2026-10"] == "rep:S003"
    assert manifest["audience"]["teams/T-SH/weekly_2026-11-20"] == "manager:T-SH"
    assert len(manifest["data_fingerprint"]) == 64 and manifest["ok"] == len(names)


def _money(cents: int) -> str:
    from simlib.views.commission_summary import money_text

    return money_text(cents)


def own_statement_cents(rep_id: str, period: str) -> set[int]:
    """Every amount on ``rep_id``'s own statement of ``period`` (lines and payable)."""
    from simlib.data import load_demo
    from simlib.plans import load_plan
    from simlib.plans.from_data import statements_for_data

    global _STATEMENTS
    if _STATEMENTS is None:
        _STATEMENTS = statements_for_data(load_demo(), load_plan("tiered_cn"))
    st = _STATEMENTS.get(rep_id, period)
    return {int(x.cents) for x in st.lines} | {int(st.payable_cents)}


_STATEMENTS = None


def test_no_rep_pack_shows_another_reps_name_id_or_pay(pack, people):
    from simlib.views.commission_summary import rep_pay

    out, batch, _ = pack
    f, reps = people
    sales = reps[reps["role"] == "rep"]
    # the rep's pack and the rep's statement: whatever reaches one rep
    packs = [r for r in batch.results if r.name.startswith(("reps/", "statements/"))]
    pays = {
        r.parameters["rep_id"]: rep_pay(f, r.parameters["rep_id"], MONTH, "tiered_cn", lang=LANG)
        for r in packs
    }
    for r in packs:
        me = r.parameters["rep_id"]
        text = _document_text(out, r.name)
        mine = pays[me]
        if r.name.startswith("reps/"):  # the month's pay (a statement is the quarter's)
            assert _money(mine.payable_cents) in text, f"{me}: own pay missing"
        # a figure's labels cannot be searched as text: a rep pack has none (a statement's
        # one chart is the rep's own payout curve, drawn from their plan and result alone)
        if r.name.startswith("reps/"):
            assert _figures(out, r.name) == 0, f"{me}'s pack has a figure; check its labels"
        else:
            assert _figures(out, r.name) <= 1, f"{me}'s statement has more than its own chart"
        allowed = {mine.payable_cents, mine.team_total_cents, mine.team_average_cents, 0}
        if r.name.startswith("statements/"):
            # a statement's own line arithmetic may equal someone's pay by chance
            # (460,200 × 2% = 9,204.00): the rep's own figures are not another's
            allowed |= own_statement_cents(me, r.parameters["period"])
        for other, row in sales.iterrows():
            if other == me:
                continue
            assert not re.search(rf"\b{other}\b", text), f"{me}'s pack names {other}"
            for n in (row["name"], row["name_zh"]):
                if isinstance(n, str) and n:
                    assert n not in text, f"{me}'s pack shows {other}'s name {n!r}"
            theirs = pays.get(other)
            if theirs is not None and theirs.payable_cents not in allowed:
                assert _money(theirs.payable_cents) not in text, f"{me}'s pack shows {other}'s pay"


def test_team_reviews_show_only_their_team(pack, people):
    out, batch, _ = pack
    _, reps = people
    for r in batch.results:
        if not r.name.startswith("teams/"):
            continue
        team = r.parameters["team"]
        text = _document_text(out, r.name)
        outsiders = reps[(reps["role"] == "rep") & (reps["team_id"] != team)]
        for other, row in outsiders.iterrows():
            assert not re.search(rf"\b{other}\b", text), f"{r.name} shows {other} of another team"
            assert row["name"] not in text and row["name_zh"] not in text, f"{r.name} names {other}"


def test_the_director_sees_everyone(pack, people):
    out, batch, _ = pack
    _, reps = people
    summary = next(r for r in batch.results if r.name.startswith("director/commission_summary"))
    text = _document_text(out, summary.name)
    active = [x for x in reps.index if x.startswith("S") and reps.loc[x, "role"] == "rep"]
    name = "name_zh" if LANG == "zh-CN" else "name"
    shown = {x for x in active if reps.loc[x, name] in text}  # by name: a page shows no ids
    assert len(shown) >= 0.9 * len(
        active
    )  # every rep paid in the quarter (new hires may be absent)
    assert not {x for x in active if re.search(rf"\b{x}\b", text)}


def test_index_escapes_names(tmp_path):
    from simlib.reports.batch import BatchResult, Item
    from simlib.reports.pack import PackPlan, write_index
    from simlib.reports.render import RenderResult

    plan = PackPlan(
        lang="en",
        as_of=__import__("datetime").date(2026, 11, 20),
        quarter="2026-Q4",
        closed_quarter="2026-Q3",
        month="2026-10",
        week_ending="2026-11-20",
        company="<b>Acme</b>",
    )
    item = Item("rep_review_pack.ipynb", {"rep_id": "S1"}, "reps/S1", str(tmp_path))
    res = RenderResult("rep_review_pack", "reps/S1", {"rep_id": "S1"}, status="ok")
    index = write_index(
        tmp_path,
        plan,
        [(item, "rep:S1", "<script>alert(1)</script>")],
        BatchResult("r", tmp_path, [res]),
    )
    doc = index.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in doc and "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    assert "<b>Acme</b>" not in doc


def test_every_page_of_the_pack_and_its_index_reads_as_a_page_for_people(pack):
    """The text lint (tests/textlint.py) over all 81 documents and the index, each with
    its PDF beside it."""
    from simlib.data import load_demo
    from tests.textlint import latin_rep_names, lint_html

    out, batch, index = pack
    names = latin_rep_names(load_demo())
    problems = {}
    for r in batch.results:
        page = (out / f"{r.name}.html").read_text(encoding="utf-8")
        found = lint_html(page, LANG, latin_names=names)
        if found:
            problems[r.name] = found[:3]
        assert r.pdf and Path(r.pdf).read_bytes()[:5] == b"%PDF-", (r.name, r.pdf_note)
    found = lint_html(index.read_text(encoding="utf-8"), LANG, latin_names=names)
    if found:
        problems["index"] = found[:3]
    assert not problems, problems
