"""The extractive answerer (the default, no LLM): a verdict line, then for each matching project its
name, client and period, one or two sentences quoted from the evidence with citations, and the people
the documents name. Deterministic, and every word after the labels comes from the documents."""

from __future__ import annotations

import re

from assistant.citations import split_sentences
from assistant.models import Answer, Citation, Document, ProjectMatch, Source
from assistant.query import WHO
from assistant.retrieval import ProjectHit
from assistant.terms import INJECTION, NEGATION, key_terms
from ingest.people import ROLE_WORDS

RELATED = "Related work, not a confirmed match: we have no record of exactly this. Check the sources."
ALSO = "Also related, not a confirmed match:"
CLOSEST = "Closest work, not a match:"


LEAD_Q = re.compile(r"\b(led|lead|leads|leading|ran|managed|manager|in charge|head(ed)?|owner|owned)\b", re.I)
ASKED_ROLE = re.compile(r"\b(" + ROLE_WORDS + r")\b", re.I)
# "Who has written about X?": the authors of the documents that match are the answer.
WROTE_Q = re.compile(r"\b(wrote|written|writes|writing|authors?|authored|blogged|posted)\b", re.I)
POINTER = re.compile(r"\b(that|this|the|which|other|first|second|third|last|same)\s+ones?\b", re.I)
LEAD_ROLE = re.compile(r"\b(lead|led|manager|owner|head|director|principal|in charge)\b", re.I)


def _is_lead(name: str, sentence: str) -> bool:
    """The sentence gives this person a leading role: "Jane Doe (tech lead)", "led by Jane Doe", "Jane Doe led"."""
    n = re.escape(name)
    return bool(re.search(n + r"\W{0,3}\(?[^().;]{0,30}" + LEAD_ROLE.pattern, sentence, re.I)
                or re.search(r"\b(led|managed|headed|run) by\s+" + n, sentence, re.I))


def wants_people(question: str) -> bool:
    return bool(WHO.search(question))


def _stem(w: str) -> str:
    return w[:5]


class Citer:
    """Numbers citations in order of first use; the same passage is cited once."""

    def __init__(self):
        self.citations: list[Citation] = []
        self._by_key: dict[tuple[str, str], int] = {}

    def cite(self, src: Source, snippet: str) -> int:
        key = (src.chunk.id, snippet)
        if key not in self._by_key:
            n = len(self.citations) + 1
            c, d = src.chunk, src.document
            self.citations.append(Citation(n=n, source=d.source, title=d.title, document_id=d.id, chunk_id=c.id,
                                           page=c.page, slide=c.slide, section=c.heading, date=d.date, snippet=snippet))
            self._by_key[key] = n
        return self._by_key[key]


def _sentences(src: Source) -> list[str]:
    out = []
    for s in split_sentences(src.chunk.text):
        s = s.strip().lstrip("*-•# ").strip()
        if len(s.split()) >= 6 and len(s) <= 600 and s in src.chunk.text:
            out.append(s)
    return out


def best_sentences(question: str, hit: ProjectHit, weight, n: int = 2, recent: bool = False) -> list[tuple[Source, str]]:
    terms = {_stem(t): weight(t) for t in key_terms(question)}
    if recent and hit.newest:  # "the latest": quote the newest document, in its own order
        lead = [s for s in hit.sources if s.document.id == hit.newest]
        lead.sort(key=lambda s: s.chunk.index)
        quoted = [(src, sent) for src in lead for sent in _sentences(src)]
        if quoted:
            return quoted[: n + 1]
    cands: list[tuple[float, int, Source, str]] = []
    sources = hit.sources[:6]
    if recent:
        sources = sorted(sources, key=lambda s: (s.document.date or ""), reverse=True)
    for rank, src in enumerate(sources):
        for pos, sent in enumerate(_sentences(src)):
            words = {_stem(w) for w in re.findall(r"[a-z0-9]+", sent.lower())}
            overlap = sum(w for t, w in terms.items() if t in words)
            score = overlap + 0.5 / (1 + rank) + (0.3 if pos == 0 else 0.0)
            if NEGATION.search(sent) or INJECTION.search(sent):  # what we did not do is poor evidence of a "yes"
                score -= 100
            cands.append((score, -rank, src, sent))
    cands.sort(key=lambda c: (c[0], c[1]), reverse=True)
    picked: list[tuple[Source, str]] = []
    used_chunks: set[str] = set()
    for _score, _r, src, sent in cands:
        if src.chunk.id in used_chunks and len(cands) > n:
            continue
        picked.append((src, sent))
        used_chunks.add(src.chunk.id)
        if len(picked) == n:
            break
    return picked


