"""People a document names, by full name, with the role it states and the sentence that says so.

spaCy's named-entity recogniser proposes PERSON spans; we keep only what reads as a full name (two to four
capitalised words, none of them an ordinary word of the same document). A bare first name joins the one full
name in the document that starts with it ("Jessica" -> "Jessica Marine"), or is dropped. Front-matter authors
and e-mail display names are kept when they are names; a handle or slug ("vdavez", "jane-doe") is kept only
when the document's own text spells the name out. Precision comes first: a made-up colleague sent to a client
is worse than a missing one.

Each person carries how the document ties them to its work (`Person.tie`): they wrote it (an author, a byline,
the e-mail's sender), it was addressed to them, the text states their role ("Jane Doe, tech lead"), or lists
them beside someone so tied ("Jane Doe and Omar Haddad ran the planning week"). A name
the text only mentions ("said Secretary of Education Betsy DeVos", "requires Adobe Acrobat", a photo credit)
has no tie: it is kept apart as mentioned, and no project card, people list or "who has done X?" answer
offers it as someone who did the work.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from ingest.chunking import split_sentences
from ingest.offline import SPACY_PACKAGE, ensure_offline

MAX_CHARS = 60_000  # NER reads this much of a document: front pages and project write-ups name their people early
ROLE_WORDS = (
    # Ordinary job titles in services work (general English, not any one company's vocabulary).
    r"product owner|product manager|product lead|project manager|program manager|delivery manager|delivery lead|"
    r"engagement manager|account manager|engagement lead|tech(?:nical)? lead|engineering lead|design lead|"
    r"research lead|team lead|project lead|lead (?:designer|developer|engineer|researcher)|"
    r"(?:ux |ui |service |visual |interaction |content )?designer|content strategist|"
    r"(?:software|data|site reliability|devops|security|cloud|backend|frontend|full[- ]stack) engineer|"
    r"developer|engineer|architect|(?:user |ux )?researcher|data scientist|analyst|consultant|"
    r"acquisition(?:s)? (?:specialist|lead|strategist)|contracting officer|executive sponsor|director|"
    r"principal|partner|founder|chief [a-z]+ officer|scrum master|agile coach|coach"
)
LEAD = re.compile(r"\b(lead|led|manager|owner|head|director|principal|sponsor)\b", re.I)
_WORD = re.compile(r"[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*|[A-Z][a-z]*[A-Z][a-z]+|[A-Z]\.")
_STOP = {
    "the", "a", "an", "and", "or", "of", "for", "to", "in", "on", "at", "by", "with", "we", "our", "i", "you",
    "mr", "mrs", "ms", "dr", "prof", "sir", "dear", "hi", "hello", "thanks", "team", "office", "department",
    "agency", "service", "services", "project", "program", "product", "group", "center", "university", "inc",
    "llc", "ltd", "state", "city", "county", "federal", "national", "government", "general", "digital", "united",
    "street", "avenue", "road", "day", "week", "month", "year", "january", "february", "march", "april", "may",
    "june", "july", "august", "september", "october", "november", "december", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "sunday",
}
_BIGRAM = re.compile(r"\b[A-Z][a-z]+\.?\s+(?:[A-Z]\.\s+)?[A-Z][a-z]")
_TITLE = re.compile(r"^(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+")


@dataclass
class Person:
    name: str
    role: str | None = None
    evidence: str = ""  # the sentence that names them (and their role, when one is stated)
    tie: str = ""  # "wrote", "addressed", "role" or "listed": how the document ties them to the work; "" = mentioned


_nlp = None
_nlp_lock = threading.Lock()


def nlp():
    """The bundled en_core_web_sm, loaded once per process and shared: names use its recogniser (`NER_ONLY`),
    work claims (ingest.claims) its dependency parse (`PARSE_ONLY`)."""
    global _nlp
    if _nlp is None:
        with _nlp_lock:
            if _nlp is None:
                ensure_offline()
                import spacy

                _nlp = spacy.load(SPACY_PACKAGE, exclude=["senter", "morphologizer"])
    return _nlp


# Components switched off per call, so each reader pays only for what it uses.
NER_ONLY = ["tagger", "parser", "attribute_ruler", "lemmatizer"]
PARSE_ONLY = ["ner"]


def _lower_words(text: str) -> set[str]:
    return set(re.findall(r"(?<![A-Za-z])[a-z][a-z'’-]+", text))


def full_name(span: str, lower: set[str]) -> str | None:
    """'Jessica  Marine' -> 'Jessica Marine'; None unless 2-4 capitalised words that are not ordinary words here."""
    # A name does not run across a line break: "Nora Fitzgerald\nHalvorsen team: ..." is Nora Fitzgerald.
    span = span.strip().split("\n")[0]
    span = _TITLE.sub("", re.sub(r"\s+", " ", span).strip(" \t\"'“”‘’.,;:()[]"))
    span = re.sub(r"['’]s$", "", span)
    words = span.split()
    if not 2 <= len(words) <= 4 or not all(_WORD.fullmatch(w) for w in words):
        return None
    if any(w.lower().strip(".") in _STOP for w in words):
        return None
    # "Vendor Info", "Boston Is": a word this document also writes in lower case is not part of a name.
    if any(len(w) > 2 and w.lower() in lower for w in words):
        return None
    if words[-1].endswith("."):  # "Jane D." is an initial, not a surname
        return None
    return span


def abbreviates(short: str, name: str) -> bool:
    """Whether `short` is made of a beginning of each word of `name`, in order: "CSV" of "Comma Separated
    Values", "LOGWORLD" of "Logistics Worldwide"; not "USDS" of "Jane Doe"."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", name)]
    short = short.lower()

    def fits(rest: str, i: int) -> bool:
        if i == len(words):
            return not rest
        return any(rest[:k] == words[i][:k] and fits(rest[k:], i + 1) for k in range(1, min(len(rest), len(words[i])) + 1))

    return bool(words) and fits(short, 0)


