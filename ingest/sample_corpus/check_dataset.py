"""Check evals/datasets/sample.jsonl against the demo corpus, and print a summary.

    python -m ingest.sample_corpus.check_dataset

Verifies that every relevant_file exists under docs/, ids are unique, kinds are known and each kind has its
minimum number of questions, "none" questions list no files and expect "no record" (the convention of
evals/datasets/README.md), follow-ups carry history, and every must_mention string appears in the text of
the question's relevant documents. Exit status 1 on any problem.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from ingest.sample_corpus.build import DOCS, FORMATS, load_sources, plain_text

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT / "evals" / "datasets" / "sample.jsonl"
CORPUS = "ingest/sample_corpus/docs"
MINIMUM = {"direct": 10, "paraphrase": 10, "multi": 6, "expertise": 6, "recent": 5, "none": 14, "followup": 6}
FIELDS = ("id", "question", "kind", "history", "relevant_files", "reference_answer", "must_mention", "corpus")


def load_dataset(path: Path = DATASET) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON: {e}")
    return rows


def check(rows: list[dict], docs_dir: Path = DOCS) -> list[str]:
    problems: list[str] = []
    texts = {d["file"]: plain_text(d).lower() for d in load_sources()}
    seen: set[str] = set()
    for r in rows:
        rid = r.get("id", "?")
        missing = [f for f in FIELDS if f not in r]
        if missing:
            problems.append(f"{rid}: missing fields {missing}")
            continue
        if rid in seen:
            problems.append(f"{rid}: duplicate id")
        seen.add(rid)
        if r["kind"] not in MINIMUM:
            problems.append(f"{rid}: unknown kind {r['kind']!r}")
        if r["corpus"] != CORPUS:
            problems.append(f"{rid}: corpus should be {CORPUS!r}")
        if not 1 <= len(r["must_mention"]) <= 3:
            problems.append(f"{rid}: must_mention should hold 1-3 strings")
        for f in r["relevant_files"]:
            if not (docs_dir / f).is_file():
                problems.append(f"{rid}: relevant file does not exist: {f}")
        if len(set(r["relevant_files"])) != len(r["relevant_files"]):
            problems.append(f"{rid}: duplicate relevant file")
        if r["kind"] == "none":
            if r["relevant_files"]:
                problems.append(f"{rid}: 'none' questions list no relevant files")
            if [m.lower() for m in r["must_mention"]] != ["no record"]:
                problems.append(f"{rid}: 'none' questions expect must_mention [\"no record\"]")
            if not r["reference_answer"].startswith("No record"):
                problems.append(f"{rid}: a 'none' reference answer starts with 'No record'")
            continue
        if not r["relevant_files"]:
            problems.append(f"{rid}: no relevant files")
        if r["kind"] == "followup" and not r["history"]:
            problems.append(f"{rid}: follow-up without history")
        if r["kind"] != "followup" and r["history"]:
            problems.append(f"{rid}: only follow-ups carry history")
        union = "\n".join(texts.get(f, "") for f in r["relevant_files"])
        for m in r["must_mention"]:
            if m.lower() not in union:
                problems.append(f"{rid}: must_mention {m!r} not found in its relevant files")
    counts = Counter(r.get("kind") for r in rows)
    for kind, minimum in MINIMUM.items():
        if counts[kind] < minimum:
            problems.append(f"kind {kind!r}: {counts[kind]} questions, want at least {minimum}")
    return problems


def corpus_summary(docs_dir: Path = DOCS) -> str:
    files = sorted(p for p in docs_dir.rglob("*") if p.is_file())
    by_fmt = Counter(p.suffix.lstrip(".") for p in files)
    total = sum(p.stat().st_size for p in files)
    lines = [f"Corpus {docs_dir.relative_to(ROOT)}: {len(files)} files, {total:,} bytes ({total / 1024:.0f} KiB)"]
    lines += [f"  {fmt:5s} {by_fmt[fmt]:3d}" for fmt in FORMATS if by_fmt[fmt]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    rows = load_dataset()
    problems = check(rows)
    print(corpus_summary())
    counts = Counter(r.get("kind") for r in rows)
    print(f"Dataset {DATASET.relative_to(ROOT)}: {len(rows)} questions")
    for kind in MINIMUM:
        print(f"  {kind:10s} {counts[kind]:3d}")
    for p in problems:
        print("PROBLEM:", p)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
