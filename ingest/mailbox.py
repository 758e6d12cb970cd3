"""E-mail as project updates: an mbox file or a Maildir folder, each message one update.

Threads repeat themselves: every reply quotes what came before. Each message keeps only what its
author wrote (quoted lines, "On ... wrote:" blocks, forwarded/original-message blocks and signatures
are dropped), and a message seen twice (same Message-ID, e.g. in the sent and the received folder)
becomes one update. The project comes from a subject tag ("[ParkPass] ..."), a "Project: X" line or an
X-Project header, else the thread's subject.
"""

from __future__ import annotations

import email
import hashlib
import mailbox
import re
from email import policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from assistant.updates import Update

Kind = Literal["mbox", "maildir"]
MAX_MESSAGE_BYTES = 5 * 1024 * 1024  # a status e-mail is small; a bigger one is mostly attachments


class MailboxError(ValueError):
    """A mailbox that cannot be read; the message names the path and the reason."""


class MailReport(BaseModel):
    path: str
    messages: int = 0
    updates: list[Update] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)  # why a message did not become an update


def mailbox_kind(path: Path) -> Kind | None:
    """'maildir' for a folder with cur/ and new/, 'mbox' for a file that starts like one, else None."""
    path = Path(path)
    if path.is_dir():
        return "maildir" if (path / "cur").is_dir() and (path / "new").is_dir() else None
    if path.is_file():
        from ingest.parse import SUPPORTED

        if path.suffix.lower() == ".mbox":
            return "mbox"
        if path.suffix.lower() in SUPPORTED:  # a note that happens to start with "From " stays a document
            return None
        try:
            with open(path, "rb") as fh:
                first = fh.readline(1000)
        except OSError:
            return None
        return "mbox" if _FROM_LINE.match(first) else None
    return None


_FROM_LINE = re.compile(rb"^From \S+ +\w{3} \w{3} +\d{1,2} \d\d:\d\d")  # "From a@b.c Mon Jun  3 10:00:00 2024"


def _factory(fh) -> EmailMessage:
    return email.message_from_binary_file(fh, policy=policy.default)


def read_messages(path: Path, kind: Kind) -> list[EmailMessage]:
    try:
        box = (mailbox.mbox(path, factory=_factory, create=False) if kind == "mbox"
               else mailbox.Maildir(path, factory=_factory, create=False))
        return [m for m in box if m is not None]
    except (OSError, mailbox.Error) as e:
        raise MailboxError(f"{path}: cannot read the {kind}: {e}") from e


# -- the author's own words ------------------------------------------------------------------------
_ATTRIBUTION = re.compile(r"^[ \t]*(On\b[^\n]{0,300}?(\n[^\n]{0,200}?)?\bwrote:|Le\b[^\n]{0,300}a écrit ?:|"
                          r"Am\b[^\n]{0,300}schrieb[^\n]*:)[ \t]*$", re.M)
_FORWARD = re.compile(r"^[ \t]*(-{2,}\s*(Original Message|Forwarded message)\s*-{2,}|Begin forwarded message:|"
                      r"From: [^\n]+\n(Sent|Date): [^\n]+)", re.M | re.I)
_SIGNATURE = re.compile(r"^-- ?$", re.M)


def own_text(body: str) -> str:
    """What the author wrote: no quoted lines, attribution lines, forwarded blocks or signature."""
    text = body.replace("\r\n", "\n")
    for pattern in (_FORWARD, _SIGNATURE):  # everything from here on is someone else's (or boilerplate)
        m = pattern.search(text)
        if m:
            text = text[: m.start()]
    text = _ATTRIBUTION.sub("", text)
    lines = [ln.rstrip() for ln in text.split("\n") if not ln.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _Text(HTMLParser):
    """HTML mail as text, quoted parts (blockquote, Gmail's and Outlook's quote blocks) left out."""

    _QUOTES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix", "divRplyFwdMsg", "OutlookMessageHeader")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0  # depth inside a quote, script or style
        self.stack: list[bool] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3"):
            self.parts.append("\n")
        if tag in ("br", "img", "hr", "meta", "link", "input"):
            return
        a = dict(attrs)
        quoted = tag in ("blockquote", "script", "style", "head") or any(
            q in (a.get("class") or "") or q == a.get("id") for q in self._QUOTES)
        self.stack.append(quoted)
        self.skip += quoted

    def handle_endtag(self, tag):
        if tag in ("br", "img", "hr", "meta", "link", "input"):
            return
        if self.stack:
            self.skip -= self.stack.pop()

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    p.close()
    return re.sub(r"[ \t]+\n", "\n", "".join(p.parts))


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):  # unknown charset or bad transfer encoding
        content = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    return html_text(content) if part.get_content_type() == "text/html" else content


