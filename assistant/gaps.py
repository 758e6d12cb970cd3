"""Knowledge gaps: the questions we could not answer, who might know, and when they get an answer.

Every answer a person gets that is not a confident yes (verdict `no` or `related`), and every 👎 with a
comment, is logged with its asker, time, the asker's groups, the closest projects and their people,
and the question's embedding. The Gaps page and `precedent gaps` cluster similar questions (cosine
similarity of those embeddings) and rank clusters by how often and how recently they were asked.
After each ingest the open questions are asked again, through `Engine.ask` with the asker's groups;
a `yes` marks them answered with its citations, and the asker is told.

Access: a question's text (and its "who might know") is shown to admins and to its asker only; anyone
else sees counts. Projects and people are re-read through the viewer's own project index, so nothing
the viewer may not read is named. The log is per instance, beside the feedback (DATA_DIR/state).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Literal

import numpy as np
from pydantic import BaseModel, Field

from assistant.models import Answer, Citation, Filters, ProjectMatch
from assistant.viewer import LOCAL, Viewer

log = logging.getLogger(__name__)

HALF_LIFE_DAYS = 14.0  # a question asked two weeks ago counts half as much as one asked today
_lock = threading.Lock()

Kind = Literal["no", "related", "feedback"]


class Evidence(BaseModel):
    source: str
    title: str = ""
    document_id: str = ""
    date: str | None = None
    snippet: str = ""


class NearProject(BaseModel):
    """One of the closest projects when the question was asked."""

    name: str
    key: str | None = None
    people: list[str] = Field(default_factory=list)
    document_ids: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class GapAnswer(BaseModel):
    verdict: str
    confidence: float = 0.0
    text: str = ""
    citations: list[Citation] = Field(default_factory=list)


class Gap(BaseModel):
    id: int
    question: str
    topic: str
    asker: str
    asked_at: datetime
    kind: Kind
    comment: str = ""
    groups: list[str] | None = None  # the asker's groups when asked (None: unrestricted)
    closest: list[NearProject] = Field(default_factory=list)
    cited: list[str] = Field(default_factory=list)  # documents the unsatisfying answer cited
    status: Literal["open", "answered"] = "open"
    answered_at: datetime | None = None
    answer: GapAnswer | None = None
    seen_at: datetime | None = None


class Expert(BaseModel):
    """Someone who might know: a person on one of the closest projects, and why we think so."""

    name: str
    projects: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class GapCluster(BaseModel):
    id: int  # the id of its first question
    gap_ids: list[int]
    count: int
    askers: int
    first_asked: datetime
    last_asked: datetime
    score: float  # frequency weighted by recency
    visible: bool  # whether the viewer may read the questions
    questions: list[str] = Field(default_factory=list)  # the distinct texts the viewer may read
    comments: list[str] = Field(default_factory=list)
    who_might_know: list[Expert] = Field(default_factory=list)
    status: Literal["open", "answered"] = "open"


class KnowledgeRequest(BaseModel):
    id: int
    gap_ids: list[int]
    question: str
    people: list[str]
    requester: str
    requested_at: datetime
    emailed: list[str] = Field(default_factory=list)  # addresses a request was sent to
    not_emailed: list[str] = Field(default_factory=list)  # people with no known address
    error: str | None = None


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


# -- the log ------------------------------------------------------------------------------------------
class GapLog:
    """The gap and request log: SQLite under the state dir (one file, safe across threads)."""

    def __init__(self, settings):
        self.path = Path(settings.state_dir) / "gaps.sqlite"

    def exists(self) -> bool:
        return self.path.exists()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _lock:
            con = sqlite3.connect(self.path, timeout=10)
            try:
                con.row_factory = sqlite3.Row
                con.executescript("""
                    CREATE TABLE IF NOT EXISTS gaps (
                        id INTEGER PRIMARY KEY, question TEXT NOT NULL, topic TEXT NOT NULL, asker TEXT NOT NULL,
                        asked_at TEXT NOT NULL, kind TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '',
                        groups TEXT, closest TEXT NOT NULL, cited TEXT NOT NULL DEFAULT '[]', vector BLOB,
                        status TEXT NOT NULL DEFAULT 'open', answered_at TEXT, answer TEXT, seen_at TEXT);
                    CREATE INDEX IF NOT EXISTS gaps_status ON gaps(status, asked_at);
                    CREATE TABLE IF NOT EXISTS requests (
                        id INTEGER PRIMARY KEY, gap_ids TEXT NOT NULL, question TEXT NOT NULL, people TEXT NOT NULL,
                        requester TEXT NOT NULL, requested_at TEXT NOT NULL, emailed TEXT NOT NULL DEFAULT '[]',
                        not_emailed TEXT NOT NULL DEFAULT '[]', error TEXT);""")
                yield con
                con.commit()
            finally:
                con.close()

    # writes
    def add(self, question: str, topic: str, asker: str, kind: Kind, groups: list[str] | None,
            closest: list[NearProject], vector: list[float] | None, comment: str = "",
            asked_at: datetime | None = None, cited: list[str] | None = None) -> int:
        blob = np.asarray(vector, dtype=np.float32).tobytes() if vector is not None else None
        with self._db() as con:
            cur = con.execute(
                "INSERT INTO gaps (question, topic, asker, asked_at, kind, comment, groups, closest, cited, vector) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (question, topic, asker, _iso(asked_at or now()), kind, comment,
                 None if groups is None else json.dumps(sorted(groups)),
                 json.dumps([p.model_dump() for p in closest]), json.dumps(cited or []), blob))
            return int(cur.lastrowid)

    def mark_answered(self, ids: list[int], answer: GapAnswer) -> None:
        with self._db() as con:
            con.executemany("UPDATE gaps SET status='answered', answered_at=?, answer=? WHERE id=? AND status='open'",
                            [(_iso(now()), answer.model_dump_json(), i) for i in ids])

    def mark_seen(self, ids: list[int], asker: str) -> None:
        with self._db() as con:
            con.executemany("UPDATE gaps SET seen_at=? WHERE id=? AND asker=?", [(_iso(now()), i, asker) for i in ids])

    def add_request(self, gap_ids: list[int], question: str, people: list[str], requester: str) -> KnowledgeRequest:
        at = now()
        with self._db() as con:
            cur = con.execute("INSERT INTO requests (gap_ids, question, people, requester, requested_at) "
                              "VALUES (?,?,?,?,?)", (json.dumps(gap_ids), question, json.dumps(people), requester,
                                                     _iso(at)))
            rid = int(cur.lastrowid)
        return KnowledgeRequest(id=rid, gap_ids=gap_ids, question=question, people=people, requester=requester,
                                requested_at=at)

    def update_request(self, r: KnowledgeRequest) -> None:
        with self._db() as con:
            con.execute("UPDATE requests SET emailed=?, not_emailed=?, error=? WHERE id=?",
                        (json.dumps(r.emailed), json.dumps(r.not_emailed), r.error, r.id))

    # reads
    def gaps(self, status: str | None = None) -> list[Gap]:
        if not self.exists():
            return []
        sql = "SELECT * FROM gaps" + (" WHERE status=?" if status else "") + " ORDER BY asked_at, id"
        with self._db() as con:
            return [_gap(r) for r in con.execute(sql, (status,) if status else ())]

    def vectors(self, ids: list[int]) -> dict[int, np.ndarray]:
        if not ids or not self.exists():
            return {}
        with self._db() as con:
            rows = con.execute(f"SELECT id, vector FROM gaps WHERE id IN ({','.join('?' * len(ids))})", ids)
            return {r["id"]: np.frombuffer(r["vector"], dtype=np.float32) for r in rows if r["vector"]}

    def requests(self) -> list[KnowledgeRequest]:
        if not self.exists():
            return []
        with self._db() as con:
            rows = con.execute("SELECT * FROM requests ORDER BY requested_at DESC, id DESC").fetchall()
        return [KnowledgeRequest(id=r["id"], gap_ids=json.loads(r["gap_ids"]), question=r["question"],
                                 people=json.loads(r["people"]), requester=r["requester"],
                                 requested_at=_dt(r["requested_at"]), emailed=json.loads(r["emailed"]),
                                 not_emailed=json.loads(r["not_emailed"]), error=r["error"]) for r in rows]


def _gap(r: sqlite3.Row) -> Gap:
    return Gap(id=r["id"], question=r["question"], topic=r["topic"], asker=r["asker"], asked_at=_dt(r["asked_at"]),
               kind=r["kind"], comment=r["comment"], groups=json.loads(r["groups"]) if r["groups"] else None,
               closest=[NearProject.model_validate(p) for p in json.loads(r["closest"])],
               cited=json.loads(r["cited"] or "[]"), status=r["status"],
               answered_at=_dt(r["answered_at"]),
               answer=GapAnswer.model_validate_json(r["answer"]) if r["answer"] else None, seen_at=_dt(r["seen_at"]))


# -- logging answers and feedback -----------------------------------------------------------------------
def near_projects(answer: Answer, most: int = 3) -> list[NearProject]:
    """The projects an answer showed (its related work, or its closest work), with their cited evidence."""
    by_n = {c.n: c for c in answer.citations}
    out = []
    shown: list[ProjectMatch] = answer.projects or answer.closest
    for pm in shown[:most]:
        ev = [Evidence(source=c.source, title=c.title, document_id=c.document_id, date=c.date, snippet=c.snippet[:300])
              for n in pm.citations if (c := by_n.get(n))]
        out.append(NearProject(name=pm.name, key=pm.key, people=pm.people, document_ids=pm.document_ids, evidence=ev))
    return out


def log_answer(engine, answer: Answer, asker: str, groups: list[str] | None, kind: Kind | None = None,
               comment: str = "") -> int | None:
    """Log one unanswered question. Never raises: the asker still gets their answer if the log fails."""
    try:
        topic = (answer.standalone_question or answer.question).strip()
        if not topic:
            return None
        vector = engine.embeddings.embed_query(topic)
        return GapLog(engine.settings).add(answer.question, topic, asker or LOCAL,
                                           kind or ("related" if answer.verdict == "related" else "no"), groups,
                                           near_projects(answer), vector, comment=comment,
                                           cited=[c.document_id for c in answer.citations if c.document_id])
    except Exception as e:
        log.warning("could not log a knowledge gap: %s: %s", type(e).__name__, e)
        return None


def log_feedback(engine, answer: Answer, comment: str, asker: str, groups: list[str] | None) -> int | None:
    """A 👎 with a comment: the answer did not serve, whatever its verdict."""
    if not comment.strip():
        return None
    return log_answer(engine, answer, asker, groups, kind="feedback", comment=comment.strip())


# -- clusters -------------------------------------------------------------------------------------------
def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n else v


def cluster(gaps: list[Gap], vectors: dict[int, np.ndarray], threshold: float) -> list[list[Gap]]:
    """Greedy single pass, oldest first: a question joins the cluster whose centroid is most similar, at
    or above `threshold`; identical topics always share one."""
    groups: list[list[Gap]] = []
    centroids: list[np.ndarray] = []
    by_topic: dict[str, int] = {}
    for g in gaps:
        key = g.topic.lower().strip(" ?!.")
        v = vectors.get(g.id)
        at = by_topic.get(key)
        if at is None and v is not None and centroids:
            sims = [float(_unit(c) @ _unit(v)) for c in centroids]
            best = int(np.argmax(sims))
            at = best if sims[best] >= threshold else None
        if at is None:
            groups.append([g])
            centroids.append(v.astype(np.float64) if v is not None else np.zeros(1))
            at = len(groups) - 1
        else:
            groups[at].append(g)
            if v is not None and centroids[at].shape == v.shape:
                centroids[at] = centroids[at] + v
        by_topic.setdefault(key, at)
    return groups


def may_read_question(viewer: Viewer, gap: Gap) -> bool:
    return viewer.is_admin or gap.asker == viewer.username


def experts(engine, viewer: Viewer, projects: list[NearProject], most: int = 8) -> list[Expert]:
    """People on these projects as the viewer's own project index has them, with the documents naming them."""
    index = engine.projects(viewer.groups)
    found: dict[str, Expert] = {}
    for near in projects:
        key = near.key if near.key in index.members else None
        if key is None:
            continue  # the viewer may not read that project (or it is gone)
        name = index.name_of(key)
        readable = {d.id for d in index.members[key]}
        snippets = {e.document_id: e for e in near.evidence if e.document_id in readable}
        for d in index.members[key]:
            for person in d.people:
                ex = found.setdefault(person, Expert(name=person))
                if name not in ex.projects:
                    ex.projects.append(name)
                if len(ex.evidence) < 3 and all(e.document_id != d.id for e in ex.evidence):
                    ex.evidence.append(snippets.get(d.id) or Evidence(source=d.source, title=d.title,
                                                                      document_id=d.id, date=d.date,
                                                                      snippet=d.summary[:300]))
    # people on more of the closest projects, and named in more documents, first
    return sorted(found.values(), key=lambda e: (-len(e.projects), -len(e.evidence), e.name))[:most]


