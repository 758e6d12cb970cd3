"""The store: Chroma (embedded or server) for chunks and document records, plus the lexical index.

Consistency without transactions. Chroma has none, so each document record is the commit point:
1. the record is marked `pending=<new hash>` (a journal entry);
2. the new chunks are written with `version=<new hash>`;
3. the record flips to `content_hash=<new hash>`;
4. chunks of any other version are deleted, then `pending` is cleared.
Readers only accept chunks whose version equals their document's committed hash, so they see the
old document or the new one, never a mix. `recover()` finishes or rolls back any journal entry a
crash left behind, so a killed ingest leaves no orphans and the next run completes the work.

LangChain's indexing API (`index()` + record manager) was considered: it adds new chunks before
deleting old ones with no commit point, so readers see both; and its record manager is a separate
SQL database that does not travel with a shared Chroma server. The records collection here plays
that role inside Chroma itself.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assistant.models import Chunk, Document, Filters

log = logging.getLogger(__name__)

META_ID = "__meta__"
LEASE_ID = "__lease__"
REGISTRY_ID = "__registry__"  # the imported project registry (assistant/registry.py), shared like the documents
DELETING = "__delete__"
# Documents per lexical transaction in a background catch-up: small, so that a question's term statistics
# (read from the same index meanwhile) never wait long for the index's lock.
BACKGROUND_BATCH = 100


class StoreUnavailable(RuntimeError):
    """The Chroma store cannot be reached; the message says where and what to do."""


class StoreBusy(RuntimeError):
    """Another writer held the store's lease for longer than we were willing to wait."""