def project_match(hit: ProjectHit, project_docs: list[Document], is_match: bool) -> ProjectMatch:
    docs = project_docs or [d.document for d in hit.docs]
    dates = sorted(d.date for d in docs if d.date)
    people: list[str] = []
    roles: dict[str, str] = {p: r for p, r in hit.team.items() if r}  # the registry's roles first
    people += list(hit.team)
    for d in sorted(docs, key=lambda d: d.date or ""):
        for p in d.people:
            if p not in people:
                people.append(p)
            if d.roles.get(p):
                roles.setdefault(p, d.roles[p])
    people.sort(key=lambda p: p not in roles)  # people with a stated role first: they are who to talk to
    return ProjectMatch(name=hit.name, key=hit.key, client=hit.client or next((d.client for d in docs if d.client), None),
                        start=dates[0] if dates else None, end=dates[-1] if dates else None, people=people[:8],
                        roles={p: roles[p] for p in people[:8] if p in roles},
                        sources=[d.document.source for d in hit.docs], document_ids=[d.id for d in docs],
                        score=round(hit.score, 5), is_match=is_match, is_project=hit.is_project,
                        known_as=hit.known_as,
                        summary=next((d.summary for d in docs if d.summary), ""))


# A measured result: a percentage, or a number with a unit of time, money, people or things (not a year).
_RESULT = re.compile(r"\d+(?:[.,]\d+)?\s*(?:%|percent\b|x\b|times\b)|[$€£]\s?\d|\b\d[\d,.]*\s+(?:[a-z-]+\s+)?"
                     r"(?:days?|hours?|weeks?|months?|minutes?|seconds?|users?|people|visits?|visitors|applications?|"
                     r"requests?|records|pages|sites|agencies|states|members|customers|transactions|downloads|"
                     r"submissions|complaints|claims|permits|calls)\b", re.I)


def _yes_line(matches: list[ProjectHit]) -> str:
    n = sum(h.is_project for h in matches)
    d = len(matches) - n
    parts = ([f"{n} past project{'s' if n > 1 else ''}"] if n else []) + ([f"{d} document{'s' if d > 1 else ''}"] if d else [])
    return f"Yes — {' and '.join(parts)} match{'es' if len(matches) == 1 else ''}."


def _said(sentence: str) -> str:
    return " ".join(sentence.lower().split())


def _outcome(hit: ProjectHit, quoted: set[str], said: set[str] = frozenset()) -> tuple[Source, str] | None:
    """One sentence of the project's evidence that states a measured result, if any does (and none the answer
    quoted already)."""
    for src in hit.sources[:6]:
        for sent in _sentences(src):
            if sent not in quoted and _said(sent) not in said and _RESULT.search(sent) and not NEGATION.search(sent) and not INJECTION.search(sent):
                return src, sent
    return None


def _who(pm: ProjectMatch, most: int = 6) -> str:
    return ", ".join(f"{p} ({pm.roles[p]})" if p in pm.roles else p for p in pm.people[:most])


