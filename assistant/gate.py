"""The evidence gate: does what we retrieved really show work like the question asks about?

A cosine threshold alone says "yes" to near-misses (same agency, different work; same technology,
different client), because those passages are close in meaning. So the gate also asks whether the
question's distinctive words are in the project's documents: each key term is weighted by its IDF in
the corpus, and names in the question (capitalised words: clients, products, technologies, people)
must be present. A project counts as a match only when meaning and words both agree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from assistant.lexical import STOPWORDS, TermStats, query_terms
from assistant.retrieval import ProjectHit

# Words that say what kind of question it is, not what it is about.
QUESTION_WORDS = STOPWORDS | frozenset(
    """build built make made create created develop developed help helped helping support supported provide
    provided deliver delivered experience experiences kind kinds sort type similar like something things thing
    company companies client clients customer customers team teams past before ever previously anybody
    somebody people person who whom know knows tell show list all every each which latest recent recently
    update updates status happen happened new many much more most also there here got get give go going
    want need needs able around about over after since still yet just only really currently lately""".split()
)
_CAP = re.compile(r"\b([A-Z][a-zA-Z0-9&\-]*[a-zA-Z0-9]|[A-Z]{2,})\b")
_GENERIC_CAPS = frozenset("""have has did do does is are was were can could would should will who what when where
which how any anything list tell show give find i we our us you your the a an in on of for and or with about
office department agency agencies state states federal government us u.s service services program team
project projects""".split())


@dataclass
class Verdict:
    match: bool
    coverage: float
    entity_coverage: float
    similarity: float
    missing: list[str]
    reason: str


def key_terms(question: str) -> list[str]:
    return [t for t in query_terms(question) if t not in QUESTION_WORDS]


def entity_terms(question: str) -> list[str]:
    """Capitalised words after the first word: names of clients, products, technologies, people."""
    words = question.split()
    rest = " ".join(words[1:]) if words else ""
    found = []
    for m in _CAP.finditer(rest):
        w = m.group(1).lower()
        if w not in _GENERIC_CAPS and w not in QUESTION_WORDS:
            found.append(w)
    return list(dict.fromkeys(found))


class Gate:
    def __init__(self, stats: TermStats, min_similarity: float = 0.30, min_coverage: float = 0.62,
                 strong_similarity: float = 0.62, strong_coverage: float = 0.45, min_entities: float = 0.99):
        self.stats = stats
        self.min_similarity = min_similarity
        self.min_coverage = min_coverage
        self.strong_similarity = strong_similarity
        self.strong_coverage = strong_coverage
        self.min_entities = min_entities
        self._idf: dict[str, float] = {}

    def idf(self, term: str) -> float:
        if term not in self._idf:
            n = max(self.stats.total_docs(), 1)
            df = self.stats.doc_frequency(term)
            self._idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return self._idf[term]

    def reset(self) -> None:
        self._idf.clear()

    def judge(self, question: str, project: ProjectHit) -> Verdict:
        terms = key_terms(question)
        ents = entity_terms(question)
        doc_ids = [d.document.id for d in project.docs]
        meta = " ".join(filter(None, [project.name, project.client or "",
                                      *(d.document.title for d in project.docs),
                                      *(d.document.client or "" for d in project.docs)])).lower()
        present: dict[str, bool] = {}
        for t in dict.fromkeys(terms + ents):
            present[t] = t in meta or bool(self.stats.docs_containing(t, doc_ids))
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values())
        coverage = sum(w for t, w in weights.items() if present[t]) / total if total else 1.0
        ent_cov = sum(present[e] for e in ents) / len(ents) if ents else 1.0
        missing = [t for t in dict.fromkeys(ents + sorted(terms, key=lambda t: -weights.get(t, 0))) if not present[t]]
        sim = project.similarity
        if ent_cov < self.min_entities:
            return Verdict(False, coverage, ent_cov, sim, missing, f"names not found: {', '.join(e for e in ents if not present[e])}")
        ok = (sim >= self.min_similarity and coverage >= self.min_coverage) or (
            sim >= self.strong_similarity and coverage >= self.strong_coverage)
        why = f"similarity {sim:.2f}, key-term coverage {coverage:.0%}"
        if not ok and missing:
            why += f"; missing: {', '.join(missing[:4])}"
        return Verdict(ok, coverage, ent_cov, sim, missing, why)