def make_client(settings):
    """The one place that picks embedded Chroma or a Chroma server."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    cs = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        from urllib.parse import urlparse

        u = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        try:
            return chromadb.HttpClient(host=u.hostname or "127.0.0.1", port=u.port or (443 if u.scheme == "https" else 8000),
                                       ssl=u.scheme == "https", settings=cs)
        except Exception as e:  # chromadb raises ValueError/ConnectError on a dead server
            raise StoreUnavailable(f"Chroma server at {settings.chroma_url} is unreachable ({type(e).__name__}). "
                                   "Start it with `chroma run --path DIR --host 127.0.0.1 --port 8000`, "
                                   "or unset PRECEDENT_CHROMA_URL to use the embedded store.") from e
    settings.store_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.store_dir), settings=cs)


def describe_store(settings) -> str:
    return f"Chroma server {settings.chroma_url}" if settings.chroma_url else f"embedded Chroma at {settings.store_dir}"


def _group_key(g: str) -> str:
    return f"g:{g}"


def readable(doc: Document, groups: list[str] | None) -> bool:
    return groups is None or bool(set(doc.groups) & set(groups))


def centroid(vectors: list[list[float]]) -> str:
    """A document's passages' mean direction, unit length, as base64 float16 (768 bytes at 384 dimensions)."""
    import base64

    import numpy as np

    if not len(vectors):
        return ""
    v = np.asarray(vectors, dtype=np.float32).mean(axis=0)
    n = float(np.linalg.norm(v))
    return base64.b64encode((v / n if n else v).astype(np.float16).tobytes()).decode("ascii")


def centroid_vector(text: str):
    """The vector back from `centroid()`, or None."""
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype=np.float16).astype(np.float32) if text else None


def chunk_metadata(doc: Document, c: Chunk, revoked: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """`revoked`: groups the chunk's id may still carry from an earlier record. Chroma's upsert merges
    metadata, so a group that is no longer allowed must be set to False, not merely left out."""
    m: dict[str, Any] = {"doc_id": doc.id, "version": c.version, "source": doc.source, "idx": c.index,
                         "format": doc.format, "doc_type": doc.doc_type}
    for key, val in (("heading", c.heading), ("page", c.page), ("slide", c.slide), ("client", doc.client),
                     ("project", doc.project), ("date", doc.date)):
        if val is not None:
            m[key] = val
    for g in revoked:
        m[_group_key(g)] = False
    for g in doc.groups:
        m[_group_key(g)] = True  # flags, so a `where` can filter groups with $or
    return m


def chunk_from_metadata(text: str, m: dict[str, Any]) -> Chunk:
    return Chunk(document_id=m["doc_id"], index=int(m.get("idx", 0)), text=text, heading=m.get("heading"),
                 page=m.get("page"), slide=m.get("slide"), version=m.get("version", ""))


def chroma_where(f: Filters | None) -> dict | None:
    """Filters as a Chroma `where`, applied inside the store query."""
    if f is None:
        return None
    clauses: list[dict] = []
    for col in ("client", "project", "format", "doc_type"):
        if getattr(f, col):
            clauses.append({col: getattr(f, col)})
    if f.date_from:
        clauses.append({"date": {"$gte": f.date_from}})
    if f.date_to:
        clauses.append({"date": {"$lte": f.date_to + "~"}})
    if f.groups is not None:
        gs = [{_group_key(g): True} for g in f.groups] or [{_group_key("\x00none"): True}]
        clauses.append(gs[0] if len(gs) == 1 else {"$or": gs})
    if f.doc_ids is not None:
        clauses.append({"doc_id": {"$in": list(f.doc_ids) or ["\x00none"]}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


@dataclass
class DenseHit:
    chunk: Chunk
    similarity: float


class Store:
    """Chunks, document records and the lexical index, kept consistent."""

    def __init__(self, settings, embeddings, client=None, lexical_path: Path | None | str = "default"):
        from langchain_chroma import Chroma

        from assistant.lexical import LexicalIndex

        self.settings = settings
        self.embeddings = embeddings
        try:
            self.client = client or make_client(settings)
            # The LangChain vector store owns the chunk collection and our embedder object.
            self.vectorstore = Chroma(client=self.client, collection_name=f"{settings.collection}_chunks",
                                      embedding_function=embeddings, collection_metadata={"hnsw:space": "cosine"})
            self.chunks = self.vectorstore._collection
            self.records = self.client.get_or_create_collection(f"{settings.collection}_documents")
        except StoreUnavailable:
            raise
        except Exception as e:
            raise StoreUnavailable(f"Cannot open the store ({describe_store(settings)}): {type(e).__name__}: {e}") from e
        if lexical_path == "default":
            name = "lexical-" + (settings.collection + "-" + (settings.chroma_url or "local")).replace("/", "_").replace(":", "_")
            lexical_path = settings.state_dir / f"{name}.sqlite"
        self.lexical = LexicalIndex(lexical_path)  # type: ignore[arg-type]
        self._docs: dict[str, Document] = {}
        self._generation: int | None = None
        self._checked = 0.0
        self._lock = threading.RLock()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held = 0  # nesting depth of writer() in this process
        # Writers in this process take turns on their own lock: readers (refresh) never wait for a long ingest.
        self._write_lock = threading.RLock()
        self._renewer: threading.Thread | None = None
        self._stop_renew = threading.Event()
        self.version = 0  # bumps whenever this process sees the content change (caches key on it)
        self._catchup: dict | None = None  # {"done", "total"} while the lexical index is built in the background
        self._catchup_thread: threading.Thread | None = None
        self.refresh(force=True)

    # -- records ----------------------------------------------------------------------------------
    def _generation_now(self) -> int:
        got = self.records.get(ids=[META_ID], include=["metadatas"])
        return int(got["metadatas"][0]["generation"]) if got["ids"] else 0

    # -- the writer lease ----------------------------------------------------------------------------
    def _lease(self) -> dict | None:
        got = self.records.get(ids=[LEASE_ID], include=["metadatas"])
        return got["metadatas"][0] if got["ids"] else None

    def _write_lease(self) -> None:
        self.records.upsert(ids=[LEASE_ID], embeddings=[[1.0]], documents=[""],
                            metadatas=[{"owner": self.owner, "expires": time.time() + self.settings.writer_lease_seconds}])

    def _try_acquire(self) -> dict | None:
        """Take the lease if it is free or expired; returns the other holder's lease when it is not."""
        import random

        held = self._lease()
        if held and held.get("owner") != self.owner and float(held.get("expires", 0)) > time.time():
            return held
        self._write_lease()
        # Chroma has no compare-and-set: write, wait, read back. Of two writers that both saw the lease
        # free, the last write wins, and the other sees that on reading back and keeps waiting.
        time.sleep(0.05 + random.random() * 0.1)
        held = self._lease()
        return None if held and held.get("owner") == self.owner else (held or {"owner": "?", "expires": time.time()})

    def _renew_loop(self) -> None:
        while not self._stop_renew.wait(self.settings.writer_lease_seconds / 3):
            try:
                self._write_lease()
            except Exception as e:  # the store went away; the write that needs it will fail loudly
                log.warning("could not renew the writer lease: %s", e)

    @contextmanager
    def writer(self):
        """Hold the store's writer lease (reentrant). Writers on one store, in any process on any host,
        take turns; the lease is renewed while held, and one whose holder died expires on its own."""
        with self._write_lock:
            if self._held == 0:
                deadline = time.monotonic() + self.settings.writer_wait_seconds
                told = False
                while (other := self._try_acquire()) is not None:
                    if not told:
                        msg = (f"Another writer ({other.get('owner')}) is updating the store; waiting for it to finish "
                               f"(its lease runs {max(0.0, float(other.get('expires', 0)) - time.time()):.0f} s more "
                               "unless renewed).")
                        log.warning(msg)
                        told = True
                    if time.monotonic() > deadline:
                        raise StoreBusy(f"another writer ({other.get('owner')}) held the store for more than "
                                        f"{self.settings.writer_wait_seconds:g} s")
                    time.sleep(0.5)
                self._stop_renew.clear()
                self._renewer = threading.Thread(target=self._renew_loop, daemon=True, name="lease-renewer")
                self._renewer.start()
            self._held += 1
            try:
                yield
            finally:
                self._held -= 1
                if self._held == 0:
                    self._stop_renew.set()
                    if self._renewer is not None:
                        self._renewer.join(timeout=5)
                    try:
                        held = self._lease()
                        if held and held.get("owner") == self.owner:
                            self.records.delete(ids=[LEASE_ID])
                    except Exception as e:
                        log.warning("could not release the writer lease: %s", e)

    def _bump(self) -> None:
        """Tell other processes that the store changed. Only the lease holder writes, so this
        read-modify-write cannot lose another writer's increment."""
        ours = self._generation_now() == self._generation
        gen = self._generation_now() + 1
        self.records.upsert(ids=[META_ID], embeddings=[[1.0]], metadatas=[{"generation": gen, "at": time.time()}],
                            documents=[""])
        if ours:  # nobody else wrote since we last looked, so our view is current
            self._generation = gen
        self.version += 1

    # -- the project registry ------------------------------------------------------------------------
    def registry(self):
        """The imported project registry, or None."""
        from assistant.registry import Registry

        got = self.records.get(ids=[REGISTRY_ID], include=["metadatas"])
        return Registry.model_validate_json(got["metadatas"][0]["json"]) if got["ids"] else None

    def put_registry(self, registry) -> None:
        """Replace the registry (None removes it); other instances rebuild their project index on the bump."""
        with self.writer(), self._lock:
            if registry is None:
                self.records.delete(ids=[REGISTRY_ID])
            else:
                self.records.upsert(ids=[REGISTRY_ID], embeddings=[[1.0]], documents=[registry.source],
                                    metadatas=[{"json": registry.model_dump_json()}])
            self._bump()

    def _put_record(self, doc: Document, committed: str, pending: str = "") -> None:
        self._put_records([(doc, committed, pending)])

    def _put_records(self, rows: list[tuple[Document, str, str]]) -> None:
        self.records.upsert(
            ids=[d.id for d, _, _ in rows], embeddings=[[1.0]] * len(rows),
            metadatas=[{"source": d.source, "content_hash": c, "pending": p, "json": d.model_dump_json()}
                       | ({"vec": d._centroid} if d._centroid else {}) for d, c, p in rows],
            documents=[d.title or d.source for d, _, _ in rows])

    def _all_records(self) -> list[dict]:
        got = self.records.get(include=["metadatas"])
        return [m | {"id": i} for i, m in zip(got["ids"], got["metadatas"]) if i not in (META_ID, LEASE_ID, REGISTRY_ID)]

    def refresh(self, force: bool = False) -> bool:
        """Pick up writes by other processes: reload document records and bring the lexical index in line.

        Checked at most every `lexical_refresh_seconds`; returns True when something changed."""
        now = time.monotonic()
        if not force and now - self._checked < self.settings.lexical_refresh_seconds:
            return False
        with self._lock:
            self._checked = now
            gen = self._generation_now()
            if not force and gen == self._generation:
                return False
            docs = {}
            for r in self._all_records():
                if r.get("content_hash"):
                    d = Document.model_validate_json(r["json"])
                    d.content_hash = r["content_hash"]
                    d._centroid = r.get("vec", "")
                    docs[r["id"]] = d
            self._docs = docs
            self._generation = gen
            self._sync_lexical()
            self.version += 1
            return True

    # -- the lexical index catching up -----------------------------------------------------------
    @property
    def lexical_ready(self) -> bool:
        """False while this instance's lexical index is still being built from the store in the background:
        the engine then searches dense only, and its answers say so."""
        return self._catchup is None

    @property
    def catchup_progress(self) -> tuple[int, int]:
        """(documents loaded, documents to load) of a catch-up under way; (0, 0) when there is none."""
        c = self._catchup
        return (c["done"], c["total"]) if c else (0, 0)

    def wait_lexical(self, timeout: float | None = None) -> bool:
        """Wait for a background catch-up to finish; True when the lexical index is in line."""
        t = self._catchup_thread
        if t is not None:
            t.join(timeout)
        return self.lexical_ready

    def _stale_lexical(self) -> tuple[list[Document], dict[str, str]]:
        have = self.lexical.versions()
        for doc_id in set(have) - set(self._docs):
            self.lexical.delete(doc_id)
        # By record version, not content hash: narrowing a document's groups changes no byte of it, but
        # must reach this instance's `acl` column all the same.
        return [doc for doc_id, doc in list(self._docs.items()) if have.get(doc_id) != doc.revision], have

    def _sync_lexical(self) -> None:
        if self._catchup is not None:  # the background catch-up re-checks when it ends
            return
        stale, have = self._stale_lexical()
        if len(stale) <= self.settings.lexical_background_docs:
            self._load_lexical(stale, have)
            return
        # A new instance on a large shared store: answer from dense search meanwhile rather than wait.
        self._catchup = {"done": 0, "total": len(stale)}
        self._catchup_thread = threading.Thread(target=self._catch_up, args=(stale, have), daemon=True,
                                                name="lexical-catch-up")
        log.info("the lexical index is behind by %d documents: building it in the background", len(stale))
        self._catchup_thread.start()

    def _catch_up(self, stale: list[Document], have: dict[str, str]) -> None:
        t0 = time.perf_counter()
        try:
            while True:
                self._load_lexical(stale, have, batch=BACKGROUND_BATCH, progress=self._catchup)
                # What changed meanwhile (writes by others, deletions) is loaded too. The last check and the
                # end of the catch-up happen under one lock, so no refresh can slip between them unsynced.
                with self._lock:
                    stale, have = self._stale_lexical()
                    if not stale:
                        self._end_catch_up()
                        break
                    self._catchup = {"done": 0, "total": len(stale)}
            log.info("the lexical index caught up in %.1f s", time.perf_counter() - t0)
        except Exception:  # the next refresh starts again from what was loaded
            log.exception("the lexical catch-up failed; it is retried on the next refresh")
            with self._lock:
                self._end_catch_up()
                self._generation = None

    def _end_catch_up(self) -> None:
        self._catchup = None
        self._catchup_thread = None
        self.version += 1  # term statistics read during the catch-up are recomputed

    def _load_lexical(self, stale: list[Document], have: dict[str, str], batch: int = 500,
                      progress: dict | None = None) -> None:
        for b in range(0, len(stale), batch):  # one store read and one transaction per batch
            part = stale[b : b + batch]
            got = self.chunks.get(where={"doc_id": {"$in": [d.id for d in part]}}, include=["metadatas", "documents"])
            by_doc: dict[str, list[Chunk]] = {}
            versions = {d.id: d.content_hash for d in part}
            for text, meta in zip(got["documents"], got["metadatas"]):
                c = chunk_from_metadata(text, meta)
                if versions.get(c.document_id) == c.version:
                    by_doc.setdefault(c.document_id, []).append(c)
            self.lexical.replace_many([(d, sorted(by_doc.get(d.id, []), key=lambda c: c.index)) for d in part],
                                      new={d.id for d in part if d.id not in have})
            if progress is not None:
                progress["done"] = min(b + batch, len(stale))

    def chunk_texts(self, doc_id: str) -> list[tuple[str | None, str]]:
        """A document's (heading, passage) pairs read from the store, for when the lexical index lacks it."""
        doc = self._docs.get(doc_id)
        return [(c.heading, c.text) for c in self._read_chunks(doc)] if doc else []

    def _read_chunks(self, doc: Document) -> list[Chunk]:
        # By id first: a chunk's id is known from its document, version and index, and a lookup by id costs
        # the same at any store size, where a metadata filter grows with the store. The filter remains for
        # a record whose chunk count does not account for every chunk.
        ids = [Chunk(document_id=doc.id, index=i, text="", version=doc.content_hash).id for i in range(doc.chunk_count)]
        got = self.chunks.get(ids=ids, include=["metadatas", "documents"]) if ids else None
        if got is None or len(got["ids"]) != len(ids):
            got = self.chunks.get(where={"$and": [{"doc_id": doc.id}, {"version": doc.content_hash}]},
                                  include=["metadatas", "documents"])
        chunks = [chunk_from_metadata(t, m) for t, m in zip(got["documents"], got["metadatas"])]
        return sorted((c for c in chunks if c.version == doc.content_hash), key=lambda c: c.index)

    # -- reads ------------------------------------------------------------------------------------
    def documents(self, groups: list[str] | None = None) -> list[Document]:
        self.refresh()
        return sorted((d for d in self._docs.values() if readable(d, groups)), key=lambda d: d.source)

    def document(self, doc_id: str) -> Document | None:
        self.refresh()
        return self._docs.get(doc_id)

    def document_by_source(self, source: str) -> Document | None:
        from assistant.models import stable_id

        return self.document(stable_id("doc", source))

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        doc = self.document(doc_id)
        return self._read_chunks(doc) if doc else []

    def committed(self, doc_ids: list[str], groups: list[str] | None = None) -> dict[str, Document]:
        """The committed records of these documents, read from the store itself (not this instance's
        cache), keeping those the groups may read. The last check before anything is composed, so a
        stale index on any instance cannot let a restricted or deleted document through."""
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        got = self.records.get(ids=ids, include=["metadatas"])
        out: dict[str, Document] = {}
        for i, m in zip(got["ids"], got["metadatas"]):
            if not m.get("content_hash"):
                continue
            d = Document.model_validate_json(m["json"])
            d.content_hash = m["content_hash"]
            if readable(d, groups):
                out[i] = d
        return out

    def count_chunks(self) -> int:
        return sum(d.chunk_count for d in self._docs.values())

    def is_current(self, chunk: Chunk) -> bool:
        doc = self._docs.get(chunk.document_id)
        return doc is not None and doc.content_hash == chunk.version

    def dense_search(self, vector: list[float], k: int, filters: Filters | None = None) -> list[DenseHit]:
        # No count() first: it costs ~10 ms at 100k chunks, and Chroma returns fewer than `n_results` when the
        # collection holds fewer (none when it is empty).
        res = self.chunks.query(query_embeddings=[vector], n_results=k, where=chroma_where(filters),
                                include=["metadatas", "documents", "distances"])
        hits = []
        for text, meta, dist in zip(res["documents"][0], res["metadatas"][0], res["distances"][0]):
            c = chunk_from_metadata(text, meta)
            if self.is_current(c):
                hits.append(DenseHit(c, 1.0 - float(dist)))
        return hits

    def lexical_search(self, text: str, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        return [(c, s) for c, s in self.lexical.search(text, k, filters) if self.is_current(c)]

    def heartbeat(self) -> bool:
        try:
            self.client.heartbeat()
            return True
        except Exception:
            return False

    # -- writes -----------------------------------------------------------------------------------
    def commit(self, doc: Document, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        """Replace a document and its chunks in one visible step (see the module docstring)."""
        self.commit_many([(doc, chunks, vectors)])

    def commit_many(self, items: list[tuple[Document, list[Chunk], list[list[float]]]]) -> None:
        """Commit several documents with a handful of store calls (each one still flips in one step)."""
        if not items:
            return
        with self.writer(), self._lock:
            ids = [d.id for d, _, _ in items]
            got = self.records.get(ids=ids, include=["metadatas"])
            old = {i: m for i, m in zip(got["ids"], got["metadatas"])}
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            journal = []
            revoked: dict[str, list[str]] = {}
            for doc, chunks, vecs in items:
                doc.chunk_count, doc.ingested_at = len(chunks), now
                doc._centroid = centroid(vecs)
                prev = old.get(doc.id)
                was = Document.model_validate_json(prev["json"]) if prev and prev.get("json") else None
                if was is not None:
                    revoked[doc.id] = sorted(set(was.groups) - set(doc.groups))
                if was is not None and prev.get("content_hash"):  # keep the committed record readable meanwhile
                    journal.append((was, prev["content_hash"], doc.content_hash))
                else:
                    journal.append((doc, "", doc.content_hash))
            self._put_records(journal)  # 1. journal
            rows = [(doc, c, v) for doc, chunks, vecs in items for c, v in zip(chunks, vecs)]
            for b in range(0, len(rows), 1000):  # 2. new chunks
                part = rows[b : b + 1000]
                self.chunks.upsert(ids=[c.id for _, c, _ in part], embeddings=[v for _, _, v in part],
                                   documents=[c.text for _, c, _ in part],
                                   metadatas=[chunk_metadata(d, c, revoked.get(d.id, ())) for d, c, _ in part])
            self._put_records([(d, d.content_hash, d.content_hash) for d, _, _ in items])  # 3. commit point
            # 4. each document loses every other version (per document: a copy may carry another's old hash)
            stale = [{"$and": [{"doc_id": d.id}, {"version": {"$ne": d.content_hash}}]} for d, _, _ in items]
            for b in range(0, len(stale), 100):
                part = stale[b : b + 100]
                self.chunks.delete(where=part[0] if len(part) == 1 else {"$or": part})
            self._put_records([(d, d.content_hash, "") for d, _, _ in items])
            self._bump()
            for doc, chunks, _ in items:
                self._docs[doc.id] = doc
                self.lexical.replace(doc, chunks)

    def delete(self, doc_id: str) -> bool:
        with self.writer(), self._lock:
            old = self._record(doc_id)
            if not old:
                return False
            doc = Document.model_validate_json(old["json"])
            self._put_record(doc, committed="", pending=DELETING)  # hidden from readers from here on
            self.chunks.delete(where={"doc_id": doc_id})
            self.records.delete(ids=[doc_id])
            self._bump()
            self._docs.pop(doc_id, None)
            self.lexical.delete(doc_id)
            return True

    def _record(self, doc_id: str) -> dict | None:
        got = self.records.get(ids=[doc_id], include=["metadatas"])
        return got["metadatas"][0] if got["ids"] else None

    def recover(self) -> int:
        """Finish or roll back writes that a crash interrupted. Returns how many were repaired."""
        fixed = 0
        # Under the lease: any journal entry left now belongs to a writer whose lease expired.
        with self.writer(), self._lock:
            for r in self._all_records():
                pending = r.get("pending")
                if not pending:
                    continue
                fixed += 1
                committed = r.get("content_hash", "")
                if pending == DELETING or not committed:
                    self.chunks.delete(where={"doc_id": r["id"]})
                    self.records.delete(ids=[r["id"]])
                else:  # keep the committed version, drop everything else
                    self.chunks.delete(where={"$and": [{"doc_id": r["id"]}, {"version": {"$ne": committed}}]})
                    doc = Document.model_validate_json(r["json"])  # the committed document's record
                    doc.content_hash = committed
                    doc.chunk_count = len(self.chunks.get(where={"$and": [{"doc_id": r["id"]}, {"version": committed}]},
                                                          include=[])["ids"])
                    self._put_record(doc, committed=committed)
            if fixed:
                self._bump()
                self.refresh(force=True)
        return fixed

    def stats(self) -> dict[str, Any]:
        self.refresh()
        done, total = self.catchup_progress
        return {"documents": len(self._docs), "chunks": self.count_chunks(), "lexical_chunks": self.lexical.count(),
                "lexical_ready": self.lexical_ready, "lexical_catchup": {"done": done, "total": total},
                "generation": self._generation}
