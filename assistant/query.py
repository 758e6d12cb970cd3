"""Understand a question once: its standalone form, key terms, names and intent, as one typed Query."""

from __future__ import annotations

import re

from assistant.models import Query
from assistant.projects import initialisms
from assistant.retrieval import wants_recent
from assistant.terms import key_terms, names_in, stem

WHO = re.compile(r"^\s*(who\b|whom\b|which (people|person|colleagues?|engineers?|designers?|staff|employees?)\b)|"
                 r"\b(anyone|anybody|someone|somebody) (who|with|that)\b|\btalk to\b|\bexperts?\b|"
                 r"\bwho (has|have|had|was|were|led|worked|knows?)\b", re.I)
LIST = re.compile(r"\b(what (work|projects?|have we done)|which (projects?|clients?|agencies)|list|all (the )?"
                  r"(projects?|work)|everything)\b", re.I)


def intent_of(text: str) -> str:
    if WHO.search(text):
        return "who"
    if wants_recent(text):
        return "latest"
    if LIST.search(text):
        return "list"
    return "yes_no"


# Words a listing question may hold besides what it lists by (general English).
_LISTING_WORDS = {"work", "worked", "working", "project", "projects", "done", "did", "do", "delivered", "built",
                  "client", "customer", "ever", "past", "previous", "previously", "us", "company", "year", "years",
                  "now", "currently", "current", "right", "moment", "today", "active", "ongoing", "running",
                  "technology", "technologies", "using", "used", "use", "stack", "run", "ran", "had", "have", "has",
                  "took", "handled", "started", "finished", "completed",
                  "across", "including", "included", "together", "overall"}  # "across DOJ, FBI included"
_NOW = re.compile(r"\b(working on|currently|right now|at the moment|these days|ongoing|active|in progress|now)\b", re.I)
_YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
RECENT_DAYS = 90  # "what are we working on now?": active in the registry, or an update this recent


def _only(text: str, allowed: set[str]) -> bool:
    """The question asks about nothing but `allowed` (stems) and listing words."""
    return not [t for t in key_terms(text) if stem(t) not in allowed and t not in _LISTING_WORDS
                and not _YEAR.fullmatch(t)]


def listing(text: str, index, today: str | None = None) -> list[str]:
    """Project keys for a question that lists projects by client, year, technology or "now", and asks
    about nothing else: "What have we done for the State Department?", "Projects in 2019", "Which projects
    used Kafka?", "What are we working on now?". [] otherwise. `index` is a ProjectIndex."""
    import datetime as dt

    if intent_of(text) not in ("list", "latest") and not re.match(r"(?i)\s*projects?\b", text):
        return []
    if cards := index.for_client(text):
        if _only(text, {stem(w) for c in cards for w in key_terms(" ".join([c.client or "", *initialisms(c.client or "")]))}):
            return [c.key for c in cards]
    all_cards = index.cards()
    words = {stem(t) for t in key_terms(text)}
    tech = [c for c in all_cards if any(stem(t) in words for x in c.technologies for t in key_terms(x))]
    if tech and _only(text, {stem(t) for c in tech for x in c.technologies for t in key_terms(x)}):
        return [c.key for c in tech]
    if (years := _YEAR.findall(text)) and _only(text, set()):
        return [c.key for c in all_cards if c.start and any(
            c.start[:4] <= y <= (c.end or c.start)[:4] for y in years)]
    if _NOW.search(text) and _only(text, set()):
        since = (dt.date.fromisoformat(today) if today else dt.date.today()) - dt.timedelta(days=RECENT_DAYS)
        return [c.key for c in all_cards if c.status == "active" or (c.status is None and (c.end or "") >= since.isoformat())]
    return []


def understand(text: str, standalone: str | None = None, topic: str | None = None, followup: bool = False) -> Query:
    """`standalone`: the question with its conversation folded in; `topic`: what to judge the evidence on."""
    topic = topic or standalone or text
    return Query(text=text, standalone=standalone or text, topic=topic, terms=key_terms(topic),
                 names=names_in(topic), intent=intent_of(text), followup=followup)
