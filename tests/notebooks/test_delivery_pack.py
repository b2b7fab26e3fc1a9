"""A rendered report pack, delivered to a real SMTP server (aiosmtpd on 127.0.0.1):
each person receives exactly their documents, and what they actually received (the
decoded attachments and the email body) shows no other rep's name, id or pay (SPEC
R20). The per-person indexes list only that person's documents and read as pages for
people (tests/textlint.py).

One small pack: the director's documents, one team's reviews and two reps (of two
teams) with their pack and statement; few trials, no PDFs (the attachments are then the
HTML pages themselves, which can be scanned as text).
"""

from __future__ import annotations

import html
import json
import re

import pytest

from simlib.delivery.params import DeliveryParams, RecipientParams
from simlib.delivery.run import deliver
from simlib.reports.pack import render_pack
from tests.delivery_servers import SmtpServer

LANG = "zh-CN"
MONTH = "2026-10"
TEAM, REPS = "T-SH", ("S003", "S012")  # S012 is of another team (T-HZ)
SELECT = {"director", f"manager:{TEAM}", *(f"rep:{r}" for r in REPS)}
_IMAGES = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+")


@pytest.fixture(scope="module")
def pack(tmp_path_factory):
    out = tmp_path_factory.mktemp("pack")
    batch, index = render_pack(
        out, lang=LANG, n_trials=200, workers=2, progress=False, pdf=False, select=SELECT
    )
    assert batch.ok, batch.summary()
    return out, batch


@pytest.fixture(scope="module")
def delivered(pack):
    out, _ = pack
    recipients = RecipientParams.model_validate({"people": {"S012": {"language": "en"}}})
    with SmtpServer() as smtp:
        params = DeliveryParams.model_validate(
            {
                "smtp": {
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "security": "none",
                    "from": "华夏智能系统 销售运营 <sales-ops@huaxia-smart.example.cn>",
                },
                "retry": {"backoff_s": 0},
            }
        )
        report = deliver(out, params=params, recipients=recipients)
        again = deliver(out, params=params, recipients=recipients)
        messages = list(zip(smtp.recorder.envelopes, smtp.recorder.messages))
    return report, again, messages


def _text(content: str) -> str:
    return html.unescape(_IMAGES.sub("", content))


def _received(messages, address: str) -> tuple[dict[str, bytes], str]:
    """(attachments, body text) of what ``address`` received."""
    mine = [m for (_, rcpts), m in messages if address in rcpts]
    assert len(mine) == 1, f"{address} got {len(mine)} messages"
    msg = mine[0]
    files = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    body = msg.get_body(("html",)).get_content() + "\n" + msg.get_body(("plain",)).get_content()
    return files, body


def test_each_person_got_exactly_their_documents(pack, delivered, demo):
    out, batch = pack
    report, again, messages = delivered
    assert report.ok and {o.status for o in report.outcomes} == {"sent"}
    assert {o.status for o in again.outcomes} == {"already sent"}  # nothing twice
    assert len(messages) == 4  # director, manager, two reps
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    reps = demo.tables["reps"].set_index("rep_id")
    who = {"director": "S001", f"manager:{TEAM}": "S002", **{f"rep:{r}": r for r in REPS}}
    expected: dict[str, set[bytes]] = {}
    for e in index:
        expected.setdefault(who[e["audience"]], set()).add((out / f"{e['name']}.html").read_bytes())
    for pid, docs in expected.items():
        files, _ = _received(messages, reps.loc[pid, "email"])
        assert set(files.values()) == docs, pid
        assert not any(re.search(r"\bS\d{3}\b|\bT-[A-Z]{2}\b", f) for f in files), files


