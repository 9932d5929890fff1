"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1) that keeps every message it receives."""

from __future__ import annotations

import logging
import socket
from contextlib import contextmanager
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class KeepMessages:
    """An aiosmtpd handler that keeps every envelope, with the message's bytes as they arrived."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        parser = BytesParser(policy=default_policy)
        return [parser.parsebytes(envelope.original_content) for envelope in self.envelopes]


@contextmanager
def running_smtp_server():
    """Yields (handler, port) of a server running on its own thread until the block ends."""
    handler = KeepMessages()
    server_log = logging.getLogger("mail.log")  # aiosmtpd's: a line per connection, on its own thread
    level = server_log.level
    server_log.setLevel(logging.WARNING)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="smtp.test")
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()
        server_log.setLevel(level)
