"""Projects and people as first-class things: from the registry when there is one, else from document metadata.

Documents join a project, in this order: by the registry's folder; by explicit metadata (front matter
`project:`, an e-mail subject tag such as "[ParkPass]", "Project: X", a project folder); by a registry name
or alias in their tags or title. Without a registry a project is conservative: an explicit project name,
or a client-work document (project page, case study, proposal, retrospective) that names none. An update
joins a project only on strong evidence: it names the project, or carries a tag that is distinctive for it
(held by that project alone, and by few documents: a series tag such as "agency work" is not evidence).
Anything else stays a document, searchable and citable, but not a project card. A project's period comes
from the registry, else from its documents' own dates. The index is rebuilt from the records whenever the
store changes; it needs no LLM.
"""

from __future__ import annotations

import re
from collections import defaultdict

from pydantic import BaseModel, Field

from assistant.models import Citation, Document
from assistant.registry import Registry, RegistryProject

UPDATE_TYPES = {"post", "status_update", "email", "update", "news"}
CLIENT_WORK = {"project_page", "case_study", "proposal", "retrospective"}  # documents that describe an engagement
DISTINCTIVE_SHARE = 0.10  # a tag on more than this share of the documents is a series, not a project's own


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


_ORG_FILLER = {"the", "of", "for", "and", "u", "s", "us", "department", "dept", "office", "agency", "ministry"}


def client_key(name: str) -> str:
    """'Department of State', 'State Department', 'the U.S. Department of State' -> 'state'."""
    words = re.sub(r"\([^)]*\)", " ", name.lower().replace("&amp;", "&").replace("&", " and "))
    return " ".join(w for w in norm(words).split() if w not in _ORG_FILLER)


def initialisms(name: str) -> set[str]:
    """What an organisation is called by its initials: "Federal Bureau of Investigation" -> FBI, "Department
    of Justice" -> DOJ, "U.S. Geological Survey" -> USGS, "Department of Health and Human Services" -> HHS.
    The initials of its capitalised words, with and without "of", and without a leading "Department" or
    "Office". Three letters at least, lower-cased; matched only where a question writes them in capitals."""
    words = re.findall(r"[A-Za-z]+", re.sub(r"\([^)]*\)", " ", name))
    out = set()
    for keep_of in (False, True):
        picked = [w for w in words if w[0].isupper() or (keep_of and w == "of")]
        bare = picked[1:] if picked and picked[0] in ("Department", "Office") else []
        for ws in (picked, bare):
            while ws and ws[0] == "of":
                ws = ws[1:]
            while ws and ws[-1] == "of":
                ws = ws[:-1]
            if len(ws) >= 3:
                out.add("".join(w[0] for w in ws).lower())
    return out


def capitals(text: str) -> set[str]:
    """The all-capital words of a text, lower-cased: where an initialism may be named."""
    return {w.lower() for w in re.findall(r"\b[A-Z]{3,}\b", text)}


def client_aliases(name: str) -> set[str]:
    """The keys a client is asked about by: its name and the abbreviation it gives in brackets ("(VA)")."""
    keys = {client_key(name)}
    keys |= {a.lower() for a in re.findall(r"\(([A-Z][A-Za-z&.]{1,9})\)", name)}
    return {k for k in keys if k}


class TimelineEntry(BaseModel):
    date: str | None
    title: str
    source: str
    doc_type: str


class PersonRole(BaseModel):
    name: str
    role: str | None = None
    evidence: str = ""  # the sentence that names them (empty when the registry is the source)
    source: str = ""


class ProjectCard(BaseModel):
    key: str
    name: str
    client: str | None = None
    start: str | None = None
    end: str | None = None
    status: str | None = None  # active / completed, from the registry
    people: list[str] = Field(default_factory=list)
    team: list[PersonRole] = Field(default_factory=list)  # people with their role and evidence
    tags: list[str] = Field(default_factory=list)
    technologies: list[str] = Field(default_factory=list)
    industry: str | None = None
    aliases: list[str] = Field(default_factory=list)
    known_as: list[str] = Field(default_factory=list)  # what its documents call what was built
    summary: str = ""
    documents: list[str] = Field(default_factory=list)  # sources
    document_ids: list[str] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    registered: bool = False  # the card comes from the registry
    highlights: list[Citation] = Field(default_factory=list)  # cited outcomes (Engine.project_card fills them)

    @property
    def period(self) -> str:
        if self.start and self.end and self.start[:7] != self.end[:7]:
            return f"{self.start[:7]} – {self.end[:7]}"
        return (self.start or self.end or "")[:7]


