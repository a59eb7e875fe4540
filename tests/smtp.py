"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for every test that
checks an e-mail: in this process (the ``smtp`` fixture) or from a Celery worker process (give
it ``inbox.port``)."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from randomization.http_load import free_port


class Inbox:
    """Messages received, each as (sorted recipients, parsed message)."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((sorted(envelope.rcpt_tos), message))
        return "250 Message accepted"


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
