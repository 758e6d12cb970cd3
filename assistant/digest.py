"""What's new: the digest of a period, for one viewer, as Markdown, as one self-contained HTML e-mail, or mailed.

It covers the projects that are new or have new documents, each new document or update with a
one-line cited summary (its opening sentence, numbered against the sources list), the people involved,
the questions of the period that found no record, and the viewer's own questions that now have an
answer. Everything is read through the viewer's groups (the store's group-filtered reads and the
viewer's project index), so a member's digest names nothing the member may not read.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from assistant.gaps import Gap, GapCluster, answered_for, clusters, now
from assistant.updates import is_update
from assistant.viewer import Viewer

SUMMARY_CHARS = 220


class DigestEntry(BaseModel):
    n: int  # its number in the sources list
    title: str
    summary: str
    source: str
    document_id: str
    date: str | None = None
    doc_type: str = ""
    people: list[str] = Field(default_factory=list)
    is_update: bool = False


class DigestProject(BaseModel):
    key: str
    name: str
    client: str | None = None
    status: Literal["new", "updated"]
    people: list[str] = Field(default_factory=list)
    entries: list[DigestEntry] = Field(default_factory=list)


class DigestSource(BaseModel):
    n: int
    title: str
    source: str
    date: str | None = None


class Digest(BaseModel):
    viewer: str
    since: datetime
    until: datetime
    projects: list[DigestProject] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    gaps: list[GapCluster] = Field(default_factory=list)
    answered: list[Gap] = Field(default_factory=list)
    sources: list[DigestSource] = Field(default_factory=list)

    @property
    def updates(self) -> int:
        return sum(1 for p in self.projects for e in p.entries if e.is_update)

    @property
    def hidden_questions(self) -> int:
        return sum(c.count for c in self.gaps if not c.visible)

    @property
    def title(self) -> str:
        return f"What's new: {self.since:%Y-%m-%d} to {self.until:%Y-%m-%d}"


def parse_since(value: str) -> datetime:
    """'7d', '24h', '2w' or an ISO date -> the start of the period (UTC)."""
    v = (value or "").strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([hdw])", v)
    if m:
        n = float(m.group(1))
        return now() - timedelta(hours=n) if m.group(2) == "h" else now() - timedelta(days=n * (7 if m.group(2) == "w" else 1))
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        raise ValueError(f"--since: expected a period such as 7d, 24h, 2w or a date YYYY-MM-DD, got {value!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=now().tzinfo)


def _line(text: str) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _repeats(title: str, summary: str) -> bool:
    """An update's generated title is its first sentence: showing both would say it twice."""
    words = lambda t: re.sub(r"[^a-z0-9 ]+", "", t.lower().split(": ", 1)[-1].rstrip("…"))
    head = words(title)
    return bool(head) and words(summary).startswith(head[: max(20, len(head) - 10)])


def build(engine, viewer: Viewer, since: datetime) -> Digest:
    until = now()
    digest = Digest(viewer=viewer.label, since=since, until=until)
    docs = engine.store.documents(groups=viewer.groups)  # the group-filtered read: nothing else is looked at
    index = engine.projects(viewer.groups)

    def recent(d) -> bool:
        return bool(d.ingested_at) and datetime.fromisoformat(d.ingested_at) >= since

    fresh = [d for d in docs if recent(d) and d.status == "ok"]
    by_key: dict[str, list] = {}
    for d in fresh:
        by_key.setdefault(index.key_of(d), []).append(d)
    people: list[str] = []
    n = 0
    # projects with the latest news first; inside one, the newest documents first
    for key, items in sorted(by_key.items(), key=lambda kv: max(d.ingested_at for d in kv[1]), reverse=True):
        members = index.members.get(key) or items
        status = "new" if all(recent(d) for d in members) else "updated"
        p = DigestProject(key=key, name=index.name_of(key), client=index.client_of(key), status=status)
        for d in sorted(items, key=lambda d: (d.date or "", d.ingested_at or ""), reverse=True):
            n += 1
            summary = _line(d.summary or d.title)
            title = "" if _repeats(d.title, summary) else d.title or d.source
            p.entries.append(DigestEntry(n=n, title=title, summary=summary,
                                         source=d.source, document_id=d.id, date=d.date, doc_type=d.doc_type,
                                         people=d.people, is_update=is_update(d) or d.doc_type == "update"))
            digest.sources.append(DigestSource(n=n, title=d.title or d.source, source=d.source, date=d.date))
            p.people += [x for x in d.people if x not in p.people]
        people += [x for x in p.people if x not in people]
        digest.projects.append(p)
    digest.people = sorted(people)
    digest.gaps = clusters(engine, viewer, status=None, since=since)
    if viewer.username:
        digest.answered = answered_for(engine, viewer, unseen_only=False, since=since)
        for g in digest.answered:
            for c in g.answer.citations:
                n += 1
                c.n = n  # renumbered into the digest's own sources list
                digest.sources.append(DigestSource(n=n, title=c.title or c.source, source=c.source, date=c.date))
    return digest


