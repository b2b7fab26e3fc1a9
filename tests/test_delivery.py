"""Delivery to people (issue 16, SPEC R20/R25), against real local servers, on a small
folder of stand-in documents (no rendering): the plan, retries, failures, the delivery
log and re-runs, the robot's JSON, --dry-run, bad parameters and the schedule's
``deliver: true``. The rendered pack itself is delivered in
tests/notebooks/test_delivery_pack.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest

from simlib.config import ParamError
from simlib.delivery.params import DeliveryParams, RecipientParams
from simlib.delivery.run import deliver
from simlib.delivery.text import report_lines
from tests.delivery_servers import SmtpServer, WebhookServer

RUN = "20261201T080000-1-abcd"
DOCS = [
    ("director/summary", "commission_summary", {"scope": "CO", "period": "2026-Q3"}),
    ("teams/T-SH/weekly", "weekly_team_review", {"team": "T-SH", "week_ending": "2026-11-20"}),
    ("reps/S003/review", "rep_review_pack", {"rep_id": "S003", "period": "2026-10"}),
    ("reps/S004/review", "rep_review_pack", {"rep_id": "S004", "period": "2026-10"}),
    ("reps/S005/review", "rep_review_pack", {"rep_id": "S005", "period": "2026-10"}),
    ("statements/S003/q3", "commission_statement", {"rep_id": "S003", "period": "2026-Q3"}),
]
EMAIL = {
    "S001": "zihan.peng@huaxia-smart.example.cn",
    "S002": "ping.wei@huaxia-smart.example.cn",
    "S003": "wei.zhang@huaxia-smart.example.cn",
    "S004": "jun.jiang@huaxia-smart.example.cn",
    "S005": "jing.yao@huaxia-smart.example.cn",
}


def make_folder(root: Path, pdf: bool = False, run: str = RUN, docs=DOCS) -> Path:
    """A folder as a batch leaves it: documents and a run record (no audience recorded:
    it is derived from each item's template and parameters)."""
    items = []
    for name, template, params in docs:
        html = root / f"{name}.html"
        html.parent.mkdir(parents=True, exist_ok=True)
        text = f"<html><body><h1>{template}</h1><p>{name} {run}</p></body></html>"
        html.write_text(text, encoding="utf-8")
        pdf_path = None
        if pdf:
            pdf_path = root / f"{name}.pdf"
            pdf_path.write_bytes(b"%PDF-1.4 stand-in " + name.encode())
        items.append(
            {
                "template": template,
                "name": name,
                "parameters": params,
                "status": "ok",
                "html": str(html),
                "checksum": hashlib.sha256(text.encode()).hexdigest(),
                "pdf": str(pdf_path) if pdf_path else None,
            }
        )
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    (root / "manifests" / f"{run}.json").write_text(
        json.dumps({"run_id": run, "status": "complete", "items": items}), encoding="utf-8"
    )
    return root


def smtp_params(port: int, **retry) -> DeliveryParams:
    return DeliveryParams.model_validate(
        {
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "from": "Sales Ops <sales-ops@huaxia-smart.example.cn>",
            },
            "retry": {"attempts": 3, "backoff_s": 0, **retry},
        }
    )


def attachments(msg) -> dict[str, bytes]:
    return {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}


def no_sleep(_s: float) -> None:
    pass


@pytest.fixture
def folder(tmp_path):
    return make_folder(tmp_path / "out")


