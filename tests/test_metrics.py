"""The evaluation metrics against values worked out by hand, including the empty cases."""

from __future__ import annotations

import json
import math

import pytest

from evals import metrics as M
from evals.datasets import DatasetError, parse_rows
from evals.report import check_thresholds, compare, load_history, append_history, better, flatten

approx = pytest.approx


# -- matching ---------------------------------------------------------------------------------------
def test_same_file_equal_or_equal_without_extension():
    assert M.same_file("projects/calc.md", "projects/calc.md")
    assert M.same_file("projects/calc.md", "projects/calc.docx")
    assert M.same_file("projects/calc", "projects/calc.pdf")
    assert not M.same_file("projects/calc.md", "posts/calc.md")
    assert not M.same_file("projects/calc.md", "projects/calculator.md")
    assert M.strip_ext("a/b.c.md") == "a/b.c"
    assert M.strip_ext("a/.hidden") == "a/.hidden"
    assert M.strip_ext("README") == "README"


def test_dedupe_keeps_first_rank():
    assert M.dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


# -- retrieval --------------------------------------------------------------------------------------
RETRIEVED = ["x.md", "a.pdf", "x.md", "y.md", "b.md", "z.md"]  # distinct: x, a, y, b, z
RELEVANT = ["a.md", "b.md", "c.md"]


def test_recall_at_k():
    assert M.recall_at_k(RETRIEVED, RELEVANT, 1) == 0.0
    assert M.recall_at_k(RETRIEVED, RELEVANT, 2) == approx(1 / 3)  # a.pdf matches a.md
    assert M.recall_at_k(RETRIEVED, RELEVANT, 3) == approx(1 / 3)  # the duplicate x.md is not a rank
    assert M.recall_at_k(RETRIEVED, RELEVANT, 4) == approx(2 / 3)
    assert M.recall_at_k(RETRIEVED, RELEVANT, 10) == approx(2 / 3)


def test_hit_mrr_ndcg():
    assert M.hit_at_k(RETRIEVED, RELEVANT, 1) == 0.0
    assert M.hit_at_k(RETRIEVED, RELEVANT, 2) == 1.0
    assert M.reciprocal_rank(RETRIEVED, RELEVANT) == approx(0.5)
    # Relevant at distinct ranks 2 and 4; ideal has 3 relevant at ranks 1..3.
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert M.ndcg_at_k(RETRIEVED, RELEVANT, 10) == approx(dcg / idcg)
    assert M.ndcg_at_k(["a.md", "b.md", "c.md"], RELEVANT) == approx(1.0)


def test_ndcg_counts_a_relevant_file_once():
    # a.md and a.docx are the same document: the second adds nothing.
    got = M.ndcg_at_k(["a.md", "a.docx"], ["a.md", "b.md"], 10)
    assert got == approx(1.0 / (1 + 1 / math.log2(3)))


def test_retrieval_empty_cases():
    # Nothing relevant: not defined.
    for f in (lambda r, rel: M.recall_at_k(r, rel, 5), lambda r, rel: M.hit_at_k(r, rel, 5),
              M.reciprocal_rank, lambda r, rel: M.ndcg_at_k(r, rel, 10)):
        assert f(RETRIEVED, []) is None
    # Nothing retrieved: zero.
    assert M.recall_at_k([], RELEVANT, 5) == 0.0
    assert M.hit_at_k([], RELEVANT, 5) == 0.0
    assert M.reciprocal_rank([], RELEVANT) == 0.0
    assert M.ndcg_at_k([], RELEVANT) == 0.0


# -- citations --------------------------------------------------------------------------------------
def test_citation_precision_and_recall():
    cited = ["a.docx", "x.md", "a.docx", "y.md"]  # distinct: a, x, y
    assert M.citation_precision(cited, RELEVANT) == approx(1 / 3)
    assert M.citation_recall(cited, RELEVANT) == approx(1 / 3)
    assert M.citation_precision(["a.md", "b.md"], RELEVANT) == 1.0
    assert M.citation_recall(["a.md", "b.md"], RELEVANT) == approx(2 / 3)


def test_citation_empty_cases():
    assert M.citation_precision([], RELEVANT) is None  # cited nothing
    assert M.citation_recall([], RELEVANT) == 0.0
    assert M.citation_precision(["a.md"], []) is None  # nothing relevant
    assert M.citation_recall(["a.md"], []) is None


# -- abstention -------------------------------------------------------------------------------------
def test_abstention_rates():
    assert M.correct_no_record([True, True, False, True]) == 0.75
    assert M.false_yes([True, True, False, True]) == 0.25
    assert M.wrong_abstention([False, False, True, False, False]) == 0.2
    assert M.correct_no_record([]) is None
    assert M.false_yes([]) is None
    assert M.wrong_abstention([]) is None


