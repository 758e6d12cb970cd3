"""A smoke run of the benchmark on tiny sizes (the real run is `precedent bench`, not part of the suite)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.server]

DOC = """# Harbor Flood Sensors

We installed tidal flood sensors along the harbor wall for the port authority. The sensors report water
levels every minute to a dashboard used by the harbor master, and alerts go out when the tide gauge
crosses the flood threshold.
"""


def test_bench_smoke(tmp_path, monkeypatch):
    from evals.bench import run_bench

    monkeypatch.setenv("PRECEDENT_LEXICAL_BACKGROUND_DOCS", "2")  # the second instance catches up in the background

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbor.md").write_text(DOC)
    out = tmp_path / "bench.json"
    res = run_bench([200], out, as_json=True, corpus=corpus, n_questions=6, cache=tmp_path / "cache", base_size=48,
                    first_answer_runs=1)
    saved = json.loads(out.read_text())
    assert saved["embedder"]["passages_per_s"] > 0 and len(saved["embedder"]["runs_passages_per_s"]) == 2
    assert saved["ingest"]["ratio_to_raw_passages"] > 0
    assert saved["ingest"]["documents"] == 1 and saved["ingest"]["peak_rss_mb"] > 0 and saved["ingest"]["peak_pss_mb"] > 0
    assert {(q["kind"], q["size"]) for q in saved["queries"]} == {("embedded", 200), ("server", 200)}
    assert all(q["lexical_chunks"] == 200 and q["retrieval_p95_ms"] > 0 for q in saved["queries"])
    assert all(q["answer_while_catching_up"]["notice"] for q in saved["queries"])
    assert saved["first_answer"]["median_s"] > 0
    assert {t["status"] for t in res["targets"]} <= {"PASS", "MISS", "n/a"}
    assert (tmp_path / "cache" / "synthetic-200-from-48-vectors.npy").exists()
