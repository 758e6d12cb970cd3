"""The store keeps Chroma and the lexical index consistent, on embedded Chroma and on a Chroma server.

Every test runs twice (see the `store_kind` fixture): once embedded, once against a real `chroma run`.
"""

from __future__ import annotations

import hashlib

import pytest

from assistant.models import Chunk, Document, Filters
from assistant.store import Store

HARBOR_V1 = [
    "We installed a network of tidal flood sensors along the harbor wall for the port authority.",
    "The sensors report water levels every minute to a dashboard used by the harbor master.",
    "Alerts go out by text message when the tide gauge crosses the flood threshold.",
]
HARBOR_V2 = [
    "We replaced the harbor flood sensors with a lidar-based wave monitoring system.",
    "The new system forecasts storm surge six hours ahead using a gradient-boosted model.",
]
LIBRARY = [
    "A mobile app lets library patrons renew books and reserve study rooms.",
    "Patrons scan their library card with the phone camera to check out books.",
]
PAYROLL = [
    "Confidential: payroll reconciliation for the quarterly bonus run of the finance team.",
    "The payroll ledger was reconciled against the general ledger every month.",
]


def make_doc(source: str, texts: list[str], groups: list[str] | None = None, **meta) -> tuple[Document, list[Chunk]]:
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    doc = Document(source=source, title=source.rsplit("/", 1)[-1], content_hash=digest, format="md",
                   groups=groups or ["everyone"], summary=texts[0], **meta)
    chunks = [Chunk(document_id=doc.id, index=i, text=t, heading="Overview", version=digest) for i, t in enumerate(texts)]
    return doc, chunks


def commit(store: Store, embeddings, doc: Document, chunks: list[Chunk]) -> None:
    store.commit(doc, chunks, embeddings.embed_documents([c.embed_text for c in chunks]))


def chroma_chunks(store: Store, doc_id: str) -> list[dict]:
    """Every chunk row of a document in the Chroma collection, current or not."""
    got = store.chunks.get(where={"doc_id": doc_id}, include=["metadatas", "documents"])
    return [m | {"text": t} for m, t in zip(got["metadatas"], got["documents"])]


def lexical_rows(store: Store, doc_id: str) -> int:
    with store.lexical._lock:
        return store.lexical._db.execute("SELECT count(*) FROM chunks WHERE doc_id = ?", (doc_id,)).fetchone()[0]


def dense_docs(store: Store, embeddings, query: str, filters: Filters | None = None, k: int = 10) -> list[str]:
    return [h.chunk.document_id for h in store.dense_search(embeddings.embed_query(query), k, filters)]


def lexical_docs(store: Store, query: str, filters: Filters | None = None, k: int = 10) -> list[str]:
    return [c.document_id for c, _ in store.lexical_search(query, k, filters)]


@pytest.fixture
def store(settings_factory, embeddings) -> Store:
    return Store(settings_factory(), embeddings)


def test_commit_is_retrievable_dense_and_lexical(store, embeddings, store_kind):
    doc, chunks = make_doc("projects/harbor.md", HARBOR_V1, project="Harbor Sensors", client="Port Authority")
    other, other_chunks = make_doc("projects/library.md", LIBRARY)
    commit(store, embeddings, doc, chunks)
    commit(store, embeddings, other, other_chunks)

    assert store.settings.chroma_url is None if store_kind == "embedded" else store.settings.chroma_url
    assert dense_docs(store, embeddings, "flood monitoring for a port")[0] == doc.id
    assert dense_docs(store, embeddings, "app for borrowing books")[0] == other.id
    assert lexical_docs(store, "tide gauge threshold")[0] == doc.id
    assert lexical_docs(store, "study rooms") == [other.id]

    assert store.document(doc.id).chunk_count == 3
    assert [c.text for c in store.chunks_of(doc.id)] == HARBOR_V1
    assert store.stats()["documents"] == 2
    assert store.stats()["chunks"] == store.stats()["lexical_chunks"] == 5
    # Metadata filters apply inside both searches.
    assert dense_docs(store, embeddings, "flood monitoring", Filters(client="Port Authority")) == [doc.id] * 3
    assert set(lexical_docs(store, "library flood", Filters(project="Harbor Sensors"))) == {doc.id}


