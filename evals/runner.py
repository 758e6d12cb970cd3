"""Run an evaluation dataset through the engine and write answers, metrics, a report and charts.

    from evals.runner import run_eval
    code = run_eval(Path("evals/datasets/sample.jsonl"), Path("ingest/sample_corpus/docs"), Path("runs/eval"))

The full pipeline ("hybrid") is scored, and, in the same run, the same questions with dense-only and
BM25-only retrieval ("dense-only", "BM25-only") as baselines.
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from evals import metrics as M
from evals.datasets import DatasetError, Row, corpus_of, dataset_name, kinds_count, load_dataset_with_warnings, KINDS

SYSTEMS: dict[str, str] = {"hybrid": "hybrid", "dense-only": "dense", "BM25-only": "lexical"}
ANSWER_FILES = {"hybrid": "answers.jsonl", "dense-only": "answers-dense-only.jsonl", "BM25-only": "answers-bm25-only.jsonl"}


def _console(console):
    if console is not None:
        return console
    from rich.console import Console

    return Console(stderr=True)


# --------------------------------------------------------------------------------------------------
# Projects of files


class ProjectIndex:
    """The project a file belongs to, per the store: Document.project of the matching source, else the file."""

    def __init__(self, store, groups: list[str] | None = None):
        self.by_stem: dict[str, Any] = {}
        self.sources: list[str] = []
        if store is None:
            return
        try:
            docs = store.documents(groups=groups)
        except Exception:  # a store that cannot list documents: files stand for themselves
            docs = []
        for d in docs:
            self.sources.append(d.source)
            self.by_stem.setdefault(M.strip_ext(d.source), d)

    def document(self, file: str):
        return self.by_stem.get(M.strip_ext(file))

    def key(self, file: str) -> str:
        d = self.document(file)
        if d is not None and d.project:
            return d.project.strip().lower()
        return "doc:" + M.strip_ext(d.source if d is not None else file)

    def missing(self, files: list[str]) -> list[str]:
        """Files that match no document in the store."""
        return [f for f in files if self.document(f) is None]


def answer_project_keys(answer) -> list[list[str]]:
    """Each project the answer names, as the keys it goes by: its name and its documents."""
    out = []
    for pm in answer.projects:
        keys = [pm.name.strip().lower()] + ["doc:" + M.strip_ext(s) for s in pm.sources]
        out.append(keys)
    return out


# --------------------------------------------------------------------------------------------------
# Asking


def _ask_one(engine, row: Row, mode: str, use_llm: bool, groups: list[str] | None = None):
    """Ask a row's question as the app would; returns (answer, latency in ms of the last question)."""
    from assistant.models import Filters, Turn

    filters = Filters(groups=groups) if groups is not None else None

    history: list[Turn] = []
    if row.kind == "followup":
        # The conversation resolves as in the app: each earlier question is asked and its answer kept.
        for q in row.history:
            a = engine.ask(q, history=list(history), filters=filters, mode=mode, use_llm=use_llm)
            history.append(Turn(question=q, answer=a))
    else:
        history = [Turn(question=q) for q in row.history]
    t0 = time.perf_counter()
    answer = engine.ask(row.question, history=history, filters=filters, mode=mode, use_llm=use_llm)
    return answer, (time.perf_counter() - t0) * 1000


def make_record(row: Row, answer, latency_ms: float, projects: ProjectIndex) -> dict:
    """The per-question line of answers.jsonl, with what the metrics need."""
    retrieved = [{"source": r.source, "rank": r.rank, "score": r.score} for r in answer.retrieved]
    citations = [{"n": c.n, "source": c.source, "page": c.page, "snippet": c.snippet} for c in answer.citations]
    cited = [c.source for c in answer.citations]
    ranked = [r.source for r in sorted(answer.retrieved, key=lambda r: r.rank)]
    ok, why = M.judge(row.relevant_files, answer.abstained, ranked, cited, verdict=answer.verdict)
    if not ok and answer.abstained and row.relevant_files and answer.reason:
        why = why.replace("wrongly abstained", f"wrongly abstained ({answer.reason[:160]})", 1)
    if not ok and not answer.abstained and not row.relevant_files:
        named = ", ".join(p.name for p in answer.projects[:3])
        if named:
            why += f" (named: {named})"
    return {
        "id": row.id,
        "question": row.question,
        "kind": row.kind,
        "history": row.history,
        "answer": answer.answer,
        "abstained": answer.abstained,
        "verdict": answer.verdict,
        "confidence": answer.confidence,
        "reason": answer.reason,
        "answerer": answer.answerer,
        "citations": citations,
        "retrieved": retrieved,
        "projects": [p.name for p in answer.projects],
        "relevant_files": row.relevant_files,
        "relevant_projects": M.dedupe(projects.key(f) for f in row.relevant_files),
        "must_mention": row.must_mention,
        "latency_ms": round(latency_ms, 1),
        "pass": ok,
        "why": why,
        # For the metrics (not needed by a reader, kept for re-scoring).
        "answer_projects": answer_project_keys(answer),
    }