def clusters(engine, viewer: Viewer, status: str | None = "open", since: datetime | None = None) -> list[GapCluster]:
    """Similar questions together, most asked and most recent first, as the viewer may see them."""
    glog = GapLog(engine.settings)
    gaps = [g for g in glog.gaps(status) if since is None or g.asked_at >= since]
    if not gaps:
        return []
    vectors = glog.vectors([g.id for g in gaps])
    t = now()
    out = []
    for members in cluster(gaps, vectors, engine.settings.gap_similarity):
        readable = [g for g in members if may_read_question(viewer, g)]
        visible = bool(readable)
        near: list[NearProject] = []
        for g in readable:
            near += [p for p in g.closest if p.key not in {n.key for n in near}]
        out.append(GapCluster(
            id=members[0].id, gap_ids=[g.id for g in members], count=len(members),
            askers=len({g.asker for g in members}), first_asked=min(g.asked_at for g in members),
            last_asked=max(g.asked_at for g in members),
            score=round(sum(0.5 ** ((t - g.asked_at).total_seconds() / 86400 / HALF_LIFE_DAYS) for g in members), 4),
            visible=visible, questions=list(dict.fromkeys(g.question for g in readable)),
            comments=[g.comment for g in readable if g.comment],
            who_might_know=experts(engine, viewer, near) if visible else [],
            status="answered" if all(g.status == "answered" for g in members) else "open"))
    return sorted(out, key=lambda c: (-c.score, -c.last_asked.timestamp()))