def _gap_line(c: GapCluster) -> tuple[str, str]:
    asked = f"asked {c.count} time{'s' if c.count != 1 else ''} by {c.askers} {'person' if c.askers == 1 else 'people'}"
    state = "answered since" if c.status == "answered" else "open"
    return asked + f", last on {c.last_asked:%Y-%m-%d} ({state})", ", ".join(
        f"{e.name} ({', '.join(e.projects)})" for e in c.who_might_know[:5])


def _answer_line(g: Gap) -> str:
    first = next((ln for ln in (g.answer.text or "").splitlines() if ln.strip()), "")
    return _line(re.sub(r"\[\d+\]", "", first))


def to_markdown(d: Digest) -> str:
    out = [f"# {d.title}", "",
           f"For {d.viewer}: {len(d.projects)} project{'s' if len(d.projects) != 1 else ''} with news, "
           f"{d.updates} update{'s' if d.updates != 1 else ''}, {len(d.people)} people.", ""]
    if d.answered:
        out += ["## Your questions that now have an answer", ""]
        for g in d.answered:
            cites = " ".join(f"[{c.n}]" for c in g.answer.citations)
            out.append(f"- Your question from {g.asked_at:%Y-%m-%d} now has an answer: *{g.question}* — "
                       f"{_answer_line(g)} {cites}")
        out.append("")
    out += ["## New and updated projects", ""]
    if not d.projects:
        out += ["Nothing new in this period.", ""]
    for p in d.projects:
        client = f" — {p.client}" if p.client else ""
        out += [f"### {p.name} ({p.status}){client}", ""]
        for e in p.entries:
            kind = "Update" if e.is_update else e.doc_type.replace("_", " ").capitalize()
            head = f"**{e.title}** — " if e.title else ""
            out.append(f"- {e.date or 'undated'} · {kind}: {head}{e.summary} [{e.n}]")
        if p.people:
            out += ["", f"People: {', '.join(p.people)}"]
        out.append("")
    out += ["## People involved", "", ", ".join(d.people) or "Nobody named.", ""]
    out += ["## Questions that found no record", ""]
    visible = [c for c in d.gaps if c.visible]
    if not d.gaps:
        out.append("None this period.")
    for c in visible:
        asked, who = _gap_line(c)
        out.append(f"- *{c.questions[0]}* — {asked}." + (f" Who might know: {who}." if who else ""))
    if d.hidden_questions:
        out.append(f"- {d.hidden_questions} more question{'s' if d.hidden_questions != 1 else ''} "
                   f"from others found no record (their text is shown to admins and the askers only).")
    out.append("")
    if d.sources:
        out += ["## Sources", ""]
        out += [f"[{s.n}] {s.title} — `{s.source}`" + (f", {s.date}" if s.date else "") for s in d.sources]
        out.append("")
    return "\n".join(out)


# Inline styles only: many e-mail clients drop <style> blocks, and nothing may load from the network.
_H1 = "font-size:22px;margin:0 0 4px 0;color:#111827"
_H2 = "font-size:17px;margin:24px 0 8px 0;color:#111827;border-bottom:1px solid #e5e7eb;padding-bottom:4px"
_H3 = "font-size:15px;margin:16px 0 6px 0;color:#1f2937"
_MUTED = "color:#6b7280;font-size:13px"
_BADGE = ("display:inline-block;padding:1px 6px;border-radius:8px;font-size:12px;background:{bg};color:{fg};"
          "margin-left:6px")
_CITE = "color:#2563eb;font-size:12px;vertical-align:super"


def _badge(text: str, new: bool) -> str:
    return f'<span style="{_BADGE.format(bg="#dcfce7" if new else "#dbeafe", fg="#166534" if new else "#1e40af")}">' \
           f"{html.escape(text)}</span>"