def _slug_parts(handle: str) -> list[str]:
    return [p for p in re.split(r"[-_.\s]+", handle.lower()) if p]


def resolve_handle(handle: str, names: list[str]) -> str | None:
    """A front-matter author as written ('Jane Doe'), a handle the text spells out ('janedoe', 'jane', 'jdoe':
    only if one name in the text fits), or a first-last slug ('jane-doe'); None otherwise."""
    handle = handle.strip()
    if " " in handle and handle[:1].isupper():
        return full_name(handle, set())
    parts = _slug_parts(handle)
    if not parts:
        return None
    squashed = "".join(parts)
    hits = []
    for n in names:
        ws = [w.lower().strip(".") for w in n.split()]
        if squashed == "".join(ws) or parts == ws or (len(parts) == 1 and squashed == ws[0]) \
                or (len(parts) == 1 and squashed == ws[0][0] + ws[-1]):
            hits.append(n)
    if len(set(hits)) == 1:
        return hits[0]
    # "jane-doe" is the common first-last slug convention; longer slugs ("bill-smith-guest-doj") are not trusted.
    if len(parts) == 2 and re.search(r"[-_.]", handle) and all(p.isalpha() and len(p) >= 2 and p not in _STOP
                                                                for p in parts):
        return " ".join(p.capitalize() for p in parts)
    return None


def _role_near(name: str, sentence: str) -> str | None:
    """The role the sentence gives this person: 'Jane Doe, product owner', 'tech lead Jane Doe',
    'Jane Doe (designer)', 'Jane Doe is our delivery manager', 'led by Jane Doe'."""
    n = re.escape(name)
    for pattern in (
        n + r"\s*(?:,|\(|–|—|-)\s*(?:the |our |a |an )?(?:[A-Z][\w&.]* )?(" + ROLE_WORDS + r")\b",
        n + r"\s+(?:is|was|served as|works as|worked as|joined as)\s+(?:the |our |a |an )?(?:[\w-]+ ){0,2}?(" + ROLE_WORDS + r")\b",
        r"\b(" + ROLE_WORDS + r")\s*(?:,|:|\s(?:is|was|were))?\s+" + n,
    ):
        if m := re.search(pattern, sentence, re.I):
            return m.group(1).lower()
    if re.search(r"\b(?:led|managed|headed|run) by\s+" + n, sentence):
        return "lead"
    return None


