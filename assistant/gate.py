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
    want need needs able around about over after since still yet just only really currently lately long take
    took taken takes say said says stand stands right now what's where's who's how's let lets use used uses
    using wrote write written another other onto possible given instead somewhere hands-on talk talked
    anywhere anyone's our ours own kind way ways sure able things stuff lot lots bit get got put news newest
    progress happening""".split()
)
_CAP = re.compile(r"\b([A-Z][a-zA-Z0-9&\-]*[a-zA-Z0-9]|[A-Z]{2,})\b")
_GENERIC_CAPS = frozenset("""have has did do does is are was were can could would should will who what when where
which how any anything list tell show give find i we our us you your the a an in on of for and or with about
office department agency agencies state states federal government us u.s service services program team
project projects""".split())


# Document text that tries to instruct the assistant is kept out of the evidence.
INJECTION = re.compile(r"\b(ignore|disregard|forget) (all |any |your |the |previous |prior |above )*(instructions|rules|prompt)|"
                       r"\bsystem prompt\b|\byou are (now )?(an? )?(ai|assistant|chatbot|language model)\b|"
                       r"\b(assistant|ai|chatbot|model)s?,? (must|should) (say|answer|respond|claim)\b|"
                       r"\b(always|must) (answer|say|respond|reply) (yes|that)\b", re.I)

# A sentence that says what we did NOT do is no evidence that we did it ("CPQ was out of scope").
NEGATION = re.compile(r"\b(not|no|never|none|neither|nor|without|excluded?|exclusions?|declined|"
                      r"out of scope|outside (the |our )?scope|beyond (the )?scope|non-goals?|future phase|"
                      r"\w+n't|cannot|instead of|rather than|declined|kept (its|their) (own|existing|current)|"
                      r"(is|was) a different|separately run)\b", re.I)
NEG_HEADING = re.compile(r"\b(out of scope|not in scope|exclusions?|excluded|non-goals?|not included|"
                         r"future (work|phases?)|assumptions)\b", re.I)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "er", "ies", "es", "ed", "ly", "s")


def stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    for suf in _SUFFIXES:
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: -len(suf)] + ("y" if suf == "ies" else "")
    return w


def stems_of(text: str) -> set[str]:
    out = set()
    for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9'’/\-]*[A-Za-z0-9]|[A-Za-z0-9]", text):
        out.add(stem(w))
        if "-" in w or "/" in w:
            out.update(stem(p) for p in re.split(r"[-/]", w) if p)
    return out


@dataclass
class Verdict:
    match: bool
    coverage: float
    entity_coverage: float
    similarity: float
    missing: list[str]
    reason: str
    top_term_present: bool = True


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
    # Chosen on the "no" and "yes" questions of both datasets (evals/datasets), from a broad plateau
    # rather than a sharp optimum: meaning and words must together reach `min_evidence`, so a weak
    # passage needs most of the question's words and a close one fewer. The words are looked for in
    # the project's best three passages, not anywhere in long documents that mention everything.
    def __init__(self, stats: TermStats, min_similarity: float = 0.30, min_evidence: float = 0.84,
                 coverage_weight: float = 0.75, min_entities: float = 0.99, evidence_chunks: int = 3):
        self.stats = stats
        self.coverage_weight = coverage_weight
        self.evidence_chunks = evidence_chunks  # the words must co-occur in the project's best passages
        self.min_similarity = min_similarity
        self.min_evidence = min_evidence
        self.min_entities = min_entities
        self._idf: dict[str, float] = {}
        self._profiles: dict[tuple[str, str], tuple[set[str], set[str]]] = {}

    def profile(self, doc_id: str, version: str) -> tuple[set[str], set[str]]:
        """Word stems a document asserts, and stems it only mentions in negated sentences."""
        key = (doc_id, version)
        if key not in self._profiles:
            pos: set[str] = set()
            neg: set[str] = set()
            from assistant.citations import split_sentences

            for heading, body in self.stats.texts_of(doc_id):
                negated_section = bool(heading and NEG_HEADING.search(heading))
                if heading:
                    pos |= stems_of(heading) if not negated_section else set()
                for sent in split_sentences(body):
                    if INJECTION.search(sent):  # instructions planted in a document are not evidence
                        continue
                    (neg if negated_section or NEGATION.search(sent) else pos).update(stems_of(sent))
            self._profiles[key] = (pos, neg - pos)
        return self._profiles[key]

    def idf(self, term: str) -> float:
        if term not in self._idf:
            n = max(self.stats.total_docs(), 1)
            df = self.stats.doc_frequency(term)
            self._idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return self._idf[term]

    def chunk_profile(self, chunk) -> set[str]:
        """Stems a passage asserts (its negated and planted-instruction sentences left out)."""
        key = ("chunk", chunk.id)
        if key not in self._profiles:
            from assistant.citations import split_sentences

            negated_section = bool(chunk.heading and NEG_HEADING.search(chunk.heading))
            pos: set[str] = set()
            if chunk.heading and not negated_section:
                pos |= stems_of(chunk.heading)
            if not negated_section:
                for sent in split_sentences(chunk.text):
                    if not INJECTION.search(sent) and not NEGATION.search(sent):
                        pos |= stems_of(sent)
            self._profiles[key] = (pos, set())
        return self._profiles[key][0]

    def reset(self) -> None:
        self._idf.clear()
        if len(self._profiles) > 20000:
            self._profiles.clear()

    def judge(self, question: str, project: ProjectHit) -> Verdict:
        terms = key_terms(question)
        ents = entity_terms(question)
        meta = stems_of(" ".join(filter(None, [project.name, project.client or "",
                                               *(d.document.title for d in project.docs),
                                               *(d.document.client or "" for d in project.docs)])))
        asserted = set(meta)
        if self.evidence_chunks:
            for src in project.sources[: self.evidence_chunks]:
                asserted |= self.chunk_profile(src.chunk)
        else:
            for d in project.docs:
                asserted |= self.profile(d.document.id, d.document.content_hash)[0]
        present: dict[str, bool] = {}
        for t in dict.fromkeys(terms + ents):
            parts = stems_of(t)
            present[t] = stem(t) in asserted or bool(parts) and parts <= asserted
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values())
        coverage = sum(w for t, w in weights.items() if present[t]) / total if total else 1.0
        ent_cov = sum(present[e] for e in ents) / len(ents) if ents else 1.0
        missing = [t for t in dict.fromkeys(ents + sorted(terms, key=lambda t: -weights.get(t, 0))) if not present[t]]
        top_present = present[max(terms, key=lambda t: weights[t])] if terms else True
        sim = project.similarity
        if ent_cov < self.min_entities:
            return Verdict(False, coverage, ent_cov, sim, missing, f"names not found: {', '.join(e for e in ents if not present[e])}",
                           top_present)
        ok = sim >= self.min_similarity and sim + self.coverage_weight * coverage >= self.min_evidence
        why = f"similarity {sim:.2f}, key-term coverage {coverage:.0%}"
        if not ok and missing:
            why += f"; missing: {', '.join(missing[:4])}"
        return Verdict(ok, coverage, ent_cov, sim, missing, why, top_present)