def metric_inputs(rec: dict) -> dict:
    """A record from answers.jsonl in the shape `metrics.score` takes."""
    return {
        "kind": rec["kind"],
        "relevant_files": rec["relevant_files"],
        "abstained": rec["abstained"],
        "verdict": rec.get("verdict"),
        "confidence": rec.get("confidence"),
        "retrieved": [r["source"] for r in sorted(rec["retrieved"], key=lambda r: r["rank"])],
        "cited": [c["source"] for c in rec["citations"]],
        "answer": rec["answer"],
        "snippets": {c["n"]: c["snippet"] for c in rec["citations"]},
        "must_mention": rec["must_mention"],
        "relevant_projects": rec.get("relevant_projects") or [],
        "answer_projects": rec.get("answer_projects") or [],
        "latency_ms": rec["latency_ms"],
        "pass": rec["pass"],
    }


def score_records(records: list[dict]) -> dict:
    inputs = [metric_inputs(r) for r in records]
    return {"overall": M.score(inputs), "per_kind": M.score_by_kind(inputs, KINDS)}


def read_answers(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------------
# The run


def _ingest(engine, ingest_dir: Path, console) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]Ingesting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("", total=None)

        def progress(done, total, source, status):
            bar.update(task, completed=done, total=total, description=f"{status}: {source}"[-60:])

        rep = engine.ingestor().ingest_paths([ingest_dir], progress=progress)
    for f in rep.failed:
        console.print(f"[yellow]ingest failed[/yellow] {f.source}: {f.error}", markup=True, highlight=False)
    console.print(f"Ingested {ingest_dir}: {rep.documents} documents, {rep.chunks} chunks, "
                  f"{len(rep.failed)} failed ({rep.seconds:.1f} s)", highlight=False)
    return {"dir": str(ingest_dir), "documents": rep.documents, "chunks": rep.chunks, "seconds": round(rep.seconds, 1),
            "failed": [f.model_dump() for f in rep.failed]}


