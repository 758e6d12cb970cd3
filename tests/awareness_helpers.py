"""Shared by the awareness tests: a real SMTP server on loopback, a small corpus, a thread of e-mails."""

from __future__ import annotations

import email
import mailbox
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Iterator

from conftest import free_port  # noqa: F401  (the awareness tests import it from here)

CORPUS = {
    "harbor-permits.md": """---
title: "Case study: HarborPass boat mooring permits"
client: Port of Wexley Harbor Authority
project: HarborPass
date: 2022-05-10
people: [Anika Solberg, Tomas Reyes]
doc_type: case_study
---
# HarborPass: online mooring permits for the Port of Wexley

We built HarborPass, an online permit system that lets boat owners apply for seasonal mooring permits,
upload insurance documents and pay fees by card. Harbor staff review applications in a queue.
""",
    "grain-forecast.md": """---
title: "Retrospective: GrainCast yield forecasting"
client: Prairie Growers Cooperative
project: GrainCast
date: 2021-09-01
people: [Lucia Fernandez, Omar Haddad]
doc_type: retrospective
---
# GrainCast retrospective

GrainCast forecasts wheat and barley yields for cooperative members from satellite imagery and soil
sensor readings. Farmers used the weekly yield forecast to plan storage and trucking.
""",
    "finance/falcon.md": """---
title: Project Falcon pricing
client: Zentara Bank
project: Falcon
people: [Quincy Marlowe]
---
# Falcon

We built a fraud scoring engine for Zentara Bank with a fixed fee of 1.2 million.
Quincy Marlowe led the anomaly detection work on the card transactions.
""",
}
RESTRICTED_WORDS = ["Zentara", "Falcon", "Quincy", "Marlowe", "finance/", "fraud"]

# A document that answers the no-record question below, ingested later.
ANSWER_DOC = ("theatre-time.md", """---
title: "Case study: TheatreTime operating-room scheduling"
client: St. Brigid Hospital
project: TheatreTime
date: 2024-01-10
people: [Nadia Petrov]
doc_type: case_study
---
# TheatreTime

We built TheatreTime, an operating-room scheduling system for St. Brigid Hospital that books surgeons,
theatres and anaesthetists, so surgery schedules are planned a week ahead.
""")
NO_RECORD = "Have we built a hospital operating-room scheduling system?"


@dataclass
class Inbox:
    """What the SMTP server received: one parsed message per envelope recipient."""

    port: int
    messages: list[tuple[str, EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpt, m in self.messages if rcpt == address]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


class _Handler:
    def __init__(self, inbox: Inbox):
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.inbox.lock:
            for rcpt in envelope.rcpt_tos:
                self.inbox.messages.append((rcpt, msg))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server() -> Iterator[Inbox]:
    """aiosmtpd on 127.0.0.1 and a free port, stopped on exit."""
    from aiosmtpd.controller import Controller

    inbox = Inbox(port=free_port())
    controller = Controller(_Handler(inbox), hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def html_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None, "the message has no HTML part"
    return part.get_content()


# -- a thread of three messages, each reply quoting the one before ---------------------------------
THREAD_TEXT = [
    "We installed the first twelve berth occupancy sensors on pier B today. Readings arrive every minute.",
    "Great news. The harbor office dashboard now shows free berths from the sensor feed in real time.",
    "Pier C gets sensors next week, and the harbor master approved the rollout to all piers in spring.",
]


def thread_messages() -> list[EmailMessage]:
    people = [("Anika Solberg", "anika@example.com"), ("Tomas Reyes", "tomas@example.com"),
              ("Anika Solberg", "anika@example.com")]
    out: list[EmailMessage] = []
    quoted = ""
    for i, (text, (name, addr)) in enumerate(zip(THREAD_TEXT, people)):
        m = EmailMessage()
        m["From"] = f"{name} <{addr}>"
        m["To"] = "harbor-team@example.com"
        m["Subject"] = ("Re: " if i else "") + "[HarborPass] Berth sensors pilot"
        m["Date"] = f"Mon, {3 + i:02d} Jun 2024 10:00:00 +0000"
        m["Message-ID"] = f"<berth-{i}@example.com>"
        if i:
            m["In-Reply-To"] = f"<berth-{i - 1}@example.com>"
            prev_name = people[i - 1][0]
            body = (f"{text}\n\n-- \n{name}\nHarbor team\n\n" if i == 2 else f"{text}\n\n") + \
                f"On Mon, {2 + i:02d} Jun 2024 at 10:00, {prev_name} <{people[i - 1][1]}> wrote:\n" + quoted
        else:
            body = text + "\n"
        m.set_content(body)
        quoted = "".join(f"> {ln}\n" for ln in body.splitlines())
        out.append(m)
    return out


def write_mbox(path: Path, messages: list[EmailMessage]) -> Path:
    box = mailbox.mbox(path)
    for m in messages:
        box.add(m)
    box.flush()
    box.close()
    return path


def write_maildir(path: Path, messages: list[EmailMessage]) -> Path:
    box = mailbox.Maildir(path, create=True)
    for m in messages:
        box.add(m)
    box.close()
    return path