def people_in(texts: list[str], authors: list[str] = (), addressed: list[str] = ()) -> list[Person]:
    """Everyone `texts` (the document's paragraphs, in order) name, then authors and e-mail recipients that are
    names, each with its tie (`Person.tie`)."""
    return read_names(texts, authors, addressed)[0]


# What a document calls the things it is about: organisations, products, laws, named events and sites.
THING_LABELS = {"ORG", "PRODUCT", "LAW", "WORK_OF_ART", "FAC", "EVENT"}
_DOMAIN = re.compile(r"(?<![\w@/.-])((?:[A-Za-z][\w-]*\.)+(?:gov|mil|com|org|io|edu|net))(?![\w-])")
MOST_THINGS = 8
# Names a document defines: initials in brackets after what they stand for ("Labor Category tool (CALC)"),
# or what something is called ("an approval tool called C2", "formerly known as Communicart").
_DEFINED = re.compile(r"(?<=[A-Za-z]) \((?P<initials>[A-Za-z][A-Za-z0-9.\-]{1,14})\)|"
                      r"\b(?:called|known as|dubbed)\s+(?P<called>[A-Z][\w.\-]*[\w](?:\s+[A-Z][\w.\-]*[\w]){0,3})")


ORG_LABELS = THING_LABELS | {"GPE", "LOC", "NORP"}


def read_names(texts: list[str], authors: list[str] = (), addressed: list[str] = (),
               orgs: list[str] = ()) -> tuple[list[Person], list[str]]:
    """People (as `people_in`), and the names of things the document mentions at least twice, most often first
    ("login.gov", "College Scorecard", "DATA Act"): what a project is known by. `orgs`: names the document is
    known to give organisations (its client), whose words are not people ("Maple Falls" of "City of Maple Falls")."""
    body = "\n".join(texts)[:MAX_CHARS]
    org_text = [o.lower() for o in orgs if o]
    org_starts = {o.split()[0].lower() for o in orgs if o and o.split()}
    entities: list[str] = []  # organisations and places as the recogniser tagged them
    things: dict[str, list] = {}  # lower-case key -> [count, first spelling]

    def thing(name: str, times: int = 1) -> None:
        name = re.sub(r"\s+", " ", name).strip(" \t\"'“”‘’.,;:()[]")
        name = re.sub(r"^(?i:the)\s+", "", name)
        if len(name) < 3 or not re.search(r"[A-Za-z]", name) or len(name.split()) > 6:
            return
        entry = things.setdefault(name.lower(), [0, name])
        entry[0] += times

    for m in _DOMAIN.finditer(body):
        thing(m.group(1))
    for m in _DEFINED.finditer(body):  # a name the document defines counts as named twice
        name = m.group("initials") or m.group("called")
        if m.group("called") or sum(ch.isupper() or ch.isdigit() for ch in name) >= 2:
            thing(name, times=2)
    lower = _lower_words(body)
    found: dict[str, Person] = {}
    firsts: list[tuple[str, str]] = []  # bare first names, with their sentence, joined once all full names are known
    # NER is the costly step of ingest: read only paragraphs where a full name can be (two capitalised words).
    text = "\n".join(t for t in texts if _BIGRAM.search(t))[:MAX_CHARS]
    if text.strip():
        doc = nlp()(text, disable=NER_ONLY)
        for ent in doc.ents:
            if ent.label_ in THING_LABELS:
                thing(ent.text)
            if ent.label_ in ORG_LABELS and ent.text.split():
                entities.append(ent.text.lower())
            if ent.label_ != "PERSON":
                continue
            sentence = _sentence_of(text, ent.start_char, ent.end_char)
            name = full_name(ent.text, lower)
            # "Comma Separated Values (CSV)", "Logistics Worldwide (LOGWORLD)": a name spelled out before its
            # abbreviation is a thing, not a person.
            if name and (m := re.match(r"\s*\(([A-Za-z]{2,15})s?\)", text[ent.end_char:])) \
                    and abbreviates(m.group(1), name):
                thing(name)
                continue
            if name and _inside_a_phrase(text[:ent.start_char]):
                thing(name)
                continue
            if name:
                p = found.setdefault(name, Person(name=name, evidence=sentence))
                if not p.role and (role := _role_near(name, sentence)):
                    p.role, p.evidence, p.tie = role, sentence, "role"
            elif re.fullmatch(r"[A-Z][a-z]+", ent.text.strip()):
                firsts.append((ent.text.strip(), sentence))
    full = list(found)
    for first, sentence in firsts:  # "Jessica" joins "Jessica Marine" when she is the only Jessica
        owners = {n for n in full if n.split()[0] == first}
        if len(owners) == 1:
            p = found[owners.pop()]
            if not p.role and (role := _role_near(first, sentence)):
                p.role, p.evidence, p.tie = role, sentence, "role"
    for tie, names in (("wrote", authors), ("addressed", addressed)):
        for raw in names:
            name = resolve_handle(str(raw), full) if raw else None
            if not name:
                continue
            p = found.setdefault(name, Person(name=name))
            if tie == "wrote" or not p.tie:  # writing it is the strongest tie; a stated role stays beside it
                p.tie = tie
    _join_lists(found, body)
    # A "person" whose name sits inside an organisation's or place's name, or starts as one does ("Larkspur
    # Rewards" beside "Larkspur Home & Garden", "Oracle Xstore" beside "Oracle"), is part of that name.
    # The small model tags some people as organisations ("Priya Raman's team"): an entity that starts with a
    # person's name found here is that person, not an organisation.
    names_lower = [n.lower() for n in found]
    for e in entities:
        e = re.sub(r"^the\s+", "", e)
        if not any(e.startswith(n) or n.startswith(e) for n in names_lower):  # "Andrew Hyder award" is his
            org_text.append(e)
            org_starts.add(e.split()[0])
    for name in list(found):
        if any(name.lower() in o for o in org_text) or name.split()[0].lower() in org_starts:
            del found[name]
    named = sorted((v for v in things.values() if v[0] >= 2), key=lambda v: -v[0])
    return list(found.values()), [v[1] for v in named[:MOST_THINGS]]