# -- asking again -------------------------------------------------------------------------------------
def _groups_now(gap: Gap) -> list[str] | None:
    """The asker's groups as they are now (an account's groups may have changed since), else as logged."""
    from assistant.access import load_users
    from assistant.settings import EVERYONE

    if gap.asker == LOCAL:
        return gap.groups
    user = load_users().get(gap.asker)
    return sorted(set(user.groups) | {EVERYONE}) if user else gap.groups


def reask_open(engine) -> list[Gap]:
    """Ask the open questions again (each distinct question and group set once, the most recent first);
    mark those that now get a confident yes as answered, with its citations. Returns the answered gaps."""
    glog = GapLog(engine.settings)
    if not glog.exists():
        return []
    open_gaps = sorted(glog.gaps("open"), key=lambda g: g.asked_at, reverse=True)[: engine.settings.gap_reask_limit]
    batches: dict[tuple, list[Gap]] = {}
    for g in open_gaps:
        groups = _groups_now(g)
        batches.setdefault((g.topic.lower(), None if groups is None else tuple(groups)), []).append(g)
    answered: list[Gap] = []
    for (_, groups), members in batches.items():
        a = engine.ask(members[0].topic, filters=Filters(groups=None if groups is None else list(groups)),
                       use_llm=False)  # no asker: asking again is not a new question
        if a.verdict != "yes" or not a.citations:
            continue
        ga = GapAnswer(verdict=a.verdict, confidence=a.confidence, text=a.answer, citations=a.citations)
        new_ids = {c.document_id for c in a.citations}
        # A 👎 was given to an answer: the same answer again is no answer; it needs a document it did not cite.
        done = [g for g in members if g.kind != "feedback" or new_ids - set(g.cited)]
        if done:
            glog.mark_answered([g.id for g in done], ga)
            answered += [g.model_copy(update={"status": "answered", "answer": ga, "answered_at": now()}) for g in done]
    if answered:
        log.info("%d open question(s) now have an answer", len(answered))
    return answered


