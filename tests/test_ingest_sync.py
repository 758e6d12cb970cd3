"""Incremental, idempotent, crash-safe sync, on real files."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.engine import Engine
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
from shared_corpora import BAD, MIXED, needs_shared  # noqa: E402
PRECEDENT = Path(sys.executable).parent / "precedent"



def write(p: Path, text: str) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def chunk_ids_by_doc(engine: Engine) -> dict[str, list[str]]:
    got = engine.store.chunks.get(include=["metadatas"])
    out: dict[str, list[str]] = {}
    for cid, m in zip(got["ids"], got["metadatas"]):
        out.setdefault(m["doc_id"], []).append(cid)
    return out


def assert_consistent(engine: Engine) -> None:
    """Every chunk belongs to a committed document version; counts agree; no pending journal entries."""
    engine.store.refresh(force=True)
    docs = {d.id: d for d in engine.store.documents()}
    got = engine.store.chunks.get(include=["metadatas"])
    for m in got["metadatas"]:
        assert m["doc_id"] in docs, f"orphan chunk of {m.get('source')}"
        assert m["version"] == docs[m["doc_id"]].content_hash, f"stale chunk of {m.get('source')}"
    per_doc = chunk_ids_by_doc(engine)
    for d in docs.values():
        assert len(per_doc.get(d.id, [])) == d.chunk_count, d.source
        assert len(set(per_doc.get(d.id, []))) == len(per_doc.get(d.id, []))
    assert not [r for r in engine.store._all_records() if r.get("pending")]
    assert engine.store.lexical.count() == sum(d.chunk_count for d in docs.values())


@pytest.fixture
def engine(tmp_path, embeddings):
    return Engine(settings=Settings(data_dir=tmp_path / "data"), embeddings=embeddings)


def test_idempotent_update_prune_and_duplicates(tmp_path, engine):
    folder = tmp_path / "docs"
    write(folder / "alpha.md", "# Alpha\n\nWe built a harbour booking portal for the Port of Emberly in 2022.\n")
    write(folder / "beta.md", "# Beta\n\nWe migrated the Lakeside library catalogue to a hosted search service.\n")
    write(folder / "sub/gamma.md", "# Gamma\n\nA data pipeline for the Kestrel utility, built with Kafka.\n")
    write(folder / "copy-of-alpha.md", (folder / "alpha.md").read_text())  # same content, another name
    ing = engine.ingestor()
    r1 = ing.ingest_paths([folder])
    assert (r1.added, r1.failed) == (4, [])
    assert {d.source for d in engine.store.documents()} == {"alpha.md", "beta.md", "sub/gamma.md", "copy-of-alpha.md"}

    r2 = ing.ingest_paths([folder])
    assert (r2.added, r2.updated, r2.unchanged, r2.new_chunks) == (0, 0, 4, 0)

    write(folder / "beta.md", "# Beta\n\nWe migrated the Lakeside library catalogue to OpenSearch, with 2 million records.\n")
    (folder / "sub/gamma.md").unlink()
    r3 = ing.ingest_paths([folder], prune=True)
    assert (r3.updated, r3.deleted, r3.unchanged) == (1, 1, 2)
    assert engine.store.document_by_source("sub/gamma.md") is None
    beta = engine.store.document_by_source("beta.md")
    assert any("OpenSearch" in c.text for c in engine.store.chunks_of(beta.id))
    assert not any("hosted search service" in c.text for c in engine.store.chunks_of(beta.id))
    assert_consistent(engine)

    # The same upload twice is one document.
    for _ in range(2):
        ing.ingest_upload("notes.md", b"# Notes\n\nWe ran a usability study for the Orchard museum.\n")
    assert [d.source for d in engine.store.documents()].count("upload:notes.md") == 1
    assert_consistent(engine)


def test_failed_file_keeps_previous_version(tmp_path, engine):
    folder = tmp_path / "docs"
    write(folder / "good.md", "# Good\n\nWe designed a grants portal for the Willow foundation.\n")
    ing = engine.ingestor()
    assert ing.ingest_paths([folder]).added == 1
    (folder / "good.md").write_bytes(b"\x00\x01\x02binary" * 100)
    r = ing.ingest_paths([folder])
    assert len(r.failed) == 1 and r.failed[0].source == "good.md"
    doc = engine.store.document_by_source("good.md")
    assert doc is not None and "grants portal" in engine.store.chunks_of(doc.id)[0].text
    a = engine.ask("Have we designed a grants portal?")
    assert not a.abstained and a.citations[0].source == "good.md"


@needs_shared
def test_bad_inputs_reported_and_good_files_ingested(tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(MIXED / "projects", folder / "projects")
    shutil.copytree(BAD, folder / "bad")
    (folder / "bad" / "README.txt").unlink()
    (folder / "odd name (1) ünïcode.xyz").write_text("unsupported")
    env = os.environ | {"PRECEDENT_DATA_DIR": str(tmp_path / "data")}
    p = subprocess.run([str(PRECEDENT), "ingest", str(folder), "--json"], capture_output=True, text=True,
                       env=env, timeout=900)
    assert p.returncode != 0, p.stderr
    report = json.loads(p.stdout)
    good = len(list((folder / "projects").iterdir()))
    assert report["added"] == good
    failed = {f["source"]: f["error"] for f in report["failed"]}
    assert set(failed) == {f"bad/{n}" for n in os.listdir(BAD) if n != "README.txt"} | {"odd name (1) ünïcode.xyz"}
    for src, err in failed.items():
        assert err and "Traceback" not in err, (src, err)
    assert "empty" in failed["bad/empty.pdf"].lower()
    assert "encrypt" in failed["bad/encrypted.pdf"].lower()
    assert "bomb" in failed["bad/zip-bomb.docx"].lower() or "inflate" in failed["bad/zip-bomb.docx"].lower()
    assert "unsupported" in failed["odd name (1) ünïcode.xyz"].lower()


@needs_shared
def test_sigkill_mid_ingest_then_full_corpus_is_complete_and_idempotent(tmp_path, embeddings):
    """18f-mixed: killed part-way, then finished by a second run; 0 failures, every format in passages that fit
    the embedder, pages and slides kept, every opening sentence findable, and a third run writes nothing."""
    folder = tmp_path / "corpus"
    shutil.copytree(MIXED, folder)
    data = tmp_path / "data"
    env = os.environ | {"PRECEDENT_DATA_DIR": str(data)}
    proc = subprocess.Popen([str(PRECEDENT), "ingest", str(folder), "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(30)  # after start-up and some commits, long before ~250 documents are done
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    eng = Engine(settings=Settings(data_dir=data), embeddings=embeddings)
    eng.store.recover()
    assert_consistent(eng)
    partial = len(eng.store.documents())
    r = eng.ingestor().ingest_paths([folder])
    assert r.failed == [], r.failed
    total = len([p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("LICENSE")])
    assert r.unchanged == partial and r.added + r.updated == total - partial
    docs = eng.store.documents()
    assert len(docs) == total
    assert_consistent(eng)

    again = eng.ingestor().ingest_paths([folder])
    assert (again.unchanged, again.added, again.updated, again.new_chunks) == (total, 0, 0, 0)

    from ingest.chunking import count_tokens

    for d in docs:  # every format parsed into passages the embedder takes whole, with their pages and slides
        chunks = eng.store.chunks_of(d.id)
        assert d.chunk_count == len(chunks) > 0 and all(c.text.strip() for c in chunks), d.source
        assert max(count_tokens(c.embed_text) + 2 for c in chunks) <= 256, d.source
        if d.format == "pdf":
            assert all(c.page for c in chunks), d.source
        if d.format == "pptx":
            assert all(c.slide for c in chunks), d.source
    # Every document's opening sentence is stored, and search finds the document from it (a few
    # openings such as "Quick!" are too generic to single a document out).
    norm = lambda t: " ".join(t.split())
    missed, not_found = [], []
    for d in docs:
        if not d.summary or d.format in ("csv", "xlsx"):
            continue
        body = norm(" ".join(c.text for c in eng.store.chunks_of(d.id)))
        if norm(d.summary)[:120] not in body:
            missed.append(d.source)
        top = {s.document.source for s in eng.retriever.search(d.summary[:300], k=10)}
        if d.source not in top:
            not_found.append(d.source)
    assert not missed, missed[:10]
    assert len(not_found) <= 0.02 * len(docs), not_found

    # Projects and people on the whole corpus (hand labels: evals/datasets/18f-projects.jsonl). Grouping is
    # conservative: precision first; every card is one of the 27 project pages, none is a post's title.
    from evals.grouping import grouping_scores

    scores = grouping_scores(eng.projects())
    assert scores["cards_not_a_labelled_project"] == [], scores["cards_not_a_labelled_project"]
    assert scores["cards"] == 27
    assert scores["precision"] >= 0.8 and scores["recall"] >= 0.7, {k: v for k, v in scores.items() if k != "errors"}
    people = {p for d in docs for p in d.people}
    assert people and all(2 <= len(p.split()) <= 4 and p[0].isupper() for p in people), sorted(people)[:20]
    assert not {"Vdavez", "Zaccohn", "Colinmacarthur", "Mheadd", "Andre", "Boone"} & people