# Between two names of one list: "A, B", "A and B", "A (tech lead), B", "A & B".
_LIST_SEP = r"(?:\s*\([^()\n]{0,60}\))?\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)"


def _join_lists(found: dict[str, Person], body: str) -> None:
    """A name listed beside a colleague's ("Jane Doe and Omar Haddad ran the planning week", "Team: Priya Raman
    (engagement manager), Marcus Oyelaran, ...") is on the work with them: it takes the tie "listed", and a list
    passes it on along its names."""
    changed = True
    while changed:
        changed = False
        tied = [n for n, p in found.items() if p.tie]
        for name, p in found.items():
            if p.tie:
                continue
            a = re.escape(name)
            if any(re.search(re.escape(t) + _LIST_SEP + a + r"\b", body) or re.search(a + _LIST_SEP + re.escape(t), body)
                   for t in tied if t in body):
                p.tie, changed = "listed", True


# "a Starter Kit", "the Digital Playbook", "the GI Bill Statement of Benefits": two capitalised words right after
# an article or an acronym are part of a title or a thing. English puts neither before a person's name.
_BEFORE_A_THING = re.compile(r"(?:(?<![A-Za-z])(?:a|an|the|A|An|The)|\b[A-Z]{2,}(?<!['’]s))\s+$")


def _inside_a_phrase(before: str) -> bool:
    return bool(_BEFORE_A_THING.search(before[-40:]))


def _sentence_of(text: str, start: int, end: int) -> str:
    """The sentence around a character span, on its own line."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start: line_end if line_end != -1 else len(text)]
    offset = start - line_start
    pos = 0
    for s in split_sentences(line):
        i = line.find(s, pos)
        if i <= offset < i + len(s) + 1:
            return s
        pos = max(pos, i)
    return line.strip()
