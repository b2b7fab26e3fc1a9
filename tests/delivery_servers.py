"""Real local servers for the delivery tests: an SMTP server (aiosmtpd) and a robot
webhook (http.server), both on 127.0.0.1, recording what they received."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpRecorder:
    """What the SMTP server accepted; ``refuse`` (550, permanent) and ``busy`` (451,
    temporary, always) are sets of addresses refused at RCPT."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()
        self.busy: set[str] = set()
        self.rcpt_attempts: dict[str, int] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpt_attempts[address] = self.rcpt_attempts.get(address, 0) + 1
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address in self.busy:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m, (_, rcpts) in zip(self.messages, self.envelopes) if address in rcpts]


class SmtpServer:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.recorder = SmtpRecorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class WebhookServer:
    """Answers each POST with the next status of ``statuses`` (then 200), recording the
    JSON bodies of every request (``received``) and of the accepted ones (``accepted``)."""

    def __init__(self, statuses=(), errcode: int = 0):
        self.statuses = list(statuses)
        self.errcode = errcode
        self.received: list[tuple[str, dict]] = []
        self.accepted: list[tuple[str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n).decode("utf-8"))
                outer.received.append((self.path, body))
                status = outer.statuses.pop(0) if outer.statuses else 200
                answer = {"errcode": outer.errcode if status == 200 else 1, "errmsg": "ok"}
                if status == 200 and outer.errcode == 0:
                    outer.accepted.append((self.path, body))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
