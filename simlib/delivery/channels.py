"""The messages people receive and how they are sent: email (SMTP) and a robot webhook
(WeCom / DingTalk group robots).

An email has an HTML body (and a plain-text twin) in the recipient's language listing
their documents, each attached as PDF (the HTML when there is no PDF). A robot cannot
take attachments: its markdown message lists the document titles and where to find
them. Sending raises :class:`SendError` saying whether trying again may help.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr

from simlib.delivery.directory import Person
from simlib.delivery.documents import Document
from simlib.delivery.params import DeliveryParams
from simlib.i18n import escape, escape_md, translator

__all__ = [
    "SendError",
    "compose_email",
    "compose_webhook",
    "document_label",
    "send_email",
    "send_webhook",
    "smtp_password",
]

_t = translator(
    {
        "subject": ("{company}: your documents ({n})", "{company}：您的报告（{n} 份）"),
        "subject_one": ("{company}: {title}", "{company}：{title}"),
        "hello": ("Dear {name},", "{name}，您好："),
        "intro": (
            "These documents are ready for you; each is attached to this email.",
            "以下报告已为您生成，均附在本邮件中。",
        ),
        "attached": ("attached: {file}", "附件：{file}"),
        "online": ("You can also open them at {url}.", "也可在 {url} 查看。"),
        "online_label": ("Also online: ", "在线查看："),
        "own": (
            "These documents are for you alone; please do not forward them.",
            "以上报告仅发给您本人，请勿转发。",
        ),
        "footer": (
            "Sent by the sales operations reporting of {company}. Questions: reply to this email.",
            "本邮件由{company}销售运营报表系统发送，如有疑问请直接回复。",
        ),
        "robot_head": ("{company}: documents for {name}", "{company}：{name}的报告"),
        "robot_where": ("Where to find them: {where}", "查看位置：{where}"),
        "robot_mail": (
            "The documents themselves come by email.",
            "报告原件另见邮件附件。",
        ),
        "no_manager": (
            "{team} has no manager in the org data: its reviews come to you.",
            "组织数据中{team}没有经理，该团队的报告发送给您。",
        ),
    }
)


class SendError(Exception):
    """A message was not accepted; ``transient``: trying again may help."""

    def __init__(self, message: str, transient: bool = True):
        super().__init__(message)
        self.transient = transient


def document_label(d: Document, lang: str, units: dict[str, tuple[str, str]], company: str):
    """What a document is about, for people: the rep's or team's name, or the company."""
    role, _, target = (d.audience or "").partition(":")
    if target and target in units:
        en, zh = units[target]
        return zh if lang == "zh-CN" and zh else en
    return company if role == "director" or not target else ""


def _line(d: Document, lang: str, label: str) -> str:
    return " — ".join(x for x in (d.title(lang), label, d.period(lang)) if x)


_UNSAFE_FILE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def attachment_name(d: Document, lang: str, label: str) -> str:
    """The attached file's name: its title, who and when, never an id."""
    path = d.pdf or d.html
    base = " ".join(x for x in (d.title(lang), label, d.period(lang)) if x)
    return _UNSAFE_FILE.sub("_", base).strip() + path.suffix


def compose_email(
    person: Person,
    documents: list[Document],
    *,
    params: DeliveryParams,
    company: str,
    units: dict[str, tuple[str, str]],
    notes: list[str] = (),
    index_url: str = "",
) -> EmailMessage:
    """The email for ``person`` with ``documents`` attached (their language throughout)."""
    lang = person.language
    name = person.display(lang)
    labels = [document_label(d, lang, units, company) for d in documents]
    if person.role == "rep":  # every document is about them: no name on each line
        labels = ["" for _ in documents]
    files = [attachment_name(d, lang, lab) for d, lab in zip(documents, labels)]
    subject = (
        _t("subject_one", lang, company=company, title=_line(documents[0], lang, labels[0]))
        if len(documents) == 1
        else _t("subject", lang, company=company, n=len(documents))
    )
    team_notes = [
        _t("no_manager", lang, team=units.get(n.partition(":")[2], ("", ""))[lang == "zh-CN"])
        for n in notes
        if n.startswith("no-manager:")
    ]
    items_html = "".join(
        f"<li><b>{escape(_line(d, lang, lab))}</b><br>"
        f'<span class="file">{escape(_t("attached", lang, file=f))}</span></li>'
        for d, lab, f in zip(documents, labels, files)
    )
    online = (
        f'<p>{escape(_t("online_label", lang))}<a href="{escape(index_url)}">'
        f"{escape(index_url)}</a></p>"
        if index_url
        else ""
    )
    body_html = f"""<!DOCTYPE html>
<html lang="{escape(lang)}"><head><meta charset="utf-8"><title>{escape(subject)}</title>
<style>
body {{ font-family: system-ui, "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif;
  max-width: 40em; margin: 1.5em auto; line-height: 1.5; color: #222; }}
li {{ margin: .6em 0; }} .file {{ color: #555; font-size: 90%; }}
.note {{ color: #8a5a00; }} .meta {{ color: #666; font-size: 90%; }}
</style></head><body>
<p>{escape(_t("hello", lang, name=name))}</p>
<p>{escape(_t("intro", lang))}</p>
{"".join(f'<p class="note">{escape(n)}</p>' for n in team_notes)}
<ul>{items_html}</ul>
{online}
<p>{escape(_t("own", lang))}</p>
<p class="meta">{escape(_t("footer", lang, company=company))}</p>
</body></html>
"""
    text = "\n".join(
        [
            _t("hello", lang, name=name),
            "",
            _t("intro", lang),
            *team_notes,
            "",
            *[f"- {_line(d, lang, lab)} ({f})" for d, lab, f in zip(documents, labels, files)],
            "",
            *([_t("online", lang, url=index_url)] if index_url else []),
            _t("own", lang),
            "",
            _t("footer", lang, company=company),
        ]
    )
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = params.smtp.sender or "simlib@localhost"
    msg["To"] = formataddr((name, person.email or ""))
    msg["Message-ID"] = make_msgid(domain=(parseaddr(msg["From"])[1].partition("@")[2] or None))
    msg.set_content(text)
    msg.add_alternative(body_html, subtype="html")
    for d, f in zip(documents, files):
        path = d.pdf or d.html
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=f)
    return msg


