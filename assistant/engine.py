"""The Python API: one Engine per process holds the embedder, the store and the answerers.

    from assistant.engine import get_engine
    answer = get_engine().ask("Have we built a permit system for a parks department?")
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Iterator

from assistant.citations import check, cited_numbers
from assistant.conversation import resolve
from assistant.extractive import compose, wants_people
from assistant.judge import Judge, Judgement
from assistant.llm import answer_with_fallback
from assistant.lexical import TermStats
from assistant.models import Answer, Document, Filters, Query, Retrieved, Turn
from assistant.query import listing, understand
from assistant.projects import highlights
from assistant.retrieval import Mode, ProjectHit, Retriever, lead_with_newest, newest_first, wants_recent
from assistant.terms import INJECTION, TermEvidence, key_terms
from assistant.settings import Settings, get_settings
from assistant.store import Store, describe_store

log = logging.getLogger(__name__)

History = list[Turn] | list[str] | list[dict] | None
ALSO_RELATED = 2  # related work shown apart under a "yes"


def _turns(history: History) -> list[Turn]:
    out = []
    for h in history or []:
        if isinstance(h, Turn):
            out.append(h)
        elif isinstance(h, str):
            out.append(Turn(question=h))
        else:
            out.append(Turn.model_validate(h))
    return out


class Engine:
    def __init__(self, settings: Settings | None = None, store: Store | None = None, embeddings=None, judge_model=None):
        from assistant.embeddings import make_embeddings

        self.settings = settings or get_settings()
        self.embeddings = embeddings or make_embeddings(self.settings)
        self.store = store or Store(self.settings, self.embeddings)
        self.retriever = Retriever(self.store, self.embeddings, self.settings)
        self.terms = TermEvidence(TermStats(self.store.lexical, fallback=self.store.chunk_texts))
        self.judge = Judge(self.terms, judge_model)
        self._projects = None
        self._projects_gen: object = None
        self._llm = None
        self._lock = threading.RLock()

    # -- parts ------------------------------------------------------------------------------------
    @property
    def llm(self):
        if self._llm is None and self.settings.llm_enabled:
            from assistant.llm import LLMAnswerer

            self._llm = LLMAnswerer(self.settings)
        return self._llm

    def ingestor(self):
        from assistant.gaps import reask_open
        from ingest.sync import Ingestor

        def after(report) -> None:  # new documents may answer questions we could not answer before
            report.answered_gaps = len(reask_open(self))

        return Ingestor(self.store, self.settings, after=after)

    def projects(self, groups: list[str] | None = None):
        """The project index over what these groups may see, rebuilt when the store's content changes.

        Built per group set, so a project's name, client or people never come from a document the
        asker may not read."""
        from assistant.projects import ProjectIndex

        with self._lock:
            self.store.refresh()
            if self.store.version != self._projects_gen or self._projects is None:
                self._projects = {}
                self._projects_gen = self.store.version
                self._registry = self.store.registry()  # read once per store change
                self.judge.reset()
            key = None if groups is None else tuple(sorted(groups))
            if key not in self._projects:
                self._projects[key] = ProjectIndex(self.store.documents(groups=groups), self._registry)
            return self._projects[key]

    def project_card(self, key: str, groups: list[str] | None = None):
        """A project card with up to three cited outcome highlights, quoted from its documents."""
        card = self.projects(groups).card(key, groups)
        card.highlights = highlights(card, self.store)
        return card

    def _members(self, hit: ProjectHit, groups: list[str] | None) -> list[Document]:
        return self.projects(groups).members.get(hit.key, []) or [d.document for d in hit.docs]

    def project_docs(self, hit: ProjectHit, groups: list[str] | None = None,
                     allowed: dict[str, Document] | None = None) -> list[Document]:
        """A project's documents as their committed records allow them now (`allowed`: read once per answer)."""
        found = self._members(hit, groups)
        if allowed is None:
            allowed = self.store.committed([d.id for d in found], groups)
        return [allowed[d.id] for d in found if d.id in allowed]

    def _opening(self, docs: list[Document]):
        """What was done, in the project's own words, as a citable Source: the first work claim of its main
        document ("We built ..."), else the opening sentence of its page or case study."""
        from assistant.models import Source
        from assistant.projects import main_document

        main = main_document(docs)
        if main is None:
            return None
        wanted = list(main.claims[:1])
        if main.summary and len(main.summary.split()) >= 6 and main.doc_type in ("project_page", "case_study", "retrospective"):
            wanted.append(main.summary)
        if not wanted:
            return None
        chunks = self.store.chunks_of(main.id)
        for sentence in wanted:
            for c in chunks:
                if sentence in c.text:
                    return Source(chunk=c, document=main), sentence
        return None

    # -- asking -----------------------------------------------------------------------------------
    def ask(self, question: str, history: History = None, filters: Filters | None = None,
            mode: Mode = "hybrid", use_llm: bool | None = None, asker: str | None = None) -> Answer:
        answer = None
        for event in self.ask_stream(question, history, filters, mode, use_llm, asker):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def ask_stream(self, question: str, history: History = None, filters: Filters | None = None,
                   mode: Mode = "hybrid", use_llm: bool | None = None,
                   asker: str | None = None) -> Iterator[str | Answer]:
        """Yields text as it is written, then the final, checked Answer.

        `asker` (a person, not an evaluation): an answer that is not a confident yes is logged as a knowledge gap."""
        t0 = time.perf_counter()
        question = (question or "").strip()
        if not question:
            yield Answer(question="", answer="Please type a question.", abstained=True, reason="empty question")
            return
        turns = _turns(history)
        llm_wanted = bool(self.settings.llm_enabled if use_llm is None else use_llm) and self.llm is not None
        notices: list[str] = []
        resolved = self._new_topic(question, turns, resolve(question, turns))
        if llm_wanted and resolved.is_followup:
            resolved = self._condense(question, turns, resolved, notices)
        f = (filters or Filters()).model_copy()
        if f.project:  # a project includes its linked updates, so filter by its documents
            index = self.projects(f.groups)
            key = next((k for k in index.members if index.name_of(k).lower() == f.project.lower() or k == f.project),
                       None)
            f.doc_ids = [d.id for d in index.members.get(key, [])] if key else []
            f.project = None
        if resolved.focus_doc_ids:
            f.doc_ids = [d for d in resolved.focus_doc_ids if f.doc_ids is None or d in f.doc_ids]
        timings: dict[str, float] = {}
        topic = resolved.topic or (turns[-1].question if resolved.is_followup else resolved.standalone)
        query = understand(question, resolved.standalone, topic, followup=resolved.is_followup)
        if not resolved.is_followup:
            # "What have we done for <client>?", "projects in 2019", "what are we working on now?": the list
            # of projects comes from the index; retrieval only supplies each one's evidence.
            index = self.projects(f.groups)
            query.listed = listing(question, index)
            if query.listed:
                ids = [d.id for k in query.listed for d in index.members.get(k, [])]
                f.doc_ids = [i for i in ids if f.doc_ids is None or i in f.doc_ids]
        k = max(self.settings.top_k, 4 * len(query.listed)) if query.listed else None  # evidence for each listed
        if mode == "hybrid" and not self.store.lexical_ready:  # never a half-built keyword index, silently
            mode = "dense"
            done, total = self.store.catchup_progress
            notices.append(f"This instance is still building its keyword index ({done} of {total} documents): "
                           "this answer comes from meaning-based search alone.")
        sources = [s for s in self.retriever.search(query.standalone, f, mode=mode, k=k, timings=timings)
                   if not INJECTION.search(s.chunk.text)]
        recent = query.intent == "latest" or wants_recent(question)
        doc_hits = self.retriever.group_documents(sources, recent=recent)
        projects = self.retriever.group_projects(doc_hits, self.projects(f.groups))
        t1 = time.perf_counter()
        timings["retrieval_ms"] = (t1 - t0) * 1000

        verdict, matches, others, judged = self._decide(query, projects)
        if query.listed:
            listed = [p for p in projects if p.key in query.listed]
            if listed:
                verdict, matches, others = "yes", listed[: max(self.settings.max_projects, 10)], []
        if llm_wanted and self.settings.llm_judge and verdict != "no":
            verdict, matches = self._llm_judge(query, verdict, matches, judged, notices)
        if recent and verdict == "yes" and judged:
            # Newer related work may lead, unless the question names what the best match is and it is not
            about = self.terms.names_about(query, judged[0].project)
            matches = lead_with_newest(matches, [j.project for j in judged if j.p >= self.judge.model.related
                                                 and self.terms.names_about(query, j.project) >= about])
        if recent and matches:
            doc_hits = newest_first(self.store, question, matches, doc_hits,
                                    lambda h: self.project_docs(h, f.groups))
        t2 = time.perf_counter()
        timings["judge_ms"] = (t2 - t1) * 1000
        groups = f.groups
        missing = judged[0].missing if judged and verdict == "no" else None
        if missing:  # words no document has are said so; the others are only absent from the closest work
            missing = [(t, self.terms.df(t) == 0) for t in missing]
        shown_ids = [d.id for h in matches + others for d in self._members(h, groups)]
        allowed = self.store.committed(shown_ids, groups)  # one read of the records for the whole answer
        answer = compose(question, matches, others, lambda h: self.project_docs(h, groups, allowed), self.terms.idf,
                         recent=recent, missing=missing, verdict=verdict,
                         opening=lambda h: self._opening(self.project_docs(h, groups, allowed)))
        answer.standalone_question = resolved.standalone
        answer.confidence = round(max((j.p for j in judged), default=0.0), 4)
        answer.verdict = verdict if not answer.abstained else "no"
        by_key = {j.project.key: j for j in judged}
        shown = [by_key[m.key] for m in matches if m.key in by_key] or judged[:1]
        answer.reason = "; ".join(f"{j.project.name}: {j.reason}" for j in shown) or "nothing retrieved"
        answer.candidates = [{"name": j.project.name, "key": j.project.key, "p": round(j.p, 4),
                              "sources": [d.document.source for d in j.project.docs],
                              "features": {k: round(v, 4) for k, v in j.features.items()}} for j in judged]
        answer.retrieved = [Retrieved(source=d.document.source, rank=i + 1, score=round(d.score, 5),
                                      project=d.document.project) for i, d in enumerate(doc_hits[:20])]
        text, removed, uncited = check(answer.answer, answer.citations)
        answer.answer, answer.removed_citations, answer.uncited_sentences = text, removed, uncited
        used = set(cited_numbers(text))
        answer.citations = [c for c in answer.citations if c.n in used]  # list only the sources the text cites
        timings["compose_ms"] = (time.perf_counter() - t2) * 1000

        answer.notice = " ".join(notices) or None
        if llm_wanted and not answer.abstained:
            yield from answer_with_fallback(self.llm, resolved.standalone, matches, answer)
        else:
            yield answer.answer
        timings["total_ms"] = (time.perf_counter() - t0) * 1000
        answer.timings = {k: round(v, 1) for k, v in timings.items()}
        if asker is not None and answer.verdict != "yes" and not resolved.is_followup:
            from assistant.gaps import log_answer

            log_answer(self, answer, asker, f.groups)
        yield answer

    def _new_topic(self, question: str, turns: list[Turn], resolved):
        """A follow-up whose new words appear nowhere in the projects in focus asks about something else."""
        from assistant.conversation import Resolved
        from assistant.terms import stem

        if not resolved.focus_doc_ids or resolved.topic:
            return resolved
        new = [t for t in key_terms(question) if t not in key_terms(turns[-1].question)]
        if not new:
            return resolved
        said: set[str] = set()
        for doc_id in resolved.focus_doc_ids:
            d = self.store.document(doc_id)
            if d:
                said |= self.terms.profile(d.id, d.content_hash)
        if any(stem(t) in said for t in new):
            return resolved
        return Resolved(resolved.standalone, True, [], None, topic=question)

    def _decide(self, query: Query, projects: list[ProjectHit]):
        """The verdict, the projects to show, and those shown apart: under a "yes", related work that is not
        confirmed; under a "no", the closest work.

        Every question is judged, follow-ups included: a follow-up's candidates are the projects in focus,
        judged on the conversation's topic."""
        considered = projects[: 2 * self.settings.max_projects if query.intent == "list" else 8]
        judged = sorted(self.judge.judge(query, considered), key=lambda j: -j.p)  # stable: retrieval order breaks ties
        best = judged[0].p if judged else 0.0
        verdict = self.judge.verdict(best)
        if verdict == "no":
            return "no", [], considered[:3], judged
        # "Which projects ...?" asks for all of them: past the best one, related work is listed too.
        listing = query.intent == "list" and verdict == "yes"
        floor = self.judge.model.yes if verdict == "yes" and not listing else self.judge.model.related
        chosen = [j.project for j in judged if j.p >= floor]
        # A roster or spreadsheet that lists many projects is supporting evidence, not a project of its own.
        def table(p: ProjectHit) -> bool:
            return all(d.document.doc_type == "spreadsheet" for d in p.docs)

        real = [p for p in chosen if not table(p)]
        if not real and verdict == "yes":  # a roster row confirms the work: the project it belongs to is shown
            real = [j.project for j in judged if j.p >= self.judge.model.related and not table(j.project)][:1]
        most = 2 * self.settings.max_projects if listing else self.settings.max_projects if verdict == "yes" else 3
        chosen = (real or chosen)[:most]
        # Under a firm "yes", the related band is still shown, apart and labelled as not confirmed: the
        # judge's order among close candidates is the least reliable thing it says.
        also = [] if listing or verdict != "yes" else [
            j.project for j in judged if self.judge.model.related <= j.p < floor and j.project not in chosen
            and not table(j.project)][:ALSO_RELATED]
        return verdict, chosen, also, judged

    def _condense(self, question: str, turns: list[Turn], resolved, notices: list[str]):
        """With an LLM: the follow-up rewritten as a standalone question (the history-aware pattern), which
        retrieval searches and the judge judges. The projects in focus still come from the rule-based
        resolver, which stays conservative about "that one" and "the second one"."""
        from dataclasses import replace

        try:
            text = self.llm.condense(question, [t.question for t in turns[-4:]])
        except Exception as e:
            log.warning("condensing the follow-up failed: %s", e)
            notices.append("The language model could not rewrite the follow-up; it was resolved without it.")
            return resolved
        return replace(resolved, standalone=text, topic=text) if text and text != question else resolved

    def _llm_judge(self, query: Query, verdict: str, matches: list[ProjectHit], judged: list[Judgement],
                   notices: list[str]) -> tuple[str, list[ProjectHit]]:
        """A second opinion, when an LLM is configured. The learned judge proposes ("yes" or "related");
        the LLM must quote, verbatim, a sentence of the candidate's passages showing we did the work.
        - learned yes, LLM quotes: yes. Learned yes, LLM finds no quote: related (the judges disagree).
        - learned related, LLM quotes: yes for the quoted projects. Otherwise related stays.
        - learned no: the LLM is not asked, so it cannot turn "nothing found" into a "yes".
        A malformed reply, a refusal or a time-out leaves the learned verdict, with a notice."""
        cands = matches[:3]
        try:
            quotes = self.llm.judge(query.topic, [p.sources[:3] for p in cands])
        except Exception as e:
            log.warning("LLM judge failed, keeping the learned verdict: %s", e)
            notices.append("The language model could not check the verdict; it comes from the evidence judge alone.")
            return verdict, matches
        confirmed = [p for i, p in enumerate(cands, 1) if quotes.get(i)]
        if confirmed:
            return "yes", confirmed + [p for p in matches if p not in cands and verdict == "yes"]
        return "related", matches[:3]

    # -- status -----------------------------------------------------------------------------------
    def status(self, check_llm: bool = True) -> dict:
        s = self.settings
        st = {"store": {"kind": "server" if s.chroma_url else "embedded", "location": s.chroma_url or str(s.store_dir),
                        "reachable": self.store.heartbeat()},
              "embedder": getattr(self.embeddings, "name", type(self.embeddings).__name__),
              "answerer": "llm" if s.llm_enabled else "extractive",
              "llm": {"enabled": s.llm_enabled, "model": s.llm_model if s.llm_enabled else None,
                      "base_url": s.openai_base_url}}
        if st["store"]["reachable"]:
            st.update(self.store.stats())
        if s.llm_enabled and check_llm:
            ok, detail = self.llm.ping()
            st["llm"].update(reachable=ok, detail=detail)
        return st


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine: the model and clients load once, never per question."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
        return _engine


def ask(question: str, history: History = None, filters: Filters | None = None, **kw) -> Answer:
    return get_engine().ask(question, history=history, filters=filters, **kw)


def ask_stream(question: str, history: History = None, filters: Filters | None = None, **kw):
    return get_engine().ask_stream(question, history=history, filters=filters, **kw)


__all__ = ["Engine", "get_engine", "ask", "ask_stream", "describe_store", "wants_people", "key_terms"]