def _header(pm: ProjectMatch) -> str:
    bits = [f"**{pm.name}**" if pm.is_project else f"**{pm.name}** (a document, not a project)"]
    known = [k for k in pm.known_as if k.lower() not in pm.name.lower()]
    if known:
        bits[0] += f" (key names: {', '.join(known)})"
    if pm.client and pm.client.lower() not in pm.name.lower():
        bits.append(pm.client)
    head = " — ".join(bits)
    return f"{head} ({pm.period})" if pm.period else head


def compose(question: str, matches: list[ProjectHit], others: list[ProjectHit], project_docs, weight,
            recent: bool = False, missing: list[tuple[str, bool]] | None = None, verdict: str = "yes", opening=None) -> Answer:
    """Write the answer. `project_docs(hit)` gives all documents of a project; `weight(term)` its IDF;
    `opening(hit)`, when given, the (Source, sentence) that opens the project's main document.

    `verdict` "related": the projects are shown with their evidence, under a line that says they are
    related work, not a confirmed match. `others` are shown apart, one sentence each: under a "yes", as related
    work not confirmed; under a "no", as the closest work."""
    citer = Citer()
    lines: list[str] = []
    answer = Answer(question=question)
    # A match we cannot quote a sentence from is no match we can stand behind.
    matches = [h for h in matches if best_sentences(question, h, weight, n=1, recent=recent)]
    related = verdict == "related"
    if matches and wants_people(question) and not related:
        return _compose_people(question, matches, project_docs, weight, citer, answer)
    if matches:
        lines.append(RELATED if related else _yes_line(matches))
        said: set[str] = set()  # sentences quoted already: a report that repeats a project page says it once
        for hit in matches:
            pm = project_match(hit, project_docs(hit), not related)
            quoted = best_sentences(question, hit, weight, n=2, recent=recent)
            if any(_said(sent) in said for _, sent in quoted):
                more = best_sentences(question, hit, weight, n=6, recent=recent)
                quoted = [q for q in more if _said(q[1]) not in said][:2] or quoted[:1]
            first = opening(hit) if opening and not recent else None
            if first and _said(first[1]) not in said and all(first[1] != sent for _, sent in quoted):
                quoted = [first, *quoted[:1]]  # what was done, in the project's own words
            said |= {_said(sent) for _, sent in quoted}
            pm.citations = [citer.cite(src, sent) for src, sent in quoted]
            answer.projects.append(pm)
            lines.append("")
            lines.append(_header(pm))
            for (src, sent), num in zip(quoted, pm.citations):
                lines.append(f"- {sent} [{num}]")
            if outcome := _outcome(hit, {sent for _, sent in quoted}, said):
                said.add(_said(outcome[1]))
                num = citer.cite(*outcome)
                pm.citations.append(num)
                lines.append(f"- Outcome: {outcome[1]} [{num}]")
            if pm.people:
                lines.append(f"People: {_who(pm)}")
        if not related and others:
            _list_apart(question, others, project_docs, weight, citer, lines, answer.also, ALSO)
    else:
        answer.abstained = True
        gap = _gap(missing or [])
        lines.append(f"No, we have no record of that{gap}.")
        if others:
            _list_apart(question, others, project_docs, weight, citer, lines, answer.closest, CLOSEST)
    answer.answer = "\n".join(lines)
    answer.citations = citer.citations
    return answer


def _list_apart(question, hits, project_docs, weight, citer: Citer, lines: list[str], into: list, title: str) -> None:
    """Work that is not a match, under its own line: one cited sentence each."""
    lines.append("")
    lines.append(title)
    for hit in hits:
        pm = project_match(hit, project_docs(hit), False)
        quoted = best_sentences(question, hit, weight, n=1)
        pm.citations = [citer.cite(src, sent) for src, sent in quoted]
        into.append(pm)
        text = f" {quoted[0][1]} [{pm.citations[0]}]" if quoted else ""
        lines.append(f"- {_header(pm)}:{text}")