def smtp_password(params: DeliveryParams) -> str | None:
    """The SMTP password from the environment variable named in delivery.yaml (None when
    no username is set); a missing variable is an error naming it."""
    from simlib.reports.templates import ReportError

    if not params.smtp.username:
        return None
    pw = os.environ.get(params.smtp.password_env)
    if not pw:
        raise ReportError(
            f"delivery.yaml: smtp.username is set but the environment variable "
            f"{params.smtp.password_env} (smtp.password_env) holds no password; set it "
            "before sending (the password is never kept in params/)"
        )
    return pw


def send_email(msg: EmailMessage, params: DeliveryParams, password: str | None) -> str:
    """Hand ``msg`` to the SMTP server; returns its Message-ID once accepted."""
    s = params.smtp
    try:
        if s.security == "ssl":
            server = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout_s, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
        with server:
            if s.security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if s.username:
                server.login(s.username, password or "")
            refused = server.send_message(msg)
    except smtplib.SMTPRecipientsRefused as e:
        codes = [c for c, _ in e.recipients.values()]
        why = "; ".join(f"{c} {m.decode(errors='replace')}" for c, m in e.recipients.values())
        raise SendError(
            f"the mail server refused the recipient ({why})",
            transient=all(400 <= c < 500 for c in codes),
        ) from None
    except smtplib.SMTPAuthenticationError as e:
        raise SendError(
            f"the mail server refused the login ({e.smtp_code})", transient=False
        ) from None
    except smtplib.SMTPResponseException as e:
        text = e.smtp_error.decode(errors="replace") if isinstance(e.smtp_error, bytes) else ""
        raise SendError(
            f"the mail server answered {e.smtp_code} {text}".strip(),
            transient=400 <= e.smtp_code < 500,
        ) from None
    except (smtplib.SMTPException, OSError) as e:
        raise SendError(f"cannot reach the mail server {s.host}:{s.port} ({e})") from None
    if refused:
        raise SendError(f"the mail server refused {', '.join(refused)}", transient=False)
    return str(msg["Message-ID"])


def compose_webhook(
    person: Person,
    documents: list[Document],
    *,
    params: DeliveryParams,
    company: str,
    units: dict[str, tuple[str, str]],
    where: list[str],
    by_email: bool,
) -> dict:
    """The robot's JSON message (markdown): titles and where to find each document."""
    lang = person.language
    head = _t("robot_head", lang, company=company, name=person.display(lang))
    lines = [f"### {escape_md(head)}"]
    for d, w in zip(documents, where):
        label = "" if person.role == "rep" else document_label(d, lang, units, company)
        title = escape_md(_line(d, lang, label))
        if w.startswith(("http://", "https://")):
            lines.append(f"> [{title}]({w})")
        else:
            lines.append(f"> {title}  \n> {escape_md(_t('robot_where', lang, where=w))}")
    if by_email:
        lines.append(_t("robot_mail", lang))
    text = "\n".join(lines)
    if params.webhook.kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": head, "text": text}}
    return {"msgtype": "markdown", "markdown": {"content": text}}


def send_webhook(url: str, payload: dict, params: DeliveryParams) -> str:
    """POST the robot message; the robot's own answer (``errcode``) must be 0."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    req = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(req, timeout=params.webhook.timeout_s) as r:
            body = r.read(65536)
    except urllib.error.HTTPError as e:
        raise SendError(
            f"the robot answered HTTP {e.code}", transient=e.code >= 500 or e.code == 429
        ) from None
    except (urllib.error.URLError, OSError) as e:
        raise SendError(f"cannot reach the robot ({getattr(e, 'reason', e)})") from None
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        answer = {}
    code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
    if code not in (0, "0"):
        # 45009 (WeCom) / 130101 (DingTalk): too many messages a minute; others: a bad key
        raise SendError(
            f"the robot refused the message (errcode {code}: {answer.get('errmsg', '')})",
            transient=code in (45009, 130101),
        )
    return str(answer.get("msgid", "")) if isinstance(answer, dict) else ""
