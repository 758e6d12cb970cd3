"""Words: how a question is read (key terms, names) and what a passage asserts, with one stemmer.

The stemmer is Porter's, from snowballstemmer: the same algorithm as the FTS5 `porter` tokenizer of
the lexical index, so a term the index matches is a term the judge counts. Sentences are split by
`citations.split_sentences`, the one splitter of the code base.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import snowballstemmer

from assistant.citations import split_sentences
from assistant.lexical import STOPWORDS, TermStats, query_terms

_PORTER = snowballstemmer.stemmer("porter")

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
    progress happening prospect prospects asked asking wants wanted""".split()
)
_CAP = re.compile(r"\b([A-Z][a-zA-Z0-9&\-]*[a-zA-Z0-9]|[A-Z]{2,})\b")
_SENTENCE_START = re.compile(r"(^|[.!?:;]\s+|[\"“(]\s*)$")
_GENERIC_CAPS = frozenset("""have has did do does is are was were can could would should will who what when where
which how any anything list tell show give find i we our us you your the a an in on of for and or with about
office department agency agencies state states federal government us u.s service services program team
project projects""".split())

# Document text that tries to instruct the assistant is kept out of the evidence.
INJECTION = re.compile(r"\b(ignore|disregard|forget) (all |any |your |the |previous |prior |above )*(instructions|rules|prompt)|"
                       r"\bsystem prompt\b|\byou are (now )?(an? )?(ai|assistant|chatbot|language model)\b|"
                       r"\b(assistant|ai|chatbot|model)s?,? (must|should) (say|answer|respond|claim)\b|"
                       r"\b(always|must) (answer|say|respond|reply) (yes|that)\b", re.I)

# A sentence that says what was NOT done is no evidence that it was ("CPQ was out of scope"). General
# English negation and scoping words only.
NEGATION = re.compile(r"\b(not|no|never|none|neither|nor|without|excluded?|exclusions?|declined|"
                      r"out of scope|outside (the |our )?scope|beyond (the )?scope|non-goals?|future phase|"
                      r"\w+n't|cannot|instead of|rather than)\b", re.I)
NEG_HEADING = re.compile(r"\b(out of scope|not in scope|exclusions?|excluded|non-goals?|not included|"
                         r"future (work|phases?)|assumptions)\b", re.I)

@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    return _PORTER.stemWord(w)


def stems_of(text: str) -> set[str]:
    out = set()
    # A dotted name ("code.gov", "Node.js") is kept whole as well as in pieces, so a question that names it
    # finds it; the whole form is required for it (its pieces are common words).
    for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9'’/\-.]*[A-Za-z0-9]|[A-Za-z0-9]", text):
        out.add(stem(w))
        if "-" in w or "/" in w or "." in w:
            out.update(stem(p) for p in re.split(r"[-/.]", w) if p)
    return out


def key_terms(question: str) -> list[str]:
    return [t for t in query_terms(question) if t not in QUESTION_WORDS]


def names_in(question: str) -> list[str]:
    """Capitalised words that are names (clients, products, technologies, people), not sentence starts."""
    found = []
    for m in _CAP.finditer(question):
        if _SENTENCE_START.search(question[: m.start()]):  # "Have …", or "… vendor. Did …": a sentence start
            continue
        w = m.group(1).lower()
        if w not in _GENERIC_CAPS and w not in QUESTION_WORDS:
            found.append(w)
    return list(dict.fromkeys(found))


@dataclass
class Evidence:
    coverage: float  # IDF-weighted share of key terms asserted in the project's best passages
    names: float  # share of the question's names found (1.0 when it names nothing)
    top_term_present: bool
    missing: list[str] = field(default_factory=list)