# -- a message as an update ------------------------------------------------------------------------
_REPLY = re.compile(r"^\s*((re|fwd?|aw|sv|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
_TAG = re.compile(r"^\s*\[([^\]]{1,60})\]\s*")
_PROJECT_LINE = re.compile(r"^[ \t]*Project:[ \t]*(.{1,80}?)[ \t]*$", re.M | re.I)


def thread_subject(subject: str) -> str:
    """The subject without Re:/Fwd: prefixes."""
    return _REPLY.sub("", subject or "").strip()


def project_of(msg: EmailMessage, subject: str, text: str) -> str:
    tag = _TAG.match(subject)
    if tag:
        return tag.group(1).strip()
    line = _PROJECT_LINE.search(text)
    if line:
        return line.group(1).strip()
    header = str(msg.get("x-project", "") or "").strip()
    return header or _TAG.sub("", subject).strip() or "E-mail updates"


def message_key(msg: EmailMessage, text: str) -> str:
    mid = str(msg.get("message-id", "") or "").strip().strip("<>")
    if mid:
        return mid
    basis = "\x1f".join([str(msg.get("from", "")), str(msg.get("date", "")), str(msg.get("subject", "")), text])
    return "sha1:" + hashlib.sha1(basis.encode("utf-8", "replace")).hexdigest()


def _sender(msg: EmailMessage) -> tuple[str, str]:
    found = getaddresses([str(v) for v in msg.get_all("from", [])])
    return found[0] if found else ("", "")


def to_update(msg: EmailMessage, users_by_email: dict[str, str], groups: list[str] | None) -> Update | str:
    """The message as an Update, or the reason it is not one."""
    subject = re.sub(r"\s+", " ", str(msg.get("subject", "") or "")).strip()
    text = own_text(body_text(msg))
    if not text:
        return f"{subject or 'a message'}: nothing but quoted text"
    name, address = _sender(msg)
    try:
        date = parsedate_to_datetime(str(msg.get("date"))).date() if msg.get("date") else None
    except (TypeError, ValueError, IndexError):
        date = None
    thread = thread_subject(subject)
    project = project_of(msg, thread, text)
    title = _TAG.sub("", thread).strip() or project
    # A sender whose address is an account's writes with that account's groups; anyone else (a display name
    # proves nothing) with the run's or the default groups, and is named among the people.
    author = users_by_email.get(address.lower())
    kw = {"date": date} if date else {}
    return Update(project=project, text=text[:20_000], title=f"{title} ({name or address})" if title else "",
                  people=[name] if name else [], author=author, groups=groups,
                  message_id=message_key(msg, text), **kw)


def read_updates(path: Path, groups: list[str] | None = None) -> MailReport:
    """Every message of an mbox file or Maildir folder as an update, each Message-ID once."""
    from assistant.access import load_users

    path = Path(path)
    kind = mailbox_kind(path)
    if kind is None:
        raise MailboxError(f"{path}: not an mbox file or a Maildir folder (with cur/ and new/)")
    report = MailReport(path=str(path))
    users_by_email = {u.email.lower(): u.username for u in load_users().values() if u.email}
    seen: set[str] = set()
    for msg in read_messages(path, kind):
        report.messages += 1
        if len(msg.as_bytes()) > MAX_MESSAGE_BYTES:
            report.skipped.append(f"{msg.get('subject', 'a message')}: larger than {MAX_MESSAGE_BYTES >> 20} MB")
            continue
        u = to_update(msg, users_by_email, groups)
        if isinstance(u, str):
            report.skipped.append(u)
            continue
        if u.message_id in seen:
            report.skipped.append(f"{u.title}: the same message again ({u.message_id})")
            continue
        seen.add(u.message_id)
        report.updates.append(u)
    return report