def _gap(missing: list[tuple[str, bool]]) -> str:
    """Why not, in words that stay true: a term no document has, or one the closest work lacks."""
    nowhere = [t for t, absent in missing if absent][:3]
    if nowhere:
        return f" (nothing in our documents mentions: {', '.join(nowhere)})"
    if missing:
        return f" (the closest work does not mention: {', '.join(t for t, _ in missing[:3])})"
    return ""


def _names_person(person: str, text: str) -> bool:
    """The text names this person: their full name, or their surname capitalised."""
    last = person.split()[-1]
    return person in text or bool(re.search(r"\b" + re.escape(last) + r"\b", text))


def _author_shares(hit: ProjectHit) -> dict[str, float]:
    """Per matching document, the weight of one of its authors (the people only its metadata names): one of
    many authors (a round-up post) is less tied to the topic than a sole one."""
    return {d.document.id: max(1, sum(not any(_names_person(q, s.chunk.text) for s in d.sources)
                                      for q in d.document.authors)) ** -0.5 for d in hit.docs}


def _authored(person: str, hit: ProjectHit, topical, shares: dict[str, float]) -> tuple[float, Source, str] | None:
    """The most topical sentence of a matching document `person` wrote, with its score."""
    best = None
    for d in hit.docs:
        if person not in d.document.authors:  # an addressee did not write it
            continue
        for src in d.sources:
            for sent in _sentences(src):
                score = (2 * topical(sent) + topical(src.chunk.text)) * shares[d.document.id]
                if best is None or score > best[0]:
                    best = (score, src, sent)
    return best


