"""Several writers on one Chroma server: the writer lease, recovery after a SIGKILL, names that collide.

Real `precedent ingest` processes against a real `chroma run` on loopback. After every scenario the
store must be consistent: no pending journal entry, no chunk of a document that has no record or of a
version that is not committed, and every record's chunk count equal to its chunks in the store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_scaleout import env_for

pytestmark = pytest.mark.server

BIN = Path(sys.executable).parent
TOPICS = ["permit", "harbor", "library", "transit", "grant", "payroll", "clinic", "school", "water", "tax"]


def write_corpus(root: Path, n: int, tag: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        t = TOPICS[i % len(TOPICS)]
        body = " ".join(f"We built the {t} service number {i} for client {tag}, sentence {j}, with forms and reports."
                        for j in range(40))
        (root / f"{tag}-{i:02d}.md").write_text(f"# {t.title()} project {i} ({tag})\n\n{body}\n")


def start_ingest(env: dict, cwd: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "precedent"), "ingest", str(folder), "--json"], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen) -> dict:
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, f"ingest failed ({p.returncode}):\n{out}\n{err}"
    return json.loads(out)


def consistency(url: str, collection: str) -> dict:
    """Problems found in the store itself (empty lists when consistent), and the document count."""
    import chromadb
    from chromadb.config import Settings as CS

    host, port = url.rsplit(":", 1)
    client = chromadb.HttpClient(host=host.split("//")[1], port=int(port), settings=CS(anonymized_telemetry=False))
    try:
        records = client.get_collection(f"{collection}_documents").get(include=["metadatas"])
        chunks = client.get_collection(f"{collection}_chunks").get(include=["metadatas"])
    except Exception:  # not created yet: the first writer is still starting
        return {"pending": [], "stale": [], "wrong_counts": [], "documents": 0}
    committed = {i: m for i, m in zip(records["ids"], records["metadatas"]) if not i.startswith("__")}
    counts: dict[str, int] = {}
    stale = []
    for m in chunks["metadatas"]:
        rec = committed.get(m["doc_id"])
        if rec is None or rec.get("content_hash") != m["version"]:
            stale.append(m["doc_id"])
        else:
            counts[m["doc_id"]] = counts.get(m["doc_id"], 0) + 1
    wrong = [i for i, m in committed.items() if json.loads(m["json"])["chunk_count"] != counts.get(i, 0)]
    return {"pending": [i for i, m in committed.items() if m.get("pending")], "stale": stale, "wrong_counts": wrong,
            "documents": len(committed)}


def clean(state: dict) -> bool:
    return not state["pending"] and not state["stale"] and not state["wrong_counts"]


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapping", "disjoint"])
def test_two_concurrent_ingests_both_finish_consistent(tmp_path, chroma_server, overlap):
    collection = f"w{os.getpid()}{int(overlap)}"
    a_dir, b_dir = tmp_path / "a-docs", tmp_path / "b-docs"
    write_corpus(a_dir, 12, "a")
    if overlap:
        b_dir = a_dir  # the same folder, at the same time
    else:
        write_corpus(b_dir, 12, "b")
    a = start_ingest(env_for(tmp_path / "a", chroma_server.url, collection), tmp_path, a_dir)
    b = start_ingest(env_for(tmp_path / "b", chroma_server.url, collection), tmp_path, b_dir)
    ra, rb = finish(a), finish(b)
    state = consistency(chroma_server.url, collection)
    assert clean(state), state
    assert state["documents"] == (12 if overlap else 24)
    assert not ra["failed"] and not rb["failed"]
    if overlap:  # one wrote, the other waited and then found everything unchanged
        assert sorted([ra["added"], rb["added"]]) == [0, 12] and max(ra["unchanged"], rb["unchanged"]) == 12


def test_a_killed_writer_is_recovered_after_its_lease_expires(tmp_path, chroma_server):
    collection = f"k{os.getpid()}"
    docs = tmp_path / "docs"
    write_corpus(docs, 30, "k")
    env = env_for(tmp_path / "a", chroma_server.url, collection) | {"PRECEDENT_WRITER_LEASE_SECONDS": "3"}
    a = start_ingest(env, tmp_path, docs)
    deadline = time.monotonic() + 120
    while consistency(chroma_server.url, collection)["documents"] < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    a.send_signal(signal.SIGKILL)  # mid-ingest: some documents committed, maybe one half-written
    a.wait(timeout=30)
    t0 = time.monotonic()
    b = start_ingest(env_for(tmp_path / "b", chroma_server.url, collection) | {"PRECEDENT_WRITER_LEASE_SECONDS": "3"},
                     tmp_path, docs)
    rb = finish(b)
    assert time.monotonic() - t0 >= 1.0 or rb["unchanged"] > 0  # it waited for the dead writer's lease
    state = consistency(chroma_server.url, collection)
    assert clean(state), state
    assert state["documents"] == 30 and not rb["failed"]


def test_an_upload_named_like_a_folder_file_keeps_both(tmp_path, embeddings):
    from assistant.engine import Engine
    from assistant.settings import Settings

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "report.md").write_text("# Harbor permits\n\nWe built an online mooring permit system for the harbour.\n")
    eng = Engine(settings=Settings(data_dir=tmp_path / "data", default_groups=["everyone"]), embeddings=embeddings)
    ing = eng.ingestor()
    assert ing.ingest_paths([folder]).added == 1
    up = ing.ingest_upload("report.md", b"# Library search\n\nWe rebuilt the catalogue search for a public library.\n",
                           groups=["legal"])
    assert up.added == 1 and not up.failed
    sources = {d.source: d.groups for d in eng.store.documents()}
    assert sources == {"report.md": ["everyone"], "upload:report.md": ["legal"]}


def test_two_roots_with_the_same_relative_path_in_one_run(tmp_path, embeddings):
    from assistant.engine import Engine
    from assistant.settings import Settings

    for root, text in (("one", "We built a harbour permit system."), ("two", "We built a library catalogue.")):
        (tmp_path / root).mkdir()
        (tmp_path / root / "same.md").write_text(f"# Same\n\n{text}\n")
    eng = Engine(settings=Settings(data_dir=tmp_path / "data"), embeddings=embeddings)
    rep = eng.ingestor().ingest_paths([tmp_path / "one", tmp_path / "two"])
    assert rep.added == 1 and len(rep.failed) == 1
    assert rep.failed[0].source == "same.md" and "same path as" in rep.failed[0].error