# -- answer text ------------------------------------------------------------------------------------
def test_must_mention_coverage():
    assert M.must_mention_coverage("We built DAWSON for the Tax Court.", ["dawson", "Tax court", "FEC"]) == approx(2 / 3)
    assert M.must_mention_coverage("No, we have no record of that.", ["no record"]) == 1.0
    assert M.must_mention_coverage("anything", []) is None
    assert M.must_mention_coverage("", ["x"]) == 0.0


def test_content_words():
    assert M.content_words("The team built a Permit system [1] for it.") == ["team", "built", "permit", "system"]


def test_sentence_support():
    answer = ("Yes — 1 past project matches.\n\n**ParkPass**\n"
              "- The parks department moved permits online. [1]\n"
              "- Rangers issued paper passes at gates. [2]")
    snippets = {1: "The parks department moved all its permits online in 2021.", 2: "Rangers sold passes."}
    # Sentence 1: parks, department, moved, permits, online -> 5/5.
    # Sentence 2: rangers, issued, paper, passes, gates -> rangers, passes found: 2/5.
    assert M.sentence_support(answer, snippets) == approx((1.0 + 0.4) / 2)


def test_sentence_support_empty_cases():
    assert M.sentence_support("No citations here at all.", {1: "x"}) is None
    assert M.sentence_support("", {}) is None
    # A mark pointing at no snippet supports nothing.
    assert M.sentence_support("Parks moved permits online [3].", {1: "parks permits online"}) == 0.0
    # Two marks: the union of both snippets.
    assert M.sentence_support("Parks moved permits online [1, 2].", {1: "parks moved", 2: "permits online"}) == 1.0


def test_answer_sentences_keep_marks_with_their_sentence():
    assert M.answer_sentences("First one here. [1] Second one. [2]\nThird") == ["First one here. [1]", "Second one. [2]", "Third"]


# -- projects, latency ------------------------------------------------------------------------------
def test_project_recall_at_k():
    answer = [["parkpass", "doc:a"], ["carebridge", "doc:b"], ["other"]]
    assert M.project_recall_at_k(["parkpass"], answer) == 1.0
    assert M.project_recall_at_k(["parkpass", "harbor"], answer) == 0.5
    assert M.project_recall_at_k(["doc:b"], answer) == 1.0  # a project-less file matched by its document
    assert M.project_recall_at_k([], answer) is None
    assert M.project_recall_at_k(["parkpass"], []) == 0.0
    # The denominator is capped at k: 2 of 7 relevant shown in an answer of 2 projects at k=2 -> 1.0
    assert M.project_recall_at_k(["parkpass", "carebridge", "p3", "p4", "p5", "p6", "p7"], answer, k=2) == 1.0


def test_percentile_and_mean():
    assert M.percentile([10, 20, 30, 40], 50) == 25
    assert M.percentile([40, 10, 30, 20], 95) == approx(38.5)
    assert M.percentile([7], 95) == 7
    assert M.percentile([], 50) is None
    assert M.mean([1, None, 3]) == 2
    assert M.mean([None]) is None
    assert M.mean([]) is None


# -- the pass rule ----------------------------------------------------------------------------------
def test_judge():
    ok, why = M.judge(["a.md"], False, ["x.md", "a.pdf"], ["a.pdf"])
    assert ok and why == ""
    ok, why = M.judge([], True, ["x.md"], ["x.md"])  # no record, abstained (citing closest work is fine)
    assert ok
    ok, why = M.judge([], False, ["x.md"], ["x.md"])
    assert not ok and why.startswith("false yes: cited x.md")
    ok, why = M.judge(["a.md"], True, ["a.md"], [])
    assert not ok and why == "wrongly abstained"
    ok, why = M.judge(["a.md"], False, ["1", "2", "3", "4", "5", "a.md"], ["a.md"])
    assert not ok and why.startswith("missed: relevant not in top 5")
    ok, why = M.judge(["a.md"], False, ["a.md"], ["x.md"])
    assert not ok and "cited only irrelevant sources: x.md" in why
    ok, why = M.judge(["a.md"], False, ["a.md"], [])  # cited nothing: not held against it here
    assert ok


# -- aggregation ------------------------------------------------------------------------------------
def _rec(kind, relevant, abstained, retrieved, cited, answer="", latency=100.0, passed=None, must=()):
    p, _ = M.judge(relevant, abstained, retrieved, cited)
    return {"kind": kind, "relevant_files": relevant, "abstained": abstained, "retrieved": retrieved, "cited": cited,
            "answer": answer, "snippets": {}, "must_mention": list(must), "relevant_projects": [],
            "answer_projects": [], "latency_ms": latency, "pass": p if passed is None else passed}


