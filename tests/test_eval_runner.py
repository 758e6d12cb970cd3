"""The evaluation harness end to end on the sample corpus (the CI quality gate), and feedback export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import metrics as M
from evals.datasets import load_dataset
from evals.feedback import export_rows, load_feedback, record_feedback
from evals.report import load_history, load_thresholds
from evals.runner import run_eval

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = ROOT / "ingest" / "sample_corpus" / "docs"
SAMPLE_SET = ROOT / "evals" / "datasets" / "sample.jsonl"
THRESHOLDS = ROOT / "evals" / "thresholds.json"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory, embeddings):
    """One run of the sample dataset over a fresh ingest of the sample corpus, baselines on, gate on."""
    if not SAMPLE_DOCS.is_dir() or not SAMPLE_SET.exists():
        pytest.fail("the sample corpus or its dataset is missing (run `make sample`)")
    base = tmp_path_factory.mktemp("eval")
    out = base / "sample"
    code = run_eval(dataset=SAMPLE_SET, ingest_dir=SAMPLE_DOCS, out_dir=out, baselines=True, thresholds=THRESHOLDS,
                    embeddings=embeddings)
    return code, out, base


def test_sample_run_writes_every_file(sample_run):
    _code, out, base = sample_run
    for name in ("answers.jsonl", "answers-dense-only.jsonl", "answers-bm25-only.jsonl", "report.json", "report.md",
                 "per_kind.png", "latency.png", "systems.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert len(load_history(base / "history.jsonl")) == 1


def test_answers_have_every_field(sample_run):
    _code, out, _ = sample_run
    rows = load_dataset(SAMPLE_SET)
    answers = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert [a["id"] for a in answers] == [r.id for r in rows]
    for a in answers:
        for key in ("id", "question", "kind", "answer", "abstained", "citations", "retrieved", "projects",
                    "latency_ms", "pass", "why"):
            assert key in a, key
        assert isinstance(a["pass"], bool) and (a["pass"] or a["why"])
        for c in a["citations"]:
            assert set(c) >= {"n", "source", "page", "snippet"}
        for r in a["retrieved"]:
            assert set(r) >= {"source", "rank", "score"}


def test_report_has_every_metric(sample_run):
    _code, out, _ = sample_run
    rep = json.loads((out / "report.json").read_text())
    assert set(rep["systems"]) == {"hybrid", "dense-only", "BM25-only"}
    for system in rep["systems"].values():
        assert set(system["overall"]) == set(M.METRICS)
        for kind_metrics in system["per_kind"].values():
            assert set(kind_metrics) == set(M.METRICS)
    assert set(rep["per_kind"]) == {r.kind for r in load_dataset(SAMPLE_SET)}
    for key in ("dataset", "timestamp", "git_commit", "latency", "ingest", "answerer", "sentence_support_method"):
        assert key in rep
    assert rep["ingest"]["documents"] > 0 and not rep["ingest"]["failed"]
    assert not rep["missing_relevant"], "dataset names files that are not in the sample corpus"
    md = (out / "report.md").read_text()
    assert "| metric | hybrid | dense-only | BM25-only |" in md and "## Per kind (hybrid)" in md


def test_quality_gate_passes(sample_run):
    """The thresholds in evals/thresholds.json hold on the sample corpus."""
    code, out, _ = sample_run
    rep = json.loads((out / "report.json").read_text())
    assert rep["gate"]["failures"] == [], rep["gate"]["failures"]
    assert code == 0
    assert Path(load_thresholds(THRESHOLDS)["dataset"]).name == SAMPLE_SET.name


def test_gate_fails_below_thresholds(sample_run):
    """An impossible threshold on the same report fails, naming the metric and its value."""
    from evals.report import check_thresholds

    _code, out, _ = sample_run
    rep = json.loads((out / "report.json").read_text())
    fails = check_thresholds(rep, {"min": {"hybrid.recall@5": 1.01}, "max": {"hybrid.latency_p95_ms": -1}})
    assert len(fails) == 2 and fails[0].startswith("hybrid.recall@5 = ") and "below the minimum 1.01" in fails[0]


def test_run_below_thresholds_exits_1(tmp_path, embeddings):
    """A small run (two documents, two questions, no baselines) with an impossible gate returns 1."""
    import shutil

    rows = [r for r in load_dataset(SAMPLE_SET) if r.kind == "direct"][:2]
    docs = tmp_path / "docs"
    for r in rows:
        for f in r.relevant_files:
            if (SAMPLE_DOCS / f).is_file():
                (docs / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(SAMPLE_DOCS / f, docs / f)
    ds = tmp_path / "two.jsonl"
    ds.write_text("".join(r.model_dump_json() + "\n" for r in rows))
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"min": {"hybrid.pass_rate": 1.01}}))
    code = run_eval(dataset=ds, ingest_dir=docs, out_dir=tmp_path / "out", baselines=False, thresholds=gate,
                    embeddings=embeddings, history_file=tmp_path / "h.jsonl")
    assert code == 1
    rep = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(rep["systems"]) == {"hybrid"} and rep["gate"]["passed"] is False
    assert rep["dataset"]["questions"] == 2


def test_bad_dataset_and_missing_folder_exit_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": "q", "kind": "weird"}\n')
    assert run_eval(dataset=bad, ingest_dir=None, out_dir=tmp_path / "out") == 2
    assert run_eval(dataset=SAMPLE_SET, ingest_dir=tmp_path / "nope", out_dir=tmp_path / "out") == 2


# -- feedback -------------------------------------------------------------------------------------------
def test_feedback_export(tmp_path):
    from assistant.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", chroma_url=None)
    assert export_rows(tmp_path / "none.jsonl", settings) == 0
    record_feedback(settings, {"question": "Have we built a permit system?", "history": [], "answer": "Yes [1]",
                               "abstained": False, "citations": ["projects/parkpass.md", "projects/parkpass.md"],
                               "rating": "up", "comment": "", "user": "ann"})
    record_feedback(settings, {"question": "Who led it?", "history": ["Have we built a permit system?"],
                               "answer": "Yes — Bo [1]", "abstained": False,
                               "citations": [{"source": "projects/parkpass.md"}, {"source": "posts/p.md"}],
                               "rating": "down", "comment": "Wrong person", "user": "ann"})
    record_feedback(settings, {"question": "Have we done tax software?", "answer": "No, we have no record of that.",
                               "abstained": True, "citations": [], "rating": "down", "comment": "we did this!"})
    with pytest.raises(ValueError):
        record_feedback(settings, {"question": "q", "rating": "meh"})
    rows = load_feedback(settings)
    assert len(rows) == 3 and all(r["ts"] for r in rows)
    assert rows[0]["citations"] == ["projects/parkpass.md"]
    assert (settings.state_dir / "feedback.jsonl").is_file()

    out = tmp_path / "drafts" / "rows.jsonl"
    assert export_rows(out, settings) == 2
    drafts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["id"] for d in drafts] == ["fb-1", "fb-2"]
    first = drafts[0]
    assert first["question"] == "Who led it?" and first["history"] == ["Have we built a permit system?"]
    assert first["status"] == "draft" and first["kind"] == "TODO" and first["relevant_files"] == []
    assert first["reference_answer"] == "" and first["must_mention"] == []
    assert "Wrong person" in first["notes"] and "projects/parkpass.md, posts/p.md" in first["notes"]
    assert "we did this!" in drafts[1]["notes"] and "abstained" in drafts[1]["notes"]
    # A dataset loader skips drafts until a person completes them.
    from evals.datasets import parse_rows

    with pytest.raises(Exception, match="no questions"):
        parse_rows(out.read_text().splitlines())