class TermEvidence:
    """What a project's passages and documents assert, measured against a question's terms (IDF-weighted,
    from the lexical index, with negated sentences and planted instructions left out)."""

    def __init__(self, stats: TermStats, evidence_chunks: int = 3):
        self.stats = stats
        self.evidence_chunks = evidence_chunks
        self._idf: dict[str, float] = {}
        self._df: dict[str, int] = {}
        self._profiles: dict[tuple[str, str], set[str]] = {}

    def reset(self) -> None:
        self._idf.clear()
        self._df.clear()
        if len(self._profiles) > 20000:
            self._profiles.clear()

    def idf(self, term: str) -> float:
        if term not in self._idf:
            n = max(self.stats.total_docs(), 1)
            df = self.df(term)
            self._idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return self._idf[term]

    def df(self, term: str) -> int:
        if term not in self._df:
            self._df[term] = self.stats.doc_frequency(term)
        return self._df[term]

    def profile(self, doc_id: str, version: str) -> set[str]:
        """Stems a whole document asserts."""
        key = (doc_id, version)
        if key not in self._profiles:
            pos: set[str] = set()
            for heading, body in self.stats.texts_of(doc_id):
                if heading and NEG_HEADING.search(heading):
                    continue
                if heading:
                    pos |= stems_of(heading)
                pos |= _asserted(body)
            self._profiles[key] = pos
        return self._profiles[key]

    def chunk_profile(self, chunk) -> set[str]:
        """Stems a passage asserts (its negated and planted-instruction sentences left out)."""
        key = ("chunk", chunk.id)
        if key not in self._profiles:
            pos: set[str] = set()
            if not (chunk.heading and NEG_HEADING.search(chunk.heading)):
                if chunk.heading:
                    pos |= stems_of(chunk.heading)
                pos |= _asserted(chunk.text)
            self._profiles[key] = pos
        return self._profiles[key]

    def _present(self, terms: list[str], asserted: set[str]) -> dict[str, bool]:
        out = {}
        for t in terms:
            # "market-research" is asserted by "market research" too: every piece, not the joined form
            parts = {stem(p) for p in re.split(r"[-/]", t) if p}
            out[t] = stem(t) in asserted or bool(parts) and parts <= asserted
        return out

    def _coverage(self, terms: list[str], present: dict[str, bool]) -> float:
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if present[t]) / total if total else 1.0

    def evidence(self, query, project) -> Evidence:
        terms, names = query.terms, query.names
        meta = _meta_stems(project)
        asserted = set(meta)
        for src in project.sources[: self.evidence_chunks]:
            asserted |= self.chunk_profile(src.chunk)
        present = self._present(list(dict.fromkeys(terms + names)), asserted)
        # A name may be asserted anywhere in the project's documents (a client named once at the top). Whole
        # documents are read only for a name the best passages lack, and cached by version.
        lacking = [n for n in names if not present[n]]
        if lacking:
            whole = set(asserted)
            for d in project.docs[:4]:
                whole |= self.profile(d.document.id, d.document.content_hash)
            present.update(self._present(lacking, whole))
        names_cov = sum(present[n] for n in names) / len(names) if names else 1.0
        top = max(terms, key=self.idf) if terms else None
        missing = [t for t in dict.fromkeys(names + sorted(terms, key=lambda t: -self.idf(t))) if not present[t]]
        return Evidence(self._coverage(terms, present), names_cov, present[top] if top else True, missing)

    def names_about(self, query, project) -> float:
        """Share of the question's names that say what the project *is* (its name, titles, client, what it is
        known as), not only what its documents mention: "the last FreightLens report" is about FreightLens,
        not about a proposal that cites FreightLens as a reference. 1 when the question names nothing."""
        if not query.names:
            return 1.0
        about = _meta_stems(project) | stems_of(" ".join(project.known_as))
        present = self._present(query.names, about)
        return sum(present.values()) / len(query.names)


def _meta_stems(project) -> set[str]:
    return stems_of(" ".join(filter(None, [project.name, project.client or "", *(d.document.title for d in project.docs),
                                           *(d.document.client or "" for d in project.docs)])))


def _asserted(text: str) -> set[str]:
    pos: set[str] = set()
    for sent in split_sentences(text):
        if not INJECTION.search(sent) and not NEGATION.search(sent):
            pos |= stems_of(sent)
    return pos
