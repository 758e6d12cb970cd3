"""Follow-up questions resolved without an LLM: carry forward the projects in focus.

"Who led that one?" after "Have we built a permit system?" becomes a question about the projects the
previous answer named; "the second one" picks the second of them. The retrieval query is the earlier
question plus the new one, restricted to the documents of the projects in focus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.terms import key_terms, names_in
from assistant.models import Turn

_REFERS = re.compile(
    r"\b(that|this|it|its|they|them|their|those|these|there|he|she|him|her|his|same|above|previous|former|latter|"
    r"the (first|second|third|fourth|fifth|last|other) (one|project)|(that|this|which) (one|project|work|engagement)|"
    r"the project|the client|the team)\b", re.I)
_ORDINAL = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "last": -1}
_ORD_RE = re.compile(r"\b(first|second|third|fourth|fifth|last)\b(?:\s+(?:one|project|match|result))?", re.I)


@dataclass
class Resolved:
    standalone: str
    is_followup: bool
    focus_projects: list[str]  # names of projects in focus
    focus_doc_ids: list[str] | None  # restrict retrieval to these documents
    topic: str | None = None  # a topic of its own, searched and judged afresh (None: the projects in focus stand)


def is_followup(question: str, history: list[Turn]) -> bool:
    if not history:
        return False
    if _REFERS.search(question) or _ORD_RE.search(question):
        return True
    return len(key_terms(question)) <= 1  # "and the outcome?" carries no topic of its own


def resolve(question: str, history: list[Turn]) -> Resolved:
    if not is_followup(question, history):
        return Resolved(question, False, [], None)
    prev = history[-1]
    prev_q = prev.answer.standalone_question if prev.answer and prev.answer.standalone_question else prev.question
    standalone = f"{prev_q} {question}"
    # "And what about the FAFSA?" brings a topic of its own: search afresh, and judge that topic.
    new_terms = set(key_terms(question)) - set(key_terms(prev_q))
    new_names = set(names_in(question)) - set(names_in(prev_q))
    explicit = _ORD_RE.search(question) or re.search(r"\b(that|this|the same) (one|project|work|engagement)\b", question, re.I)
    what_about = re.match(r"\s*(and\s+)?(what|how)\s+about\b", question, re.I)
    # (Otherwise the engine checks whether the new words appear in the projects in focus.)
    if not explicit and (new_names or (what_about and new_terms)):
        return Resolved(standalone, True, [], None, topic=question)
    focus = []
    if prev.answer is not None:
        focus = prev.answer.projects or []
        m = _ORD_RE.search(question)
        if m and focus:
            i = _ORDINAL[m.group(1).lower()]
            if -len(focus) <= i < len(focus):
                focus = [focus[i]]
    doc_ids = None
    if focus:
        doc_ids = [d for p in focus for d in p.document_ids]
    return Resolved(standalone, True, [p.name for p in focus], doc_ids or None)