def test_recommit_replaces_chunks_without_duplicates(store, embeddings):
    doc, chunks = make_doc("projects/harbor.md", HARBOR_V1)
    commit(store, embeddings, doc, chunks)
    v1 = doc.content_hash
    commit(store, embeddings, *make_doc("projects/harbor.md", HARBOR_V1))  # the same content again: still 3 rows
    assert len(chroma_chunks(store, doc.id)) == 3

    doc2, chunks2 = make_doc("projects/harbor.md", HARBOR_V2)
    assert doc2.id == doc.id and doc2.content_hash != v1
    commit(store, embeddings, doc2, chunks2)

    rows = chroma_chunks(store, doc.id)
    assert len(rows) == 2, "old chunks left behind or duplicated"
    assert {r["version"] for r in rows} == {doc2.content_hash}
    assert sorted(r["text"] for r in rows) == sorted(HARBOR_V2)
    assert lexical_rows(store, doc.id) == 2
    assert store.document(doc.id).content_hash == doc2.content_hash
    assert store.document(doc.id).chunk_count == 2
    assert lexical_docs(store, "tide gauge text message") == []
    assert lexical_docs(store, "lidar storm surge") == [doc.id, doc.id]
    hits = store.dense_search(embeddings.embed_query("tidal flood sensors on the harbor wall"), 10)
    assert hits and all(h.chunk.version == doc2.content_hash for h in hits)
    assert len({h.chunk.id for h in hits}) == len(hits)
    # The record carries no leftover journal entry.
    assert store._record(doc.id)["pending"] == ""


def test_delete_removes_from_both_indexes(store, embeddings):
    doc, chunks = make_doc("projects/harbor.md", HARBOR_V1)
    keep, keep_chunks = make_doc("projects/library.md", LIBRARY)
    commit(store, embeddings, doc, chunks)
    commit(store, embeddings, keep, keep_chunks)

    assert store.delete(doc.id) is True
    assert store.delete(doc.id) is False
    assert chroma_chunks(store, doc.id) == []
    assert lexical_rows(store, doc.id) == 0
    assert store.document(doc.id) is None and store._record(doc.id) is None
    assert doc.id not in dense_docs(store, embeddings, "tidal flood sensors on the harbor wall")
    assert lexical_docs(store, "tide gauge flood harbor") == []
    assert lexical_docs(store, "library patrons") == [keep.id, keep.id]
    assert store.stats()["documents"] == 1


@pytest.mark.parametrize("crash", ["before_commit_point", "after_commit_point", "first_version"])
def test_recover_after_a_crash(settings_factory, embeddings, crash):
    settings = settings_factory()
    a = Store(settings, embeddings)
    old, old_chunks = make_doc("projects/harbor.md", HARBOR_V1)
    if crash != "first_version":
        commit(a, embeddings, old, old_chunks)
    new, new_chunks = make_doc("projects/harbor.md", HARBOR_V2)
    new.chunk_count = len(new_chunks)

    # The private steps of Store.commit, up to the crash.
    if crash == "first_version":
        a._put_record(new, committed="", pending=new.content_hash)
    else:
        a._put_record(Document.model_validate_json(a._record(old.id)["json"]), committed=old.content_hash,
                      pending=new.content_hash)
    from assistant.store import chunk_metadata

    a.chunks.upsert(ids=[c.id for c in new_chunks], embeddings=embeddings.embed_documents(HARBOR_V2),
                    documents=HARBOR_V2, metadatas=[chunk_metadata(new, c) for c in new_chunks])
    if crash == "after_commit_point":
        a._put_record(new, committed=new.content_hash, pending=new.content_hash)
    del a  # the process dies here

    b = Store(settings, embeddings)  # a restart: same data dir, same store
    expected = {"before_commit_point": old, "after_commit_point": new, "first_version": None}[crash]
    # Even before recovery, readers see exactly one version (or none): never a mix.
    served = b.document(old.id)
    assert (served.content_hash if served else None) == (expected.content_hash if expected else None)
    hits = b.dense_search(embeddings.embed_query("harbor flood sensors"), 10)
    assert {h.chunk.version for h in hits} <= ({expected.content_hash} if expected else set())

    assert b.recover() == 1
    assert b.recover() == 0
    rows = chroma_chunks(b, old.id)
    record = b._record(old.id)
    if expected is None:
        assert rows == [] and record is None and b.document(old.id) is None
        assert lexical_docs(b, "lidar storm surge") == []
        return
    assert record["pending"] == ""
    assert {r["version"] for r in rows} == {expected.content_hash}, "orphan chunks after recovery"
    want = HARBOR_V1 if expected is old else HARBOR_V2
    assert sorted(r["text"] for r in rows) == sorted(want)
    assert b.document(old.id).chunk_count == len(want)
    assert [c.text for c in b.chunks_of(old.id)] == want
    assert lexical_rows(b, old.id) == len(want)
    if expected is old:
        assert lexical_docs(b, "tide gauge threshold")[0] == old.id
        assert lexical_docs(b, "lidar storm surge") == []
    else:
        assert lexical_docs(b, "lidar storm surge")[0] == old.id
        assert lexical_docs(b, "tide gauge threshold") == []