def test_score_over_questions():
    recs = [
        _rec("direct", ["a.md"], False, ["a.md", "x.md"], ["a.md"], "A [1]", 10, must=["A"]),
        _rec("direct", ["b.md", "c.md"], True, ["x.md", "b.md"], [], "No record", 20, must=["B"]),
        _rec("none", [], True, ["x.md"], ["x.md"], "No record", 30, must=["no record"]),
        _rec("none", [], False, ["y.md"], ["y.md"], "Yes", 40, must=["no record"]),
    ]
    s = M.score(recs)
    assert (s["n"], s["n_answerable"], s["n_no_record"]) == (4, 2, 2)
    assert s["recall@1"] == approx((1 + 0) / 2)
    assert s["recall@5"] == approx((1 + 0.5) / 2)
    assert s["mrr"] == approx((1 + 0.5) / 2)
    assert s["citation_precision"] == approx(1.0)  # only the first answerable question cited anything
    assert s["citation_recall"] == approx((1 + 0) / 2)
    assert s["correct_no_record"] == 0.5 and s["false_yes"] == 0.5
    assert s["wrong_abstention"] == 0.5
    assert s["must_mention"] == approx((1 + 0 + 1 + 0) / 4)
    assert s["pass_rate"] == approx(2 / 4)
    assert s["latency_p50_ms"] == approx(25)
    assert s["project_recall@5"] is None
    assert set(s) == set(M.METRICS)
    by = M.score_by_kind(recs, ["direct", "none", "multi"])
    assert set(by) == {"direct", "none"}
    assert by["none"]["recall@5"] is None and by["none"]["correct_no_record"] == 0.5


def test_score_of_nothing():
    s = M.score([])
    assert s["n"] == 0 and s["recall@5"] is None and s["pass_rate"] is None and s["latency_p95_ms"] is None


# -- datasets ---------------------------------------------------------------------------------------
def _line(**kw):
    row = {"id": "q1", "question": "Have we built X?", "kind": "direct", "history": [], "relevant_files": ["a.md"],
           "reference_answer": "", "must_mention": [], "corpus": "c"}
    row.update(kw)
    return json.dumps(row)


def test_dataset_rows_are_validated():
    rows, warnings = parse_rows([_line(), "", _line(id="q2", kind="none", relevant_files=[]),
                                 _line(id="d", status="draft", kind="TODO")])
    assert [r.id for r in rows] == ["q1", "q2"] and not rows[1].answerable
    assert warnings and "draft" in warnings[0]
    for bad, msg in [(_line(kind="weird"), "kind"), (_line(kind="none"), "no relevant_files"),
                     (_line(relevant_files=[]), "needs relevant_files"), (_line(kind="followup"), "history"),
                     ("{not json", "not valid JSON")]:
        with pytest.raises(DatasetError, match=msg):
            parse_rows([bad])
    with pytest.raises(DatasetError, match="duplicate id"):
        parse_rows([_line(), _line()])
    with pytest.raises(DatasetError, match="no questions"):
        parse_rows([""])


# -- thresholds, history, comparison ----------------------------------------------------------------
REPORT = {"timestamp": "t", "dataset": {"name": "d", "path": "d.jsonl", "questions": 3},
          "systems": {"hybrid": {"overall": {"recall@5": 0.9, "false_yes": 0.1, "mrr": None},
                                 "per_kind": {"none": {"correct_no_record": 0.5}}},
                      "dense-only": {"overall": {"recall@5": 0.7}, "per_kind": {}}}}


def test_thresholds():
    assert check_thresholds(REPORT, {"min": {"hybrid.recall@5": 0.8, "dense-only.recall@5": 0.6}}) == []
    fails = check_thresholds(REPORT, {"min": {"hybrid.recall@5": 0.95, "hybrid.false_yes_max": 0.05,
                                              "hybrid.none.correct_no_record": 0.6, "hybrid.mrr": 0.1,
                                              "hybrid.nope": 0.1}, "max": {"hybrid.false_yes": 0.2}})
    assert len(fails) == 5
    assert any("hybrid.recall@5 = 0.900, below the minimum 0.95" in f for f in fails)
    assert any("hybrid.false_yes = 0.100, above the maximum 0.05" in f for f in fails)
    assert any(f.startswith("hybrid.none.correct_no_record") for f in fails)
    assert any("hybrid.mrr: not computed" in f for f in fails)
    assert any("hybrid.nope: not in the report" in f for f in fails)


def test_history_and_compare(tmp_path):
    path = tmp_path / "history.jsonl"
    assert load_history(path) == []
    append_history(path, REPORT, tmp_path / "run1")
    later = json.loads(json.dumps(REPORT))
    later["systems"]["hybrid"]["overall"]["recall@5"] = 0.95
    append_history(path, later, tmp_path / "run2")
    with path.open("a") as fh:
        fh.write("not json\n")
    runs = load_history(path)
    assert len(runs) == 2 and runs[1]["systems"]["hybrid"]["recall@5"] == 0.95
    assert load_history(path, dataset="other") == []
    rows = {m: (a, b, d) for m, a, b, d in compare(runs[0], runs[1])}
    assert rows["hybrid.recall@5"] == (0.9, 0.95, approx(0.05))
    assert rows["hybrid.mrr"] == (None, None, None)
    # A full report compares the same way as a history entry.
    assert flatten(REPORT)["dense-only.recall@5"] == 0.7
    assert better("hybrid.recall@5", 0.05) is True and better("hybrid.false_yes", 0.05) is False
    assert better("hybrid.recall@5", 0.0) is None