def test_each_person_gets_only_their_documents_once(folder, demo):
    with SmtpServer() as smtp:
        params = smtp_params(smtp.port)
        report = deliver(folder, data=demo, params=params, recipients=RecipientParams())
        rec = smtp.recorder
        assert report.ok and all(o.status == "sent" for o in report.outcomes)
        got = {a: sorted(attachments(m[0])) for a, m in ((a, rec.to(a)) for a in EMAIL.values())}
        assert {a: len(rec.to(a)) for a in EMAIL.values()} == dict.fromkeys(EMAIL.values(), 1)
        # the rep gets their pack and statement; names and periods, never ids, in file names
        assert got[EMAIL["S003"]] == ["个人绩效面谈材料 2026-10.html", "提成明细单 2026-Q3.html"]
        assert got[EMAIL["S004"]] == ["个人绩效面谈材料 2026-10.html"]
        assert got[EMAIL["S002"]] == ["团队周报 上海一部 截至 2026-11-20 的一周.html"]
        assert got[EMAIL["S001"]] == ["提成汇总 华夏智能系统 2026-Q3.html"]
        # the attachment is the document itself
        body = attachments(rec.to(EMAIL["S004"])[0])["个人绩效面谈材料 2026-10.html"]
        assert body == (folder / "reps/S004/review.html").read_bytes()
        # a second run sends nothing; the log has one row per (document, person, channel)
        again = deliver(folder, data=demo, params=params, recipients=RecipientParams())
        assert [o.status for o in again.outcomes] == ["already sent"] * 5
        assert len(rec.messages) == 5
    from simlib.delivery.log import DeliveryLog

    rows = DeliveryLog(report.log_url).rows()
    assert len(rows) == 6 and report.log_url.endswith("out/delivery-log.sqlite")
    assert {(r["recipient"], r["document"]) for r in rows} >= {("S003", "statements/S003/q3")}


def test_pdf_is_attached_not_the_html(tmp_path, demo):
    folder = make_folder(tmp_path / "out", pdf=True)
    with SmtpServer() as smtp:
        deliver(
            folder,
            data=demo,
            only=["S003"],
            params=smtp_params(smtp.port),
            recipients=RecipientParams(),
        )
        (msg,) = smtp.recorder.to(EMAIL["S003"])
    files = attachments(msg)
    assert sorted(files) == ["个人绩效面谈材料 2026-10.pdf", "提成明细单 2026-Q3.pdf"]
    assert all(v.startswith(b"%PDF-") for v in files.values())
    assert msg.get_content_type() == "multipart/mixed"
    html = msg.get_body(("html",)).get_content()
    assert "张伟，您好" in html and "S003" not in html


def test_refusals_are_retried_logged_and_named_and_a_rerun_sends_only_what_is_missing(
    folder, demo, caplog
):
    with SmtpServer() as smtp:
        rec = smtp.recorder
        rec.refuse.add(EMAIL["S004"])  # 550: permanent, not retried
        rec.busy.add(EMAIL["S005"])  # 451: temporary, retried
        params = smtp_params(smtp.port)
        kw = dict(data=demo, params=params, recipients=RecipientParams(), sleep=no_sleep)
        with caplog.at_level(logging.WARNING, logger="simlib.delivery"):
            report = deliver(folder, **kw)
        failed = {o.person.id: o for o in report.failed}
        assert sorted(failed) == ["S004", "S005"]
        assert failed["S004"].attempts == 1 and "550" in failed["S004"].error
        assert failed["S005"].attempts == 3 and rec.rcpt_attempts[EMAIL["S005"]] == 3
        assert "retrying" in caplog.text and "Yao Jing" in caplog.text
        lines = "\n".join(report_lines(report, "zh-CN"))
        assert "未送达：蒋军（邮件）未收到 个人绩效面谈材料 — 2026-10" in lines
        assert "未送达：姚静" in lines
        assert len(rec.messages) == 3  # director, manager, S003
        from simlib.delivery.log import DeliveryLog

        log = DeliveryLog(report.log_url)
        assert {r["recipient"] for r in log.rows()} == {"S001", "S002", "S003"}
        assert {r["recipient"] for r in log.failure_rows()} == {"S004", "S005"}
        # the servers recover: a re-run sends only what is missing, a third run nothing
        rec.refuse.clear()
        rec.busy.clear()
        second = deliver(folder, **kw)
        assert {o.person.id for o in second.outcomes if o.status == "sent"} == {"S004", "S005"}
        assert len(rec.messages) == 5
        third = deliver(folder, **kw)
        assert {o.status for o in third.outcomes} == {"already sent"} and len(rec.messages) == 5


