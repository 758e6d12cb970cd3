"""E-mail out, through the SMTP server in the settings (stdlib smtplib and email).

PRECEDENT_SMTP_URL: `smtp://host:25` (plain), `smtp+starttls://user:pass@host:587` (STARTTLS) or
`smtps://user:pass@host:465` (TLS from the start). Every connection and command has a time-out
(PRECEDENT_SMTP_TIMEOUT), and a failed send comes back as a result with the reason, never an exception,
so a digest file is still written when the mail server is down.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, Field

SCHEMES = {"smtp": (25, "plain"), "smtp+starttls": (587, "starttls"), "smtps": (465, "tls")}


class MailError(ValueError):
    """The SMTP settings are wrong; the message names the setting and the reason."""


class SmtpConfig(BaseModel):
    host: str
    port: int
    mode: str  # plain | starttls | tls
    username: str | None = None
    password: str | None = None

    @property
    def where(self) -> str:  # for messages: never the password
        return f"{self.host}:{self.port}"


class MailResult(BaseModel):
    sent: list[str] = Field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.sent)


def smtp_config(url: str | None) -> SmtpConfig:
    if not url:
        raise MailError("PRECEDENT_SMTP_URL is not set: e-mail needs an SMTP server, e.g. smtp://mail.example.com:25")
    u = urlparse(url)
    if u.scheme not in SCHEMES:
        raise MailError(f"PRECEDENT_SMTP_URL: scheme {u.scheme!r} is not one of {', '.join(SCHEMES)}")
    if not u.hostname:
        raise MailError("PRECEDENT_SMTP_URL: no host name")
    try:
        port = u.port or SCHEMES[u.scheme][0]
    except ValueError:
        raise MailError("PRECEDENT_SMTP_URL: the port is not a number") from None
    return SmtpConfig(host=u.hostname, port=port, mode=SCHEMES[u.scheme][1],
                      username=unquote(u.username) if u.username else None,
                      password=unquote(u.password) if u.password else None)


def valid_address(addr: str) -> bool:
    _, a = parseaddr(addr or "")
    return "@" in a and " " not in a and not a.startswith("@") and not a.endswith("@")


def address_of(person: str, settings) -> str | None:
    """A person's e-mail: PRECEDENT_PEOPLE_EMAILS, else an account whose username or name matches."""
    from assistant.access import load_users

    wanted = person.strip().lower()
    for name, addr in settings.people_emails.items():
        if name.strip().lower() == wanted and valid_address(addr):
            return addr
    for u in load_users().values():
        if u.email and wanted in (u.username.lower(), (u.name or "").lower()) and valid_address(u.email):
            return u.email
    return None


def message(settings, to: str, subject: str, text: str, html: str | None = None,
            reply_to: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_sender
    msg["To"] = to
    msg["Subject"] = subject.replace("\n", " ").strip()[:200]
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=(parseaddr(settings.smtp_sender)[1].split("@")[-1] or "localhost"))
    if reply_to:
        msg["Reply-To"] = reply_to
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")  # multipart/alternative: clients that show HTML pick it
    return msg


def send(settings, to: list[str], subject: str, text: str, html: str | None = None,
         reply_to: str | None = None) -> MailResult:
    """One message per recipient (nobody sees the others' addresses). Never raises."""
    result = MailResult()
    bad = [a for a in to if not valid_address(a)]
    if bad:
        result.error = f"not an e-mail address: {', '.join(bad)}"
        return result
    if not to:
        result.error = "no recipients"
        return result
    try:
        cfg = smtp_config(settings.smtp_url)
        if not valid_address(settings.smtp_sender):
            raise MailError(f"PRECEDENT_SMTP_SENDER: {settings.smtp_sender!r} is not an e-mail address")
    except MailError as e:
        result.error = str(e)
        return result
    timeout = settings.smtp_timeout
    try:
        if cfg.mode == "tls":
            server = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout, context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
        with server:
            if cfg.mode == "starttls":
                server.starttls(context=ssl.create_default_context())
            if cfg.username:
                server.login(cfg.username, cfg.password or "")
            for addr in to:
                server.send_message(message(settings, addr, subject, text, html, reply_to))
                result.sent.append(addr)
    except (OSError, smtplib.SMTPException) as e:
        result.error = f"could not send through {cfg.where}: {type(e).__name__}: {e}"
    return result