def test_what_a_rep_received_shows_no_one_else(pack, delivered, demo):
    from simlib.views.commission_summary import money_text, rep_pay
    from simlib.views.team_review import load_facts

    _, _, messages = delivered
    f = load_facts()
    reps = f.reps.set_index("rep_id")
    sales = reps[reps["role"] == "rep"]
    pays = {r: rep_pay(f, r, MONTH, "tiered_cn", lang=LANG) for r in REPS}
    email = demo.tables["reps"].set_index("rep_id")["email"]
    for me in REPS:
        files, body = _received(messages, email[me])
        text = "\n".join([_text(body), *(_text(v.decode("utf-8")) for v in files.values())])
        mine = pays[me]
        assert money_text(mine.payable_cents) in text, f"{me}: own pay missing"
        allowed = {mine.payable_cents, mine.team_total_cents, mine.team_average_cents, 0}
        for other, row in sales.iterrows():
            if other == me:
                continue
            assert not re.search(rf"\b{other}\b", text), f"{me} received {other}'s id"
            for n in (row["name"], row["name_zh"]):
                if isinstance(n, str) and n:
                    assert n not in text, f"{me} received {other}'s name {n!r}"
            theirs = pays.get(other)
            if theirs is not None and theirs.payable_cents not in allowed:
                assert money_text(theirs.payable_cents) not in text, f"{me} got {other}'s pay"


def test_the_managers_mail_shows_only_the_team(delivered, demo):
    _, _, messages = delivered
    reps = demo.tables["reps"].set_index("rep_id")
    files, body = _received(messages, reps.loc["S002", "email"])
    text = "\n".join([_text(body), *(_text(v.decode("utf-8")) for v in files.values())])
    outsiders = reps[(reps["role"] == "rep") & (reps["team_id"] != TEAM)]
    for other, row in outsiders.iterrows():
        assert not re.search(rf"\b{other}\b", text), other
        assert row["name"] not in text and row["name_zh"] not in text, other


def test_bodies_are_in_each_persons_language_and_read_as_pages(delivered, demo):
    from tests.textlint import latin_rep_names, lint_html

    _, _, messages = delivered
    reps = demo.tables["reps"].set_index("rep_id")
    _, zh = _received(messages, reps.loc["S003", "email"])
    _, en = _received(messages, reps.loc["S012", "email"])
    assert "张伟，您好" in zh and "个人绩效面谈材料 — 2026-10" in zh
    assert "Dear Ren Chao," in en and "Review pack — 2026-10" in en
    names = latin_rep_names(demo)
    for (_, rcpts), msg in messages:
        page = msg.get_body(("html",)).get_content()
        lang = "en" if reps.loc["S012", "email"] in rcpts else "zh-CN"
        assert not lint_html(page, lang, latin_names=names if lang == "zh-CN" else ()), rcpts
        subject = str(msg["Subject"])
        assert not re.search(r"\bS\d{3}\b|T-[A-Z]{2}", subject), subject


def test_per_person_indexes_list_only_their_documents(pack, demo):
    from tests.textlint import latin_rep_names, lint_html

    out, batch = pack
    names = latin_rep_names(demo)
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    mine = {
        "S001": {e["name"] for e in index if e["audience"] == "director"},
        "S002": {e["name"] for e in index if e["audience"] == f"manager:{TEAM}"},
        **{r: {e["name"] for e in index if e["audience"] == f"rep:{r}"} for r in REPS},
    }
    assert len(mine["S003"]) == 2  # the review pack and the statement
    for pid, docs in mine.items():
        page = (out / "people" / pid / "index.html").read_text(encoding="utf-8")
        hrefs = {
            h.removeprefix("../../").removesuffix(".html")
            for h in re.findall(r'href="([^"]+\.html)"', page)
        }
        hrefs.discard("index")  # the director's link to every document
        assert hrefs == docs, pid
        assert all((out / "people" / pid / f"../../{d}.html").exists() for d in docs)
        assert not lint_html(page, LANG, latin_names=names), (pid, lint_html(page, LANG))
    whole = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="people/{p}/index.html"' in whole for p in mine)
    assert not lint_html(whole, LANG, latin_names=names)
    assert "../../index.html" in (out / "people/S001/index.html").read_text(encoding="utf-8")
    assert "../../index.html" not in (out / "people/S003/index.html").read_text(encoding="utf-8")