def answered_for(engine, viewer: Viewer, unseen_only: bool = True, since: datetime | None = None) -> list[Gap]:
    """The viewer's own questions that have an answer now (not yet dismissed, or answered since `since`).

    The stored answer is checked against what the viewer may read now: a citation of a document they
    can no longer read is dropped, and an answer left with none is not shown."""
    out = []
    for g in GapLog(engine.settings).gaps("answered"):
        if g.asker != viewer.username or g.answer is None:
            continue
        if unseen_only and g.seen_at is not None:
            continue
        if since is not None and (g.answered_at is None or g.answered_at < since):
            continue
        allowed = engine.store.committed([c.document_id for c in g.answer.citations], viewer.groups)
        cites = [c for c in g.answer.citations if c.document_id in allowed]
        if cites:
            out.append(g.model_copy(update={"answer": g.answer.model_copy(update={"citations": cites})}))
    return out


# -- "ask them" ----------------------------------------------------------------------------------------
def request(engine, viewer: Viewer, cluster_id: int, people: list[str], status: str | None = "open") -> KnowledgeRequest:
    """Record a knowledge request for a cluster the viewer may read (as listed with this `status`), and
    e-mail the people asked when SMTP is set and their address is known. Raises PermissionError or
    ValueError with the reason."""
    from assistant import notify

    found = next((c for c in clusters(engine, viewer, status=status) if c.id == cluster_id), None)
    if found is None:
        raise ValueError(f"cluster {cluster_id}: no such knowledge gap")
    if not found.visible:
        raise PermissionError(f"cluster {cluster_id}: only an admin or the asker may ask people about it")
    people = [p.strip() for p in people if p and p.strip()]
    if not people:
        raise ValueError("people: choose at least one person to ask")
    question = found.questions[0]
    glog = GapLog(engine.settings)
    r = glog.add_request(found.gap_ids, question, people, viewer.username)
    addresses = {p: notify.address_of(p, engine.settings) for p in people}
    r.not_emailed = [p for p, a in addresses.items() if not a]
    to = [a for a in addresses.values() if a]
    if engine.settings.smtp_url and to:
        known = {e.name: e for e in found.who_might_know}
        why = [f"- {p}: {', '.join(known[p].projects)}" for p in people if p in known]
        body = "\n".join([
            f"Hello,\n\n{viewer.label} is looking for someone who knows about this, and our project documents "
            f"have no answer:\n\n    {question}\n",
            "You were asked because you worked on related projects:" if why else "",
            *why, "",
            "If you know, please reply to this e-mail or add a project update in Precedent "
            "(`precedent updates add`), so the next person finds the answer.", "", "— Precedent"])
        result = notify.send(engine.settings, to, f"Do you know? {question[:80]}", body,
                             reply_to=viewer.email or None)
        r.emailed, r.error = result.sent, result.error
    elif to:
        r.error = "e-mail is not configured (PRECEDENT_SMTP_URL); the request is recorded only"
    glog.update_request(r)
    return r


def requests_for(engine, viewer: Viewer) -> tuple[list[KnowledgeRequest], int]:
    """The requests the viewer may read (admins: all; others: their own), and how many others there are."""
    all_ = GapLog(engine.settings).requests()
    mine = [r for r in all_ if viewer.is_admin or r.requester == viewer.username]
    return mine, len(all_) - len(mine)


def since_days(days: float) -> datetime:
    return now() - timedelta(days=days)