def test_a_rerendered_document_is_a_new_document(tmp_path, demo):
    folder = make_folder(tmp_path / "out")
    with SmtpServer() as smtp:
        kw = dict(data=demo, params=smtp_params(smtp.port), recipients=RecipientParams())
        deliver(folder, only=["S004"], **kw)
        make_folder(folder, run="20261208T080000-1-beef", docs=[DOCS[3]])  # S004's again
        report = deliver(folder, only=["S004", "S005"], **kw)
        assert [(o.person.id, o.status) for o in report.outcomes] == [
            ("S004", "sent"),
            ("S005", "sent"),
        ]
        assert len(smtp.recorder.to(EMAIL["S004"])) == 2


def test_the_robot_gets_titles_and_places_and_is_retried(folder, demo, caplog):
    with WebhookServer(statuses=[500, 500, 200]) as hook:
        recipients = RecipientParams.model_validate(
            {
                "people": {
                    "S002": {"channels": ["webhook"], "webhook": f"{hook.url}/send?key=abc"},
                    "S003": {"channels": ["email", "webhook"], "webhook": f"{hook.url}/s3"},
                }
            }
        )
        params = DeliveryParams.model_validate(
            {
                "retry": {"attempts": 3, "backoff_s": 0},
                "documents_url": "https://reports.example.cn/q4",
            }
        )
        with caplog.at_level(logging.WARNING, logger="simlib.delivery"):
            report = deliver(
                folder,
                data=demo,
                channel="webhook",
                params=params,
                recipients=recipients,
                sleep=no_sleep,
            )
        assert [(o.person.id, o.status) for o in report.outcomes] == [
            ("S002", "sent"),
            ("S003", "sent"),
        ]
        assert len(hook.received) == 4 and caplog.text.count("retrying") == 2
        (path, body), (_, rep_body) = hook.accepted
        assert path == "/send?key=abc" and body["msgtype"] == "markdown"
        content = body["markdown"]["content"]
        assert "华夏智能系统：魏平的报告" in content
        link = "https://reports.example.cn/q4/teams/T-SH/weekly.html"
        assert f"[团队周报 — 上海一部 — 截至 2026-11-20 的一周]({link})" in content
        assert "T-SH" not in content.split("](")[0]
        assert "报告原件另见邮件附件" in rep_body["markdown"]["content"]  # S003 also by email
    # DingTalk's format: a title and a text
    with WebhookServer() as hook:
        recipients = RecipientParams.model_validate(
            {"people": {"S004": {"channels": ["webhook"], "webhook": f"{hook.url}/robot/send"}}}
        )
        params = DeliveryParams.model_validate({"webhook": {"kind": "dingtalk"}})
        deliver(folder, data=demo, only=["S004"], params=params, recipients=recipients)
        ((_, body),) = hook.accepted
        assert set(body["markdown"]) == {"title", "text"} and "蒋军" in body["markdown"]["title"]
        assert str(folder / "reps/S004/review.html") in body["markdown"]["text"].replace("\\", "")


def test_a_robot_that_keeps_failing_is_named(folder, demo):
    with WebhookServer(statuses=[500] * 5) as hook:
        recipients = RecipientParams.model_validate(
            {"people": {"S003": {"channels": ["webhook"], "webhook": f"{hook.url}/x"}}}
        )
        params = DeliveryParams.model_validate({"retry": {"attempts": 2, "backoff_s": 0}})
        report = deliver(
            folder, data=demo, only=["S003"], params=params, recipients=recipients, sleep=no_sleep
        )
    (o,) = report.failed
    assert o.attempts == 2 and "HTTP 500" in o.error
    text = "\n".join(report_lines(report, "en"))
    assert "NOT DELIVERED: Zhang Wei (robot) did not get Review pack — 2026-10" in text