def run_system(engine, rows: list[Row], label: str, use_llm: bool, projects: ProjectIndex, console,
               groups: list[str] | None = None) -> list[dict]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    mode = SYSTEMS[label]
    records = []
    with Progress(TextColumn(f"[bold]{label:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("", total=len(rows))
        for row in rows:
            bar.update(task, description=row.id)
            answer, ms = _ask_one(engine, row, mode, use_llm, groups)
            records.append(make_record(row, answer, ms, projects))
            bar.advance(task)
    return records


def _write_jsonl(path: Path, records: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def run_eval(dataset: Path, ingest_dir: Path | None = None, out_dir: Path = Path("runs/eval"), baselines: bool = True,
             thresholds: Path | None = None, limit: int | None = None, console=None, *, embeddings=None,
             engine=None, history_file: Path | None = None, groups: list[str] | None = None,
             use_llm: bool = False) -> int:
    """Evaluate; returns the exit code: 0 ok, 1 below the thresholds, 2 cannot run.

    With `ingest_dir`, the folder is ingested into a fresh temporary store (embedded Chroma); without
    it, the configured store is used. `history_file` (default out_dir.parent / "history.jsonl") gets a
    one-line summary of the run. `groups` runs it as a user of those groups (None: unrestricted).
    `use_llm` scores the LLM path (it needs a configured server); by default the extractive answerer."""
    from evals import report as R

    console = _console(console)
    dataset, out_dir = Path(dataset), Path(out_dir)
    try:
        rows, warnings = load_dataset_with_warnings(dataset)
    except DatasetError as e:
        console.print(f"[red]Dataset problem:[/red]\n{e}", highlight=False)
        return 2
    for w in warnings:
        console.print(f"[yellow]{w}[/yellow]", highlight=False)
    if limit:
        rows = rows[:limit]
    spec = None
    if thresholds is not None:
        try:
            spec = R.load_thresholds(thresholds)
        except (OSError, ValueError) as e:
            console.print(f"[red]Cannot read thresholds {thresholds}:[/red] {e}", highlight=False)
            return 2
    if ingest_dir is not None and not Path(ingest_dir).is_dir():
        console.print(f"[red]No such folder:[/red] {ingest_dir}", highlight=False)
        return 2
    out_dir.mkdir(parents=True, exist_ok=True)

    started = time.time()
    with ExitStack() as stack:
        ingest_info: dict | None = None
        if engine is None:
            from assistant.store import StoreUnavailable

            try:
                if ingest_dir is not None:
                    from assistant.engine import Engine
                    from assistant.settings import Settings

                    tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="precedent-eval-",
                                                                          ignore_cleanup_errors=True))
                    # A fresh embedded store, whatever store the environment points at.
                    engine = Engine(settings=Settings(data_dir=Path(tmp), chroma_url=None), embeddings=embeddings)
                else:
                    from assistant.engine import get_engine

                    engine = get_engine()
            except StoreUnavailable as e:
                console.print(f"[red]Store unavailable:[/red] {e}", highlight=False)
                return 2
        if ingest_dir is not None:
            ingest_info = _ingest(engine, Path(ingest_dir), console)
        if not engine.store.lexical_ready:  # scores are of the whole pipeline, never of dense search alone
            console.print("Waiting for this instance's keyword index to catch up with the store…", highlight=False)
            engine.store.wait_lexical()
        use_llm = bool(use_llm and engine.settings.llm_enabled)
        projects = ProjectIndex(engine.store, groups)
        all_relevant = M.dedupe(f for r in rows for f in r.relevant_files)
        missing = projects.missing(all_relevant)
        if missing:
            console.print(f"[yellow]{len(missing)} relevant file(s) match no document in the store[/yellow], "
                          f"e.g. {', '.join(missing[:3])}", highlight=False)
        labels = list(SYSTEMS) if baselines else ["hybrid"]
        answers: dict[str, list[dict]] = {}
        for label in labels:
            answers[label] = run_system(engine, rows, label, use_llm, projects, console, groups)
            _write_jsonl(out_dir / ANSWER_FILES[label], answers[label])
        store_desc = {"documents": len(projects.sources),
                      "location": "temporary" if ingest_dir is not None else _describe(engine)}

    systems = {label: score_records(recs) for label, recs in answers.items()}
    rep = R.build_report(
        dataset={"name": dataset_name(dataset), "path": str(dataset), "corpus": corpus_of(rows),
                 "questions": len(rows), "kinds": kinds_count(rows), "limit": limit},
        systems=systems, ingest=ingest_info, store=store_desc,
        answerer="llm" if use_llm else "extractive", missing_relevant=missing,
        seconds=time.time() - started, groups=groups)
    failures: list[str] = []
    if spec is not None:
        failures = R.check_thresholds(rep, spec)
        rep["gate"] = {"thresholds": str(thresholds), "passed": not failures, "failures": failures}
        if spec.get("dataset") and Path(spec["dataset"]).name != dataset.name:
            console.print(f"[yellow]Thresholds were set for {spec['dataset']}, not {dataset}[/yellow]", highlight=False)
    R.write_report(out_dir, rep, answers["hybrid"])
    hist = history_file if history_file is not None else out_dir.parent / "history.jsonl"
    R.append_history(hist, rep, out_dir)
    R.print_summary(console, rep)
    console.print(f"Wrote {out_dir}/report.md, report.json, answers.jsonl and charts.", highlight=False)
    if spec is not None:
        if failures:
            console.print("[red]Below the thresholds:[/red]")
            for f in failures:
                console.print(f"  {f}", highlight=False, markup=False)
            return 1
        console.print("[green]All thresholds met.[/green]")
    return 0


def _describe(engine) -> str:
    try:
        from assistant.store import describe_store

        return describe_store(engine.settings)
    except Exception:
        return "configured store"