def person_key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def _is_update(doc: Document) -> bool:
    return doc.doc_type in UPDATE_TYPES or doc.format == "eml"


def _mentions(text: str, name: str) -> bool:
    n = norm(name)
    return len(n) >= 4 and f" {n} " in f" {norm(text)} "


def main_document(docs: list[Document]) -> Document | None:
    """The document that tells a project's story best: its page or case study; a SOW or proposal opens with
    legal boilerplate, and an update tells one moment."""
    return min(docs, key=lambda d: ({"case_study": 0, "project_page": 0, "retrospective": 1, "report": 2}.get(
        d.doc_type, 3 if not _is_update(d) else 9), d.date or ""), default=None)


class ProjectIndex:
    def __init__(self, docs: list[Document], registry: Registry | None = None):
        self.docs = {d.id: d for d in docs}
        self.registry = {norm(p.name): p for p in (registry.projects if registry else [])}
        self._cards: dict[tuple, list[ProjectCard]] = {}
        self._clients: dict[tuple[str, ...] | None, list[tuple[ProjectCard, set[str]]]] = {}
        self._key: dict[str, str] = {}
        self._name: dict[str, str] = {}
        self._client: dict[str, str | None] = {}
        self.projects: set[str] = set()  # keys that are projects (cards), not lone documents
        alias: dict[str, str] = {}  # norm(name or alias) -> key
        for key, p in self.registry.items():
            self._name[key], self._client[key] = p.name, p.client
            self.projects.add(key)
            for a in [p.name, *p.aliases]:
                alias.setdefault(norm(a), key)
        folders = sorted(((p.folder.lower() + "/", k) for k, p in self.registry.items() if p.folder),
                         key=lambda f: -len(f[0]))
        # 1. The registry's folder; 2. explicit metadata; then client work that names no project is its own.
        for d in docs:
            key = next((k for f, k in folders if d.source.lower().startswith(f)), None)
            if key is None and d.project:
                key = alias.get(norm(d.project)) or norm(d.project)
                self._name.setdefault(key, d.project)
            if key is None and d.doc_type in CLIENT_WORK and not _is_update(d):
                key = f"doc:{d.source}"
                self._name[key] = d.title or d.source
            if key is None:
                continue
            self._key[d.id] = key
            self.projects.add(key)
            if d.client:
                self._client.setdefault(key, d.client)
        for key in list(self.projects):
            if not key.startswith("doc:"):
                alias.setdefault(key, key)
        # Tags held by one project only, on few documents: strong evidence that an update is about it.
        df: dict[str, int] = defaultdict(int)
        owners: dict[str, set[str]] = defaultdict(set)
        for d in docs:
            for t in {norm(t) for t in d.tags}:
                df[t] += 1
                if d.id in self._key:
                    owners[t].add(self._key[d.id])
        limit = max(3, DISTINCTIVE_SHARE * len(docs))
        distinctive = {t: next(iter(o)) for t, o in owners.items() if len(o) == 1 and df[t] <= limit and t}
        nearest = self._nearest_project(docs)
        # 3. Everything else joins a project only on strong evidence, or stays a document: it names the
        # project (a tag or its title), or it carries the project's distinctive tag and is, of all projects,
        # closest in content to that one (a staff profile tagged with a product is not about the product).
        for d in docs:
            if d.id in self._key:
                continue
            tags = [norm(t) for t in d.tags]
            key = next((alias[t] for t in tags if t in alias), None)
            key = key or next((k for a, k in alias.items() if _mentions(d.title, a)), None)
            key = key or next((distinctive[t] for t in tags if t in distinctive
                               and nearest(d) in (None, distinctive[t])), None)
            self._key[d.id] = key or f"doc:{d.source}"
            if not key:
                self._name[self._key[d.id]] = d.title or d.source
                self._client[self._key[d.id]] = d.client
        self.members: dict[str, list[Document]] = defaultdict(list)
        for d in docs:
            self.members[self._key[d.id]].append(d)
        # A name many documents or several projects use (the company's own, a common platform) names none of them.
        self._thing_df: dict[str, int] = defaultdict(int)
        self._thing_projects: dict[str, set[str]] = defaultdict(set)
        for d in docs:
            for t in {t.lower() for t in d.things}:
                self._thing_df[t] += 1
                self._thing_projects[t].add(self._key[d.id])
        self._common = max(3, DISTINCTIVE_SHARE / 2 * len(docs))
        self._common_projects = max(2, DISTINCTIVE_SHARE * len(self.projects))

    def _nearest_project(self, docs: list[Document]):
        """doc -> the key of the project whose own documents are closest to it in content (None without vectors)."""
        import numpy as np

        from assistant.store import centroid_vector

        vecs: dict[str, list] = defaultdict(list)
        for d in docs:
            if d.id in self._key and (v := centroid_vector(d._centroid)) is not None:
                vecs[self._key[d.id]].append(v)
        if len(vecs) < 2:
            return lambda d: None
        keys = list(vecs)
        mat = np.stack([np.mean(vecs[k], axis=0) for k in keys])
        mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-9

        def nearest(d: Document) -> str | None:
            v = centroid_vector(d._centroid)
            return None if v is None else keys[int(np.argmax(mat @ v))]

        return nearest

    def key_of(self, doc: Document) -> str:
        return self._key.get(doc.id) or (norm(doc.project) if doc.project else f"doc:{doc.source}")

    def name_of(self, key: str) -> str:
        return self._name.get(key, key.removeprefix("doc:"))

    def known_as(self, key: str, most: int = 3) -> list[str]:
        """What a project's documents call what was built ("login.gov", "College Scorecard"): names they
        mention often that few other documents do, and that are not its client or its title."""
        docs = self.members.get(key, [])
        main = main_document(docs)
        score: dict[str, float] = defaultdict(float)
        spelling: dict[str, str] = {}
        for d in docs:
            for rank, t in enumerate(d.things):
                k = t.lower()
                spelling.setdefault(k, t)
                score[k] += (2.0 if d is main else 1.0) / (1 + rank)
        client = client_key(self.client_of(key) or "")
        name = norm(self.name_of(key))
        client_words = f" {norm(self.client_of(key) or '')} "
        out = [spelling[k] for k in sorted(score, key=lambda k: -score[k])
               if self._thing_df.get(k, 0) <= self._common and len(self._thing_projects.get(k, ())) <= self._common_projects
               and client_key(k) != client and f" {norm(k)} " not in client_words and norm(k) not in name]
        return out[:most]

    def registered_team(self, key: str) -> dict[str, str | None]:
        reg = self.registry.get(key)
        return {m.name: m.role for m in reg.team} if reg else {}

    def is_project(self, key: str) -> bool:
        return key in self.projects

    def client_of(self, key: str) -> str | None:
        return self._client.get(key) or next((d.client for d in self.members.get(key, []) if d.client), None)

    def team(self, key: str, docs: list[Document]) -> list[PersonRole]:
        """The registry's team first (their stated roles), then the people the documents name, with evidence."""
        out: dict[str, PersonRole] = {}
        reg = self.registry.get(key)
        for m in reg.team if reg else []:
            out[m.name] = PersonRole(name=m.name, role=m.role)
        seen = {person_key(n): n for n in out}
        for d in docs:
            for raw in d.people:
                p = seen.setdefault(person_key(raw), raw)
                e = out.setdefault(p, PersonRole(name=p))
                if not e.role and d.roles.get(raw):
                    e.role = d.roles[raw]
                    e.evidence, e.source = d.evidence.get(raw, ""), d.source
                elif not e.evidence and d.evidence.get(raw):
                    e.evidence, e.source = d.evidence[raw], d.source
        return list(out.values())

    def card(self, key: str, groups: list[str] | None = None) -> ProjectCard:
        docs = [d for d in self.members.get(key, []) if groups is None or set(d.groups) & set(groups)]
        docs.sort(key=lambda d: (d.date or "", d.source))
        dates = [d.date for d in docs if d.date]
        reg: RegistryProject | None = self.registry.get(key)
        tags: list[str] = []
        for d in docs:
            tags += [t for t in d.tags if t not in tags]
        team = self.team(key, docs)
        anchor = main_document(docs)
        return ProjectCard(
            key=key, name=self.name_of(key), client=(reg.client if reg and reg.client else self.client_of(key)),
            start=(reg.start if reg and reg.start else (min(dates) if dates else None)),
            end=(reg.end if reg and reg.end else (max(dates) if dates else None)),
            status=reg.status if reg else None, people=[p.name for p in team], team=team, tags=tags,
            technologies=reg.technologies if reg else [], industry=reg.industry if reg else None,
            aliases=reg.aliases if reg else [], registered=reg is not None, known_as=self.known_as(key),
            summary=anchor.summary if anchor else "", documents=[d.source for d in docs],
            document_ids=[d.id for d in docs],
            timeline=[TimelineEntry(date=d.date, title=d.title or d.source, source=d.source, doc_type=d.doc_type)
                      for d in docs],
            groups=sorted({g for d in docs for g in d.groups}))

    def cards(self, groups: list[str] | None = None, min_docs: int = 1) -> list[ProjectCard]:
        """Project cards only: a lone post is a document, not a project. A roster spreadsheet feeds People
        but is not a project of its own. Built once per index (the index is rebuilt when the store changes):
        listing questions and the People page ask for them on every run."""
        key = (None if groups is None else tuple(sorted(groups)), min_docs)
        if key not in self._cards:
            self._cards[key] = self._build_cards(groups, min_docs)
        return list(self._cards[key])

    def _build_cards(self, groups: list[str] | None, min_docs: int) -> list[ProjectCard]:
        keys = [k for k in self.projects
                if not all(d.doc_type == "spreadsheet" for d in self.members.get(k, [])) or k in self.registry]
        out = [self.card(k, groups) for k in keys]
        # A registered project with no documents yet still has a card; one whose documents this reader may not
        # see has none (its name and client would come from them).
        out = [c for c in out if len(c.documents) >= min_docs or (c.registered and not self.members.get(c.key))]
        return sorted(out, key=lambda c: (c.end or "", c.name), reverse=True)

    def _client_keys(self, groups: list[str] | None) -> list[tuple[ProjectCard, set[str]]]:
        """Each card that has a client, with the keys it is asked about by. Built once per index, like the
        cards: normalising every card's client on every listing question grew with the store."""
        key = None if groups is None else tuple(sorted(groups))
        if key not in self._clients:
            self._clients[key] = [(c, client_aliases(c.client) | {client_key(a) for a in c.aliases if a},
                                   initialisms(c.client)) for c in self.cards(groups) if c.client]
        return self._clients[key]

    def for_client(self, text: str, groups: list[str] | None = None) -> list[ProjectCard]:
        """Projects whose client the text names, by name, a normalised name, an abbreviation in brackets or,
        written in capitals, its initials."""
        words = f" {norm(text)} "
        core = f" {client_key(text)} "
        caps = capitals(text)
        return [c for c, keys, inits in self._client_keys(groups)
                if any(k and (f" {k} " in core or (len(k) <= 5 and f" {k} " in words)) for k in keys) or inits & caps]

    def people(self, groups: list[str] | None = None) -> dict[str, list[ProjectCard]]:
        """Who worked on what: person -> their project cards. Spellings of one name ("Vicki McFadden",
        "Vicki Mcfadden", a hyphen lost in a PDF) are one person, under the spelling seen first."""
        who: dict[str, list[ProjectCard]] = defaultdict(list)
        spelling: dict[str, str] = {}
        for c in self.cards(groups):
            for p in c.people:
                name = spelling.setdefault(person_key(p), p)
                if c not in who[name]:
                    who[name].append(c)
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
