"""Understand a question once: its standalone form, key terms, names and intent, as one typed Query."""

from __future__ import annotations

import re

from assistant.models import Query
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


# Words a "what have we done for <client>?" question may hold besides the client's name (general English).
_LISTING_WORDS = {"work", "worked", "project", "projects", "done", "did", "do", "delivered", "built", "client",
                  "customer", "ever", "past", "previous", "previously", "us", "company"}


def client_listing(text: str, index) -> list[str]:
    """The project keys of the client a listing question names, when it asks about nothing else
    ("What have we done for the State Department?"); else []. `index` is a ProjectIndex."""
    if intent_of(text) != "list":
        return []
    cards = index.for_client(text)
    if not cards:
        return []
    client_words = {stem(w) for c in cards for w in key_terms(c.client or "")}
    rest = [t for t in key_terms(text) if stem(t) not in client_words and t not in _LISTING_WORDS]
    return [] if rest else [c.key for c in cards]


def understand(text: str, standalone: str | None = None, topic: str | None = None, followup: bool = False) -> Query:
    """`standalone`: the question with its conversation folded in; `topic`: what to judge the evidence on."""
    topic = topic or standalone or text
    return Query(text=text, standalone=standalone or text, topic=topic, terms=key_terms(topic),
                 names=names_in(topic), intent=intent_of(text), followup=followup)