def test_group_filters_hide_other_groups(store, embeddings):
    pay, pay_chunks = make_doc("finance/payroll.md", PAYROLL, groups=["finance"])
    lib, lib_chunks = make_doc("projects/library.md", LIBRARY, groups=["everyone"])
    both, both_chunks = make_doc("projects/harbor.md", HARBOR_V1, groups=["everyone", "finance"])
    for d, c in ((pay, pay_chunks), (lib, lib_chunks), (both, both_chunks)):
        commit(store, embeddings, d, c)

    everyone = Filters(groups=["everyone"])
    finance = Filters(groups=["finance"])
    q = "payroll reconciliation ledger bonus"
    assert pay.id not in dense_docs(store, embeddings, q, everyone, k=20)
    assert pay.id not in lexical_docs(store, q, everyone, k=20)
    assert lexical_docs(store, "payroll ledger library harbor", everyone, k=20)  # others still found
    assert set(dense_docs(store, embeddings, q, finance, k=20)) == {pay.id, both.id}
    assert set(lexical_docs(store, q + " harbor flood library", finance, k=20)) == {pay.id, both.id}
    assert dense_docs(store, embeddings, q, Filters(groups=["sales", "finance"]), k=20)[0] == pay.id
    assert dense_docs(store, embeddings, q, Filters(groups=[])) == []
    assert lexical_docs(store, q, Filters(groups=[])) == []
    # No groups given (local admin): everything.
    assert pay.id in dense_docs(store, embeddings, q) and pay.id in lexical_docs(store, q)
    assert [d.source for d in store.documents(groups=["everyone"])] == ["projects/harbor.md", "projects/library.md"]


def test_second_instance_sees_writes_after_refresh(settings_factory, embeddings, store_kind, tmp_path):
    a = Store(settings_factory(), embeddings)
    if store_kind == "server":  # another app instance: own data dir, same server and collection
        b = Store(settings_factory(), embeddings)
    else:  # embedded: same Chroma directory, its own lexical index file
        b = Store(a.settings, embeddings, lexical_path=tmp_path / "other-instance" / "lexical.sqlite")
    assert b.lexical._db is not a.lexical._db
    a_file = a.lexical._db.execute("PRAGMA database_list").fetchone()[2]
    b_file = b.lexical._db.execute("PRAGMA database_list").fetchone()[2]
    assert a_file != b_file

    doc, chunks = make_doc("projects/harbor.md", HARBOR_V1)
    commit(a, embeddings, doc, chunks)
    assert b.refresh() is True
    assert b.document(doc.id) is not None
    assert lexical_docs(b, "tide gauge threshold")[0] == doc.id
    assert dense_docs(b, embeddings, "flood sensors at the port")[0] == doc.id
    assert b.refresh() is False  # nothing new

    doc2, chunks2 = make_doc("projects/harbor.md", HARBOR_V2)
    commit(a, embeddings, doc2, chunks2)
    b.refresh()
    assert lexical_docs(b, "tide gauge threshold") == []
    assert lexical_docs(b, "lidar storm surge")[0] == doc.id
    assert lexical_rows(b, doc.id) == 2

    a.delete(doc.id)
    b.refresh()
    assert b.document(doc.id) is None
    assert lexical_docs(b, "lidar storm surge") == [] and lexical_rows(b, doc.id) == 0
    assert b.stats()["documents"] == 0