def _compose_people(question, matches, project_docs, weight, citer: Citer, answer: Answer) -> Answer:
    """"Who has done X?": people ranked by evidence that ties them to X (a sentence, else a passage, that names
    both the person and the topic), a stated role counting more; each comes with that cited sentence."""
    pointer = {"one", "ones"} if POINTER.search(question) else set()  # "that one" points, it is no topic
    terms = {_stem(t): weight(t) for t in key_terms(question)
             if not LEAD_Q.fullmatch(t) and not WROTE_Q.fullmatch(t) and t.lower() not in pointer}
    writers = bool(WROTE_Q.search(question))
    wrote: set[str] = set()
    total = sum(terms.values()) or 1.0

    def topical(text: str) -> float:
        if not terms:  # "who led that one?": the topic is the project itself, so naming the person is the tie
            return 1.0
        words = {_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())}
        return sum(w for t, w in terms.items() if t in words) / total

    ranked: dict[str, dict] = {}
    for rank, hit in enumerate(matches):
        docs = project_docs(hit)
        pm = project_match(hit, docs, True)
        answer.projects.append(pm)
        roles = {p: r for d in docs for p, r in d.roles.items()} | {p: r for p, r in hit.team.items() if r}
        everyone = list(dict.fromkeys([*hit.team, *(p for d in docs for p in d.people)]))  # not only the first few
        shares = _author_shares(hit) if writers else {}
        for person in everyone:
            best: tuple[float, Source, str] | None = None
            for src in hit.sources[:8]:
                if not _names_person(person, src.chunk.text):
                    continue
                passage = topical(src.chunk.text)
                for sent in _sentences(src):
                    if _names_person(person, sent):
                        # The same sentence names person and topic: the strongest tie; the passage: weaker.
                        score = 2 * topical(sent) + passage
                        if best is None or score > best[0]:
                            best = (score, src, sent)
            if writers and best is None:
                # Named by a matching document's metadata, not its text: its author (or addressee). For "who
                # has written about X?" that is the tie that counts, cited by the document's most topical sentence.
                best = _authored(person, hit, topical, shares)
                if best:
                    wrote.add(person)
            entry = ranked.setdefault(person, {"name": person, "score": 0.0, "projects": [], "citations": [],
                                               "role": roles.get(person), "tie": 0.0, "fallback": None})
            entry["projects"].append(f"{pm.name} ({pm.period})" if pm.period else pm.name)
            if best and best[0] > 0:
                entry["tie"] = max(entry["tie"], best[0])
                entry["score"] += best[0] * (1.5 if entry["role"] else 1.0) + hit.score / (1 + 0.2 * rank)
                entry["citations"].append((citer.cite(best[1], best[2]), best[2]))
            elif person in hit.team and not terms and not entry["fallback"]:
                # "Who led that one?" asks about the project itself, and the registry puts them on its team.
                quoted = best_sentences(question, hit, weight, n=1)
                entry["fallback"] = quoted[0] if quoted else None
                entry["tie"] = max(entry["tie"], 0.5)
                entry["score"] += 0.5 * (1.5 if entry["role"] else 1.0) + hit.score / (1 + 0.2 * rank)
            elif (person in pm.people or person in hit.team) and not entry["fallback"]:
                # Only the document's metadata names them (an author, a team list): the weakest tie.
                quoted = best_sentences(question, hit, weight, n=1)
                entry["fallback"] = quoted[0] if quoted else None
                entry["score"] += 0.1 * hit.score / (1 + 0.2 * rank)
    # People whose evidence names them with the topic answer "who has done X?"; when the text names nobody,
    # the people its documents list, with the project's evidence.
    tied = {k: e for k, e in ranked.items() if e["tie"] > 0}
    ranked = tied or {k: e for k, e in ranked.items() if e["fallback"]}
    for e in ranked.values():
        if not e["citations"] and e["fallback"]:
            e["citations"].append((citer.cite(*e["fallback"]), e["fallback"][1]))
    # "Who was the product owner?": people with that stated role are the answer when there are any.
    asked = ASKED_ROLE.search(question)
    if asked:
        named = {k: e for k, e in ranked.items() if e["role"] and asked.group(1).lower() in e["role"].lower()}
        ranked = named or ranked
    # "Who led that?": people whose stated role is a lead come first, and are the answer when there are any.
    if LEAD_Q.search(question) and not (asked and named):
        for e in ranked.values():
            e["lead"] = bool(e["role"] and LEAD_ROLE.search(e["role"])) or any(
                _is_lead(e["name"], sent) for _, sent in e["citations"])
        leads = [e for e in ranked.values() if e["lead"]]
        # A registry's team is who worked for us: a lead named only in the documents (a client's director) yields.
        registered = {p for hit in matches for p in hit.team}
        leads = [e for e in leads if e["name"] in registered] or leads
        if leads:
            ranked = {e["name"]: e for e in leads}
    people = sorted(ranked.values(), key=lambda e: -e["score"])[:8]
    lines: list[str] = []
    if people:
        who = "1 person has" if len(people) == 1 else f"{len(people)} people have"
        lines.append(f"Yes — {who} done this work, across {len(matches)} project{'s' if len(matches) > 1 else ''}.")
        for e in people:
            lines.append("")
            role = f" ({e['role']})" if e["role"] else " (author)" if e["name"] in wrote else ""
            lines.append(f"**{e['name']}**{role} — {', '.join(e['projects'])}")
            for num, sent in e["citations"][:2]:
                lines.append(f"- {sent} [{num}]")
            answer.people.append({"name": e["name"], "role": e["role"], "projects": e["projects"],
                                  "citations": [n for n, _ in e["citations"]]})
    else:
        lines.append(f"Yes — {len(matches)} past project{'s' if len(matches) > 1 else ''} match, "
                     "but their documents name nobody in connection with it.")
        for hit, pm in zip(matches, answer.projects):
            quoted = best_sentences(question, hit, weight, n=1)
            pm.citations = [citer.cite(src, sent) for src, sent in quoted]
            lines.append("")
            lines.append(_header(pm))
            for (src, sent), num in zip(quoted, pm.citations):
                lines.append(f"- {sent} [{num}]")
    answer.answer = "\n".join(lines)
    answer.citations = citer.citations
    return answer
