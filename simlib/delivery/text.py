"""What ``simlib deliver`` prints: who gets what, in names, in the reader's language."""

from __future__ import annotations

from simlib.i18n import translator

__all__ = ["report_lines", "status_text"]

_t = translator(
    {
        "director": ("director", "总监"),
        "manager": ("manager", "经理"),
        "rep": ("rep", "销售"),
        "email": ("email", "邮件"),
        "webhook": ("robot", "机器人"),
        "en": ("English", "英文"),
        "zh-CN": ("Chinese", "中文"),
        "sent": ("sent", "已发送"),
        "already sent": ("already sent", "此前已发送"),
        "would send": ("would send", "将发送"),
        "no address": ("no address", "无地址"),
        "do not send": ("do not send", "不发送"),
        "failed": ("FAILED", "发送失败"),
        "nothing": ("nothing to deliver in this folder", "此目录中没有需要发送的报告"),
        "dry": ("Dry run: nothing was sent.", "演练：未发送任何内容。"),
        "summary": (
            "{people} people, {docs} documents: {sent} sent, {already} already sent, "
            "{would} to send, {failed} not delivered.",
            "{people} 人，{docs} 份报告：已发送 {sent}，此前已发送 {already}，待发送 {would}，"
            "未送达 {failed}。",
        ),
        "missed": (
            "NOT DELIVERED: {name} ({channel}) did not get {docs}: {why}",
            "未送达：{name}（{channel}）未收到 {docs}：{why}",
        ),
        "nobody": ("NOT DELIVERED: {doc} reaches nobody: {why}", "未送达：{doc} 无人接收：{why}"),
        "no_address_fix": (
            "Add the address in params/recipients.yaml (people: <id>: email: …), or set "
            "do_not_send: true for them.",
            "请在 params/recipients.yaml 中补充其地址（people: <编号>: email: …），"
            "或为其设置 do_not_send: true。",
        ),
        "no_manager": ("{team} has no manager: sent to the director", "{team}没有经理：发给总监"),
        "log": ("Delivery log: {url}", "发送记录：{url}"),
        "warning": ("note: {text}", "注意：{text}"),
    }
)

_NOBODY = {
    "no director in the org data": "组织数据中没有总监",
    "no manager of this team and no director in the org data": (
        "该团队没有经理，组织数据中也没有总监"
    ),
    "this rep is not in the org data": "组织数据中没有此销售",
    "its run record says nobody it is for": "运行记录未说明发给谁",
}


def status_text(status: str, lang: str) -> str:
    return _t(status, lang)


def report_lines(report, lang: str) -> list[str]:
    """The plan or the outcome, one line per person and channel, then what went wrong."""
    zh = lang == "zh-CN"
    sep = "；" if zh else "; "
    company = report.company.get(lang, "")

    def docs_text(person, docs) -> str:
        from simlib.delivery.channels import document_label

        out = []
        for d in docs:
            label = "" if person.role == "rep" else document_label(d, lang, report.units, company)
            out.append(" — ".join(x for x in (d.title(lang), label, d.period(lang)) if x))
        return sep.join(out)

    lines: list[str] = []
    if not report.outcomes and not report.nobody:
        return [_t("nothing", lang)]
    for o in report.outcomes:
        p = o.person
        who = p.display(lang)
        role = _t(p.role, lang) if p.role in ("director", "manager", "rep") else p.role
        unit = p.unit_name(lang)
        head = " · ".join(
            x for x in (who, f"{unit}{'' if zh else ' '}{role}".strip(), _t(p.language, lang)) if x
        )
        addr = p.address(o.channel) or p.problem(o.channel, lang)
        if o.channel == "webhook" and p.webhook:
            addr = _t("webhook", lang)
        status = _t(o.status, lang) if o.status else "?"
        docs = (
            o.pending if o.status in ("would send", "sent", "failed", "no address") else o.documents
        )
        colon = "：" if zh else ": "
        line = f"{head} · {_t(o.channel, lang)} {addr} · {status}{colon}{docs_text(p, docs)}"
        if o.person.note and o.status == "do not send":
            line += f" ({o.person.note})"
        for n in o.notes:
            if n.startswith("no-manager:"):
                en_zh = report.units.get(n.partition(":")[2], ("", ""))
                line += f" [{_t('no_manager', lang, team=en_zh[zh] or en_zh[0])}]"
        lines.append(line)
    counts = {k: 0 for k in ("sent", "already sent", "would send")}
    for o in report.outcomes:
        if o.status in counts:
            counts[o.status] += len(o.pending if o.status != "already sent" else o.documents)
    failed = sum(len(o.pending) for o in report.failed) + len(report.nobody)
    lines.append(
        _t(
            "summary",
            lang,
            people=len({o.person.id for o in report.outcomes}),
            docs=len({d.name for o in report.outcomes for d in o.documents}),
            sent=counts["sent"],
            already=counts["already sent"],
            would=counts["would send"],
            failed=failed,
        )
    )
    no_address = False
    for o in report.failed:
        no_address |= o.status == "no address"
        if report.dry_run:  # listed above; nothing was meant to be delivered yet
            continue
        lines.append(
            _t(
                "missed",
                lang,
                name=o.person.display(lang),
                channel=_t(o.channel, lang),
                docs=docs_text(o.person, o.pending),
                why=o.error if o.status == "failed" else o.person.problem(o.channel, lang),
            )
        )
    if no_address:
        lines.append(_t("no_address_fix", lang))
    for d, why in report.nobody:
        doc = " — ".join(x for x in (d.title(lang), d.period(lang)) if x)
        text = _t("nobody", lang, doc=doc, why=_NOBODY.get(why, why) if zh else why)
        lines.append(text.split(": ", 1)[1] if report.dry_run and not zh else text)
    for w in report.warnings:
        lines.append(_t("warning", lang, text=w))
    if report.dry_run:
        lines.append(_t("dry", lang))
    else:
        lines.append(_t("log", lang, url=report.log_url))
    return lines
