"""Project updates: what happened on a project, from the app's form, the command line or an e-mail.

An update is written as a Markdown file with front matter under DATA_DIR/updates and ingested at once
through the Ingestor, like any other document (origin `update`, doc_type `update`). Its front-matter
`project:` makes it join that project in the project index, so it is on the project's timeline and is
searchable as soon as the call returns. It carries its author's access groups (or fewer, never more).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator

from assistant.settings import EVERYONE, Settings

ORIGIN = "update"
SOURCE_PREFIX = "update:"
MAX_TEXT = 20_000  # characters; an update is a paragraph or two, not a document dump


class UpdateError(ValueError):
    """Bad input for an update; the message names the field and the reason."""


class Update(BaseModel):
    project: str
    text: str  # what happened
    outcome: str = ""
    technologies: list[str] = Field(default_factory=list)
    people: list[str] = Field(default_factory=list)
    date: dt.date = Field(default_factory=dt.date.today)
    author: str | None = None  # a username when the author has an account, else a name
    title: str = ""
    client: str | None = None
    groups: list[str] | None = None  # None: the author's groups (or the default groups)
    message_id: str | None = None  # e-mail updates: the key that keeps one message one update

    @field_validator("project", "text")
    @classmethod
    def _required(cls, v: str, info) -> str:
        v = (v or "").strip()
        if not v:
            raise ValueError(f"{info.field_name} is empty")
        return v

    @field_validator("project")
    @classmethod
    def _short(cls, v: str) -> str:
        if len(v) > 120:
            raise ValueError("project name is longer than 120 characters")
        return v

    @field_validator("text", "outcome")
    @classmethod
    def _bounded(cls, v: str, info) -> str:
        if len(v) > MAX_TEXT:
            raise ValueError(f"{info.field_name} is longer than {MAX_TEXT} characters")
        return v.strip()

    @field_validator("technologies", "people")
    @classmethod
    def _tidy(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(s.strip() for s in v if s and s.strip()))

    @property
    def key(self) -> str:
        """Stable per update: the same e-mail (or the same form entry) written twice is one document."""
        basis = self.message_id or "\x1f".join([self.project, self.text, self.date.isoformat(), self.author or ""])
        return hashlib.sha1(basis.encode("utf-8")).hexdigest()[:10]

    def headline(self) -> str:
        if self.title:
            return self.title.strip()[:200]
        first = re.split(r"(?<=[.!?])\s", self.text, maxsplit=1)[0]
        first = first if len(first) <= 90 else first[:89].rsplit(" ", 1)[0] + "…"
        return f"{self.project} update: {first}"


def split_list(value: str | None) -> list[str]:
    """'a, b; c' -> ['a', 'b', 'c'] (the command line's and the form's lists)."""
    return [p.strip() for p in re.split(r"[,;\n]", value or "") if p.strip()]


def parse_date(value: str | None, field: str = "date") -> dt.date:
    if not value:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UpdateError(f"{field}: expected a date as YYYY-MM-DD, got {value!r}") from None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "project"


def author_groups(author: str | None, requested: list[str] | None, settings: Settings) -> list[str]:
    """The groups an update is readable by: the author's own groups, or the subset asked for.

    An author with an account may narrow an update to some of their groups but never publish into a
    group they are not in; without an account, the requested or the default groups apply."""
    from assistant.access import load_users

    user = load_users().get(author) if author else None
    requested = sorted(set(requested)) if requested else None
    if user is None:
        return requested or sorted(set(settings.default_groups or [EVERYONE]))
    own = sorted(set(user.groups or [EVERYONE]))
    if requested:
        outside = [g for g in requested if g not in own]
        if outside:
            raise UpdateError(f"groups: {author} is not in {', '.join(outside)}; choose from {', '.join(own)}")
        return requested
    return own


def author_name(author: str | None) -> str | None:
    """The display name of an author with an account, else the author as given."""
    from assistant.access import load_users

    user = load_users().get(author) if author else None
    return (user.name or user.username) if user else author


def to_markdown(u: Update) -> str:
    """The update as a document: front matter the metadata reader understands, then the text."""
    name = author_name(u.author)
    people = list(dict.fromkeys([*u.people, *([name] if name else [])]))
    front = {"title": u.headline(), "project": u.project, "doc_type": "update", "date": u.date.isoformat(),
             "people": people, "tags": u.technologies}
    if u.client:
        front["client"] = u.client
    if u.author:
        front["submitted_by"] = u.author  # not `author:`, which would replace the people list
    if u.message_id:
        front["message_id"] = u.message_id
    body = [f"# {u.headline()}", "", u.text, ""]
    if u.outcome:
        body += ["## Outcome", "", u.outcome, ""]
    if u.technologies:
        body += [f"Technologies: {', '.join(u.technologies)}", ""]
    if people:
        body += [f"People: {', '.join(people)}", ""]
    return "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n" + "\n".join(body)


def write(u: Update, settings: Settings) -> tuple[Path, str]:
    """Write the update's file; returns its path and its document source."""
    rel = f"{slug(u.project)}/{u.date.isoformat()}-{u.key}.md"
    path = settings.updates_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_markdown(u), encoding="utf-8")
    return path, SOURCE_PREFIX + rel


def add(engine, updates: list[Update]):
    """Write and ingest updates (one ingest per distinct set of groups). Returns the IngestReport, with
    `results[i]["source"]` naming each update's document."""
    from ingest.sync import IngestReport, Item

    settings = engine.settings
    batches: dict[tuple[str, ...], list[Item]] = {}
    for u in updates:
        groups = author_groups(u.author, u.groups, settings)
        if u.client is None:  # the project's client, as the author may see it
            from assistant.projects import norm

            index = engine.projects(groups)
            key = norm(u.project) if norm(u.project) in index.members else None
            u.client = index.client_of(key) if key else None
        path, source = write(u, settings)
        batches.setdefault(tuple(groups), []).append(Item(path=path, source=source, origin=ORIGIN))
    total = IngestReport()
    ingestor = engine.ingestor()
    for groups, items in batches.items():
        r = ingestor.ingest_items(items, list(groups))
        for f in ("added", "updated", "unchanged", "deleted", "new_chunks", "answered_gaps"):
            setattr(total, f, getattr(total, f) + getattr(r, f))
        total.failed += r.failed
        total.results += r.results
        total.documents, total.chunks, total.seconds = r.documents, r.chunks, total.seconds + r.seconds
    return total


def is_update(doc) -> bool:
    return doc.origin == ORIGIN or doc.source.startswith(SOURCE_PREFIX)
