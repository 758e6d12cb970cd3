"""The shared vocabulary: every stage speaks in these types.

Document -> Chunk (ingest) -> Source (retrieval) -> Citation / ProjectMatch -> Answer (answerers, UI, CLI, evals).
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from assistant.settings import EVERYONE


def stable_id(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


class Document(BaseModel):
    """One ingested file (or upload). One record per document lives beside its chunks."""

    source: str  # path relative to the folder ingested, or the upload's file name
    title: str = ""
    content_hash: str = ""
    format: str = ""  # pdf, docx, pptx, xlsx, csv, html, md, txt, eml
    doc_type: str = "document"  # case_study, proposal, status_update, retrospective, deck, staffing, post, page ...
    date: str | None = None  # ISO date most descriptive of the document
    project: str | None = None
    client: str | None = None
    people: list[str] = Field(default_factory=list)  # full names of people tied to the work (ingest.people)
    authors: list[str] = Field(default_factory=list)  # of those, who wrote it (byline, front matter, sender)
    mentioned: list[str] = Field(default_factory=list)  # full names the text names without tying them to the work
    roles: dict[str, str] = Field(default_factory=dict)  # person -> the role the text states ("product owner")
    evidence: dict[str, str] = Field(default_factory=dict)  # person -> the sentence that names them
    things: list[str] = Field(default_factory=list)  # names of what it is about ("login.gov"), most mentioned first
    claims: list[str] = Field(default_factory=list)  # sentences that say what we did ("We built ..."), verbatim
    tags: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=lambda: [EVERYONE])
    summary: str = ""  # the opening sentence
    chunk_count: int = 0
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None
    ingested_at: str | None = None
    bytes: int = 0
    origin: str | None = None  # the folder it was ingested from ("upload" for uploads), for --prune
    original: str | None = None  # path of the stored copy of the original file, for download
    describer: int = 0  # the metadata extractor's version: a newer one re-describes unchanged files
    # What the document is about, as one vector (the mean of its passages', float16, base64). Kept beside the
    # record, not in its JSON, so that API and CLI output stay readable; the project index compares them.
    _centroid: str = PrivateAttr(default="")

    @property
    def id(self) -> str:
        return stable_id("doc", self.source)

    @property
    def revision(self) -> str:
        """Changes with anything a reader filters or shows by: content, access groups, indexed metadata.
        Instances sync their lexical index on it, so narrowing groups (same bytes) still propagates."""
        fields = [self.content_hash, "|".join(sorted(self.groups)), self.client or "", self.project or "",
                  self.date or "", self.format, self.doc_type, self.title]
        return hashlib.sha1("\x1f".join(fields).encode("utf-8")).hexdigest()[:16]


class Chunk(BaseModel):
    """A piece of a document small enough for the embedder, with where it came from."""

    document_id: str
    index: int
    text: str  # the passage itself
    heading: str | None = None  # the section heading it sits under
    page: int | None = None
    slide: int | None = None
    version: str = ""  # the document's content hash when this chunk was written

    @property
    def id(self) -> str:
        return stable_id("chunk", self.document_id, self.version, str(self.index))

    @property
    def embed_text(self) -> str:
        """What is embedded and indexed: the heading travels with its text."""
        return f"{self.heading}\n{self.text}" if self.heading and self.heading not in self.text[:200] else self.text

    @property
    def location(self) -> str:
        parts = []
        if self.page is not None:
            parts.append(f"p. {self.page}")
        if self.slide is not None:
            parts.append(f"slide {self.slide}")
        if self.heading:
            parts.append(f"§ {self.heading}")
        return ", ".join(parts)


class Source(BaseModel):
    """A retrieved chunk as the answerer sees it, with its scores."""

    chunk: Chunk
    document: Document
    score: float = 0.0  # fused score
    dense: float | None = None  # cosine similarity, when dense search found it
    lexical: float | None = None  # BM25 score, when lexical search found it
    dense_rank: int | None = None
    lexical_rank: int | None = None


class Filters(BaseModel):
    """Metadata filters applied inside the store query, never after composition."""

    client: str | None = None
    project: str | None = None
    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None
    format: str | None = None
    doc_type: str | None = None
    groups: list[str] | None = None  # the asker's groups; None = no restriction (local admin)
    doc_ids: list[str] | None = None  # the documents a follow-up question is about

    def is_empty(self) -> bool:
        return not any(v for k, v in self.model_dump().items() if k not in ("groups", "doc_ids"))


class Query(BaseModel):
    """A question understood once (`assistant.query.understand`) and passed down to every stage."""

    text: str  # as asked
    standalone: str = ""  # with the conversation folded in: what retrieval searches for
    topic: str = ""  # what the evidence is judged against (a follow-up's topic, or the question itself)
    terms: list[str] = Field(default_factory=list)  # key terms of the topic, question words left out
    names: list[str] = Field(default_factory=list)  # capitalised names in the topic (clients, products)
    intent: Literal["yes_no", "list", "who", "latest"] = "yes_no"
    followup: bool = False
    listed: list[str] = Field(default_factory=list)  # index keys when it lists by client, year, technology, "now"


class Citation(BaseModel):
    n: int
    source: str
    title: str = ""
    document_id: str = ""
    chunk_id: str = ""
    page: int | None = None
    slide: int | None = None
    section: str | None = None
    date: str | None = None
    snippet: str = ""  # the exact passage text that supports the claim

    @property
    def location(self) -> str:
        parts = [f"p. {self.page}" if self.page is not None else "", f"slide {self.slide}" if self.slide else ""]
        if self.section:
            parts.append(f"§ {self.section}")
        return ", ".join(p for p in parts if p)


class ProjectMatch(BaseModel):
    """A project that the evidence points at, with its best evidence."""

    name: str
    key: str | None = None  # the project's key in the project index (links to its card)
    client: str | None = None
    start: str | None = None
    end: str | None = None
    people: list[str] = Field(default_factory=list)
    roles: dict[str, str] = Field(default_factory=dict)  # person -> stated role, for "who to talk to"
    known_as: list[str] = Field(default_factory=list)  # the names its documents give what was built
    sources: list[str] = Field(default_factory=list)  # document sources, best first
    document_ids: list[str] = Field(default_factory=list)
    summary: str = ""
    citations: list[int] = Field(default_factory=list)
    score: float = 0.0
    is_match: bool = True
    is_project: bool = True  # False: a document of no project (a post, a page), shown as itself

    @property
    def period(self) -> str:
        if self.start and self.end and self.start[:7] != self.end[:7]:
            return f"{self.start[:7]} – {self.end[:7]}"
        return (self.start or self.end or "")[:7]


class Retrieved(BaseModel):
    """A document in the ranked list, for evaluation and display."""

    source: str
    rank: int
    score: float
    project: str | None = None


class Answer(BaseModel):
    question: str
    standalone_question: str = ""
    answer: str = ""
    verdict: Literal["yes", "related", "no"] = "no"
    confidence: float = 0.0  # calibrated P(match) of the best project
    abstained: bool = False  # verdict == "no"
    reason: str = ""  # why the gate said yes or no
    citations: list[Citation] = Field(default_factory=list)
    projects: list[ProjectMatch] = Field(default_factory=list)  # matches
    closest: list[ProjectMatch] = Field(default_factory=list)  # shown when abstaining: not a match
    also: list[ProjectMatch] = Field(default_factory=list)  # shown under a "yes": related, not confirmed
    people: list[dict] = Field(default_factory=list)  # expertise answers: name, evidence
    uncited_sentences: list[str] = Field(default_factory=list)
    removed_citations: list[int] = Field(default_factory=list)
    retrieved: list[Retrieved] = Field(default_factory=list)
    answerer: Literal["extractive", "llm"] = "extractive"
    notice: str | None = None  # e.g. "LLM unavailable; showing the extractive answer"
    candidates: list[dict] = Field(default_factory=list)  # judged projects: name, sources, p, features
    timings: dict[str, float] = Field(default_factory=dict)  # milliseconds

    def to_markdown(self) -> str:
        lines = [self.answer.strip(), ""]
        if self.citations:
            lines.append("**Sources**")
            for c in self.citations:
                loc = f" ({c.location})" if c.location else ""
                date = f", {c.date}" if c.date else ""
                lines.append(f"[{c.n}] {c.title or c.source} — `{c.source}`{loc}{date}")
        return "\n".join(lines).strip() + "\n"


class Turn(BaseModel):
    """One earlier exchange in a conversation. `answer` may be missing (e.g. an eval's history)."""

    question: str
    answer: Answer | None = None