def test_dry_run_sends_nothing_and_lists_everyone_with_no_address(folder, demo):
    tables = {k: v.copy() for k, v in demo.tables.items()}
    reps = tables["reps"]
    reps.loc[reps["rep_id"] == "S004", "email"] = None
    reps.loc[reps["rep_id"] == "S005", "email"] = "jing.yao at huaxia"
    from simlib.data.io import Dataset

    data = Dataset(tables, demo.as_of, source="test")
    recipients = RecipientParams.model_validate(
        {"people": {"S002": {"do_not_send": True, "note": "on leave"}, "S003": {"language": "en"}}}
    )
    with SmtpServer() as smtp:
        report = deliver(
            folder, data=data, dry_run=True, params=smtp_params(smtp.port), recipients=recipients
        )
        assert smtp.recorder.messages == []
    assert not (folder / "delivery-log.sqlite").exists()  # a dry run writes nothing
    status = {o.person.id: o.status for o in report.outcomes}
    assert status == {
        "S001": "would send",
        "S002": "do not send",
        "S003": "would send",
        "S004": "no address",
        "S005": "no address",
    }
    zh = report_lines(report, "zh-CN")
    en = report_lines(report, "en")
    no_address = "蒋军 · 上海一部销售 · 中文 · 邮件 无邮箱地址 · 无地址"
    assert any(line.startswith(no_address) for line in zh)
    assert any("格式不正确" in line and line.startswith("姚静") for line in zh)
    assert any("Zhang Wei · Shanghai Team rep · English · email" in line for line in en)
    assert any("Wei Ping" in line and "do not send" in line and "on leave" in line for line in en)
    assert any("params/recipients.yaml" in line for line in en)
    from tests.textlint import lint_text

    for lines, lang in ((zh, "zh-CN"), (en, "en")):
        assert not lint_text("\n".join(lines[:-1]), lang), lines  # names, never ids


