"""Projects and people as first-class things, derived from document metadata.

A project is named by a document's explicit project (front matter, an e-mail subject tag such as
"[ParkPass]", "Project: X"). Documents that describe a client engagement without naming a project
(a case-study page with a client) become their own project, named by their title. Updates (posts,
status e-mails) that name no project are linked to the project whose tags or name they carry, so a
project has a timeline. The index is rebuilt from the document records whenever the store changes;
it needs no LLM.
"""

from __future__ import annotations

import re
from collections import defaultdict

from pydantic import BaseModel, Field

from assistant.models import Citation, Document

UPDATE_TYPES = {"post", "status_update", "email", "update", "news"}


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


class TimelineEntry(BaseModel):
    date: str | None
    title: str
    source: str
    doc_type: str


class ProjectCard(BaseModel):
    key: str
    name: str
    client: str | None = None
    start: str | None = None
    end: str | None = None
    people: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    summary: str = ""
    documents: list[str] = Field(default_factory=list)  # sources
    document_ids: list[str] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    highlights: list[Citation] = Field(default_factory=list)  # cited outcomes (Engine.project_card fills them)

    @property
    def period(self) -> str:
        if self.start and self.end and self.start[:7] != self.end[:7]:
            return f"{self.start[:7]} – {self.end[:7]}"
        return (self.start or self.end or "")[:7]


def _is_update(doc: Document) -> bool:
    return doc.doc_type in UPDATE_TYPES or doc.format == "eml"


class ProjectIndex:
    def __init__(self, docs: list[Document]):
        self.docs = {d.id: d for d in docs}
        self._key: dict[str, str] = {}
        self._name: dict[str, str] = {}
        self._client: dict[str, str | None] = {}
        tag_owner: dict[str, str] = {}
        # 1. Explicit projects, and anchor documents (client work that names no project).
        for d in docs:
            if d.project:
                key = norm(d.project)
                self._name.setdefault(key, d.project)
            elif d.client and not _is_update(d):
                key = f"doc:{d.source}"
                self._name[key] = d.title or d.source
            else:
                continue
            self._key[d.id] = key
            if d.client:
                self._client.setdefault(key, d.client)
            if not _is_update(d):
                for t in [*d.tags, self._name[key]]:
                    tag_owner.setdefault(norm(t), key)
        names = {norm(n): k for k, n in self._name.items()}
        # 2. Updates and other documents join the project whose tag or name they carry.
        for d in docs:
            if d.id in self._key:
                continue
            key = None
            for t in d.tags:
                key = tag_owner.get(norm(t)) or names.get(norm(t))
                if key:
                    break
            self._key[d.id] = key or f"doc:{d.source}"
            if not key:
                self._name[self._key[d.id]] = d.title or d.source
                self._client[self._key[d.id]] = d.client
        self.members: dict[str, list[Document]] = defaultdict(list)
        for d in docs:
            self.members[self._key[d.id]].append(d)

    def key_of(self, doc: Document) -> str:
        return self._key.get(doc.id) or (norm(doc.project) if doc.project else f"doc:{doc.source}")

    def name_of(self, key: str) -> str:
        return self._name.get(key, key.removeprefix("doc:"))

    def client_of(self, key: str) -> str | None:
        return self._client.get(key) or next((d.client for d in self.members.get(key, []) if d.client), None)

    def card(self, key: str, groups: list[str] | None = None) -> ProjectCard:
        docs = [d for d in self.members.get(key, []) if groups is None or set(d.groups) & set(groups)]
        docs.sort(key=lambda d: (d.date or "", d.source))
        dates = [d.date for d in docs if d.date]
        people: list[str] = []
        tags: list[str] = []
        for d in docs:
            people += [p for p in d.people if p not in people]
            tags += [t for t in d.tags if t not in tags]
        # The case study tells a project's story best; a SOW or proposal opens with legal boilerplate.
        anchor = min(docs, key=lambda d: ({"case_study": 0, "retrospective": 1, "report": 2}.get(
            d.doc_type, 3 if not _is_update(d) else 9), d.date or ""), default=None)
        return ProjectCard(
            key=key, name=self.name_of(key), client=self.client_of(key), start=min(dates) if dates else None,
            end=max(dates) if dates else None, people=people, tags=tags,
            summary=anchor.summary if anchor else "", documents=[d.source for d in docs],
            document_ids=[d.id for d in docs],
            timeline=[TimelineEntry(date=d.date, title=d.title or d.source, source=d.source, doc_type=d.doc_type)
                      for d in docs],
            groups=sorted({g for d in docs for g in d.groups}))

    def cards(self, groups: list[str] | None = None, min_docs: int = 1) -> list[ProjectCard]:
        # A roster spreadsheet feeds People but is not a project of its own.
        keys = [k for k, docs in self.members.items() if not all(d.doc_type == "spreadsheet" for d in docs)]
        out = [self.card(k, groups) for k in keys]
        out = [c for c in out if len(c.documents) >= min_docs]
        return sorted(out, key=lambda c: (c.end or "", c.name), reverse=True)

    def people(self, groups: list[str] | None = None) -> dict[str, list[ProjectCard]]:
        """Who worked on what: person -> their project cards."""
        who: dict[str, list[ProjectCard]] = defaultdict(list)
        for c in self.cards(groups):
            for p in c.people:
                who[p].append(c)
        return dict(sorted(who.items()))


def highlights(card, store, most: int = 3) -> list[Citation]:
    """Up to `most` outcome sentences quoted from a project's documents (case studies and retrospectives first)."""
    from assistant.citations import split_sentences
    from assistant.terms import NEGATION

    outcome = re.compile(r"\b(outcomes?|results?|impact|highlights?|achievements?|what we (delivered|achieved))\b", re.I)
    found: list[Citation] = []
    docs = [store.document(i) for i in card.document_ids]
    docs = sorted((d for d in docs if d), key=lambda d: d.doc_type not in ("case_study", "retrospective"))
    for d in docs:
        for c in store.chunks_of(d.id):
            in_outcomes = bool(c.heading and outcome.search(c.heading))
            for line in c.text.splitlines():
                if len(line.split()) <= 5 and outcome.search(line):  # a sub-heading inside the passage
                    in_outcomes = True
                    continue
                if not in_outcomes:
                    continue
                for sent in split_sentences(line):
                    sent = sent.strip().lstrip("*-• ").strip()
                    if len(sent.split()) >= 5 and sent in c.text and not NEGATION.search(sent):
                        found.append(Citation(n=len(found) + 1, source=d.source, title=d.title, document_id=d.id,
                                              chunk_id=c.id, page=c.page, slide=c.slide, section=c.heading,
                                              date=d.date, snippet=sent))
                        if len(found) == most:
                            return found
    return found