def test_refresh_is_rate_limited(settings_factory, embeddings):
    a = Store(settings_factory(), embeddings)
    b = Store(a.settings.model_copy(update={"lexical_refresh_seconds": 3600}), embeddings, lexical_path=None)
    commit(a, embeddings, *make_doc("projects/library.md", LIBRARY))
    assert b.refresh() is False  # checked at construction; the next check is an hour away
    assert b.refresh(force=True) is True
    assert lexical_docs(b, "study rooms")


def test_commit_many_leaves_no_stale_chunks(store, embeddings):
    """Several documents in one call: each loses its old chunks, even when another document of the same
    batch now has the content it used to have (a file copied, then the original edited)."""
    a, a_chunks = make_doc("projects/harbor.md", HARBOR_V1)
    commit(store, embeddings, a, a_chunks)
    a2, a2_chunks = make_doc("projects/harbor.md", HARBOR_V2)
    copy, copy_chunks = make_doc("archive/harbor-copy.md", HARBOR_V1)
    lib, lib_chunks = make_doc("projects/library.md", LIBRARY)
    store.commit_many([(d, c, embeddings.embed_documents([x.embed_text for x in c]))
                       for d, c in ((a2, a2_chunks), (copy, copy_chunks), (lib, lib_chunks))])

    assert {r["version"] for r in chroma_chunks(store, a.id)} == {a2.content_hash}, "stale chunks of the old version"
    assert len(chroma_chunks(store, a.id)) == 2
    assert len(chroma_chunks(store, copy.id)) == 3 and len(chroma_chunks(store, lib.id)) == 2
    assert store.chunks.count() == 7
    assert store.stats()["documents"] == 3 and store.stats()["lexical_chunks"] == 7


def test_a_new_instance_answers_from_dense_search_while_its_keyword_index_catches_up(settings_factory, embeddings,
                                                                                      monkeypatch, tmp_path):
    """A new instance on a large store loads its lexical index in the background: meanwhile search is dense
    only and every answer says so; once loaded, the index matches the store and the notice is gone."""
    import threading

    from assistant.engine import Engine
    from assistant.lexical import LexicalIndex

    a = Store(settings_factory(), embeddings)
    docs = [make_doc(f"projects/harbor-{i}.md", [f"Harbor {i}: " + t for t in HARBOR_V1]) for i in range(6)]
    docs.append(make_doc("projects/library.md", LIBRARY))
    a.commit_many([(d, c, embeddings.embed_documents([x.embed_text for x in c])) for d, c in docs])

    release, started = threading.Event(), threading.Event()
    load = LexicalIndex.replace_many

    def held(self, items, new=frozenset()):  # the background load waits until the test has looked
        if threading.current_thread().name == "lexical-catch-up":
            started.set()
            assert release.wait(60)
        return load(self, items, new)

    monkeypatch.setattr(LexicalIndex, "replace_many", held)
    b = Store(a.settings.model_copy(update={"lexical_background_docs": 3}), embeddings,
              lexical_path=tmp_path / "new-instance" / "lexical.sqlite")
    assert started.wait(30)
    assert not b.lexical_ready and b.catchup_progress == (0, 7)
    assert b.stats()["lexical_ready"] is False
    eng = Engine(settings=b.settings, store=b, embeddings=embeddings)
    ans = eng.ask("Have we built an app for library patrons to reserve study rooms?")
    assert "keyword index" in (ans.notice or "") and "0 of 7" in ans.notice
    assert ans.verdict != "no" and ans.citations and ans.citations[0].source == "projects/library.md"

    release.set()
    assert b.wait_lexical(60)
    assert b.lexical.count() == sum(len(c) for _, c in docs)
    assert lexical_docs(b, "study rooms") == [docs[-1][0].id]
    ans = eng.ask("Have we built an app for library patrons to reserve study rooms?")
    assert not ans.notice and ans.citations[0].source == "projects/library.md"