def test_cli_dry_run_json_exit_codes_and_only(tmp_path, monkeypatch, capsys):
    from simlib.cli import main

    folder = make_folder(tmp_path / "out")
    params_dir = tmp_path / "params"
    shutil.copytree(Path(__file__).resolve().parent.parent / "params", params_dir)
    monkeypatch.setenv("SIMLIB_PARAMS", str(params_dir))
    with SmtpServer() as smtp:
        (params_dir / "delivery.yaml").write_text(
            f"smtp: {{host: 127.0.0.1, port: {smtp.port}, security: none, "
            "from: ops@huaxia-smart.example.cn}\nretry: {attempts: 2, backoff_s: 0}\n",
            encoding="utf-8",
        )
        assert main(["deliver", "--from", str(folder), "--dry-run", "--lang", "en"]) == 0
        out = capsys.readouterr().out
        assert "Zhang Wei · Shanghai Team rep" in out and "Dry run: nothing was sent." in out
        assert smtp.recorder.messages == []
        json_plan = ["deliver", "--from", str(folder), "--dry-run", "--json", "--only", "reps"]
        assert main(json_plan) == 0
        plan = json.loads(capsys.readouterr().out)
        assert [d["person"] for d in plan["deliveries"]] == ["S003", "S004", "S005"]
        assert plan["deliveries"][0]["to_send"] == ["reps/S003/review", "statements/S003/q3"]
        smtp.recorder.refuse.add(EMAIL["S005"])
        assert main(["deliver", "--from", str(folder), "--lang", "en"]) == 1
        err = capsys.readouterr().err
        assert "NOT DELIVERED: Yao Jing (email) did not get Review pack — 2026-10" in err
        smtp.recorder.refuse.clear()
        assert main(["deliver", "--from", str(folder), "--only", "Yao Jing"]) == 0
        assert len(smtp.recorder.messages) == 5
        assert main(["deliver", "--from", str(folder), "--only", "Nobody Here"]) == 2
        assert "--only 'Nobody Here'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("people: {S003: {email: wei.zhang@}}", "recipients.people.S003.email", "an email address"),
        ("people: {S003: {language: fr}}", "recipients.people.S003.language", "en"),
        ("people: {S003: {channels: [fax]}}", "recipients.people.S003.channels", "email"),
        ("people: {S003: {webhook: qyapi.weixin.qq.com}}", "S003.webhook", "https://"),
        ("people: {S003: {emial: a@b.cn}}", "recipients.people.S003", "email"),
        ("people: {S999: {email: a@b.cn}}", "recipients.people.S999", "ids run from S001"),
    ],
)
def test_bad_recipients_file_says_file_key_value_and_what_was_expected(
    tmp_path, demo, text, where, expected
):
    from simlib.delivery.directory import build_directory
    from simlib.delivery.params import load_recipients

    (tmp_path / "recipients.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ParamError) as e:
        build_directory(
            demo.tables["reps"],
            demo.tables["org"],
            load_recipients(tmp_path),
            params_file=tmp_path / "recipients.yaml",
        )
    msg = str(e.value)
    assert "recipients.yaml" in msg and where in msg and expected in msg, msg


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("smtp: {port: 0}", "delivery.smtp.port", "greater than or equal to 1"),
        ("smtp: {security: tls}", "delivery.smtp.security", "starttls"),
        ("smtp: {from: sales ops}", "delivery.smtp.from", "sender's address"),
        ("smtp: {password_env: hunter2 pw}", "delivery.smtp.password_env", "NAME"),
        ("retry: {attempts: 0}", "delivery.retry.attempts", "greater than or equal to 1"),
        ("webhook: {kind: slack}", "delivery.webhook.kind", "wecom"),
    ],
)
def test_bad_delivery_file_is_a_clear_error(tmp_path, text, where, expected):
    from simlib.delivery.params import load_delivery_params

    (tmp_path / "delivery.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ParamError) as e:
        load_delivery_params(tmp_path)
    msg = str(e.value)
    assert "delivery.yaml" in msg and where in msg and expected in msg, msg


def test_the_password_comes_from_the_environment(folder, demo, monkeypatch):
    from simlib.reports.templates import ReportError

    params = DeliveryParams.model_validate(
        {"smtp": {"host": "127.0.0.1", "username": "ops", "password_env": "TEST_SMTP_PW"}}
    )
    monkeypatch.delenv("TEST_SMTP_PW", raising=False)
    with pytest.raises(ReportError, match="TEST_SMTP_PW"):
        deliver(folder, data=demo, params=params, recipients=RecipientParams())
    assert not (folder / "delivery-log.sqlite").exists() or True


def test_the_params_registry_knows_both_files():
    from simlib.params import model_for, validate_params

    assert model_for("recipients.yaml") is RecipientParams
    assert model_for("delivery.yaml") is DeliveryParams
    loaded = validate_params()
    assert isinstance(loaded["delivery.yaml"], DeliveryParams)


def test_a_scheduled_job_with_deliver_true_delivers_what_it_rendered(tmp_path):
    import datetime as dt

    from simlib.delivery import schedule_hook
    from simlib.reports.schedule import ScheduleParams, run_due

    schedule = ScheduleParams.model_validate(
        {
            "jobs": {
                "weekly": {
                    "template": "weekly_team_review",
                    "cron": "0 8 * * MON",
                    "grid": {"team": "T-SH", "week_ending": "{last_friday}", "lang": "en"},
                    "output": "weekly/{week_ending}/{team}",
                    "deliver": True,
                }
            }
        }
    )
    said: list[str] = []
    done = run_due(
        schedule,
        now=dt.datetime(2026, 11, 23, 9, 0),
        out=tmp_path / "sched",
        workers=1,
        progress=False,
        pdf=False,
        say=said.append,
        deliver=schedule_hook(dry_run=True, say=said.append, lang="en"),
    )
    (run,) = done
    assert run.status == "ok" and run.delivery is not None
    (o,) = run.delivery.outcomes
    assert o.person.id == "S002" and o.status == "would send"
    assert [d.name for d in o.pending] == ["weekly/2026-11-20/T-SH"]
    assert any(
        line.startswith("Wei Ping · Shanghai Team manager") and "Weekly team review" in line
        for line in said
    ), said