def to_html(d: Digest) -> str:
    e = html.escape
    parts = [f'<h1 style="{_H1}">{e(d.title)}</h1>',
             f'<p style="{_MUTED}">For {e(d.viewer)}: {len(d.projects)} projects with news, {d.updates} updates, '
             f"{len(d.people)} people.</p>"]
    if d.answered:
        parts.append(f'<h2 style="{_H2}">Your questions that now have an answer</h2><ul>')
        for g in d.answered:
            cites = " ".join(f'<span style="{_CITE}">[{c.n}]</span>' for c in g.answer.citations)
            parts.append(f"<li>Your question from {g.asked_at:%Y-%m-%d} now has an answer: <em>{e(g.question)}</em>"
                         f" — {e(_answer_line(g))} {cites}</li>")
        parts.append("</ul>")
    parts.append(f'<h2 style="{_H2}">New and updated projects</h2>')
    if not d.projects:
        parts.append("<p>Nothing new in this period.</p>")
    for p in d.projects:
        client = f' <span style="{_MUTED}">— {e(p.client)}</span>' if p.client else ""
        parts.append(f'<h3 style="{_H3}">{e(p.name)}{_badge(p.status, p.status == "new")}{client}</h3><ul>')
        for x in p.entries:
            kind = "Update" if x.is_update else x.doc_type.replace("_", " ").capitalize()
            parts.append(f'<li style="margin-bottom:6px"><span style="{_MUTED}">{e(x.date or "undated")} · '
                         f"{e(kind)}</span><br>" + (f"<strong>{e(x.title)}</strong> — " if x.title else "")
                         + f"{e(x.summary)} "
                         f'<span style="{_CITE}">[{x.n}]</span></li>')
        parts.append("</ul>")
        if p.people:
            parts.append(f'<p style="{_MUTED}">People: {e(", ".join(p.people))}</p>')
    parts.append(f'<h2 style="{_H2}">People involved</h2><p>{e(", ".join(d.people) or "Nobody named.")}</p>')
    parts.append(f'<h2 style="{_H2}">Questions that found no record</h2>')
    if not d.gaps:
        parts.append("<p>None this period.</p>")
    items = []
    for c in d.gaps:
        if not c.visible:
            continue
        asked, who = _gap_line(c)
        items.append(f"<li><em>{e(c.questions[0])}</em> — {e(asked)}."
                     + (f"<br><span style=\"{_MUTED}\">Who might know: {e(who)}</span>" if who else "") + "</li>")
    if d.hidden_questions:
        items.append(f"<li>{d.hidden_questions} more question{'s' if d.hidden_questions != 1 else ''} from others "
                     "found no record (their text is shown to admins and the askers only).</li>")
    if items:
        parts.append("<ul>" + "".join(items) + "</ul>")
    if d.sources:
        parts.append(f'<h2 style="{_H2}">Sources</h2><ol style="{_MUTED};padding-left:20px">')
        for s in d.sources:
            parts.append(f'<li value="{s.n}">{e(s.title)} — <code>{e(s.source)}</code>'
                         + (f", {e(s.date)}" if s.date else "") + "</li>")
        parts.append("</ol>")
    body = "\n".join(parts)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{e(d.title)}</title></head>\n"
            '<body style="margin:0;padding:0;background:#f3f4f6">'
            '<div style="max-width:680px;margin:0 auto;padding:24px;background:#ffffff;'
            'font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#111827">'
            f"\n{body}\n"
            f'<p style="{_MUTED};margin-top:24px">Sent by Precedent. Add an update on the app\'s "Add an update" '
            "page or with <code>precedent updates add</code>.</p></div></body></html>\n")


class Delivery(BaseModel):
    to: str
    viewer: str
    ok: bool
    error: str | None = None


def send(engine, since: datetime, viewer: Viewer | None = None, to: list[str] | None = None) -> list[Delivery]:
    """Mail the digest. A digest group (PRECEDENT_DIGEST_GROUP) gets one digest per member with an e-mail,
    each built for that member; plain addresses (`to`, else PRECEDENT_DIGEST_RECIPIENTS) get the digest
    of `viewer`, or the public view (group everyone, questions as counts) when no viewer is given."""
    from assistant import notify
    from assistant.access import load_users

    s = engine.settings
    jobs: list[tuple[str, Viewer]] = []
    if s.digest_group and not to:
        for u in load_users().values():
            if s.digest_group in u.groups and u.email:
                jobs.append((u.email, Viewer.from_user(u)))
    for addr in to or s.digest_recipients:
        jobs.append((addr, viewer or Viewer.public()))
    if not jobs:
        return [Delivery(to="", viewer="", ok=False, error="no recipients: set PRECEDENT_DIGEST_RECIPIENTS or "
                         "PRECEDENT_DIGEST_GROUP (members with an e-mail), or pass --to")]
    out = []
    built: dict[str, Digest] = {}
    for addr, v in jobs:
        d = built.get(v.model_dump_json()) or build(engine, v, since)
        built[v.model_dump_json()] = d
        r = notify.send(s, [addr], d.title, to_markdown(d), to_html(d))
        out.append(Delivery(to=addr, viewer=v.label, ok=r.ok, error=r.error))
    return out
