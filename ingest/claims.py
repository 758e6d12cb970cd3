"""Work claims: the sentences in which a document says what *we* did ("We rebuilt the permit system").

An answer should say what was built before it says anything else, and a project page often opens with
context ("The agency plays a central role in ...") rather than with the work. A claim is a sentence whose
subject is the first-person plural (we, our team, our designers) and whose verb, or a verb it governs ("we
worked with the agency to build ..."), is a verb of delivery; a negated, conditional or reported one ("asked
whether we had built") is not a claim. Subject and verb come from spaCy's dependency parse (the bundled
en_core_web_sm). Only sentences with a first-person plural word are parsed, which keeps the cost small.

Claims were also tried as evidence for the judge (the question's closeness to the project's best claim): on
corpora the judge was not fitted on it did not separate matches from near misses better than the passages do.
"""

from __future__ import annotations

import re

from ingest.chunking import split_sentences
from ingest.people import PARSE_ONLY, nlp

MAX_CLAIMS = 5           # per document, in document order: a page says what it did early
MAX_TEXT = 60_000        # characters of a document read for claims, as for names
_FIRST_PERSON = re.compile(r"\b(we|our)\b", re.I)

# Verbs of delivering work, general English: what a services company says it did for a client.
DELIVERY = frozenset("""
build rebuild create design redesign develop launch relaunch ship release deploy implement deliver migrate
modernize modernise replace retire consolidate integrate automate digitize digitise prototype pilot test
research interview map audit assess evaluate analyze analyse recommend plan scope draft write publish
help assist support partner work collaborate lead run conduct coach train teach onboard set establish stand
improve streamline simplify transform overhaul refactor fix reduce cut speed move transition convert host
make produce introduce expand scale open standardize standardise procure acquire award hire
""".split())


def _first_person_subject(tok) -> bool:
    """'we', or a subject noun of our own ('our team', 'our designers')."""
    if tok.lower_ == "we":
        return True
    return tok.pos_ in ("NOUN", "PROPN") and any(c.dep_ == "poss" and c.lower_ == "our" for c in tok.children)


def _delivers(verb) -> bool:
    """The verb, or an open clause or coordinated verb under it, is a verb of delivery."""
    stack, seen = [verb], 0
    while stack and seen < 6:
        v = stack.pop()
        seen += 1
        if v.pos_ in ("VERB", "AUX") and v.lemma_.lower() in DELIVERY:
            return True
        stack.extend(c for c in v.children if c.dep_ in ("xcomp", "conj", "advcl") and c.pos_ == "VERB")
    return False


def _reported(verb) -> bool:
    """The verb sits in a question or a condition ("asked whether we had built", "if we build")."""
    return any(c.dep_ == "mark" and c.lower_ in ("whether", "if", "unless")
               for v in [verb, *verb.ancestors] for c in v.children)


def is_claim(sent) -> bool:
    """A parsed sentence claims delivered work. Any negation ("we have not, and we did not bid") or a
    question claims nothing."""
    if sent.text.rstrip().endswith("?") or any(t.dep_ == "neg" for t in sent):
        return False
    return any(tok.dep_ in ("nsubj", "nsubjpass") and _first_person_subject(tok) and _delivers(tok.head)
               and not _reported(tok.head) for tok in sent)


def work_claims(texts: list[str], limit: int = MAX_CLAIMS) -> list[str]:
    """The claims among these texts' sentences, verbatim (so they can be cited), first ones first."""
    sentences = [s.strip().lstrip("*-•# ").strip() for t in texts for s in split_sentences(t)]
    todo, seen, total = [], set(), 0
    for s in sentences:
        total += len(s)
        if total > MAX_TEXT:
            break
        if 30 <= len(s) <= 600 and len(s.split()) >= 6 and _FIRST_PERSON.search(s) and s.lower() not in seen:
            seen.add(s.lower())
            todo.append(s)
    out: list[str] = []
    for doc in nlp().pipe(todo, batch_size=64, disable=PARSE_ONLY):
        if is_claim(doc):
            out.append(doc.text)
            if len(out) >= limit:
                break
    return out
