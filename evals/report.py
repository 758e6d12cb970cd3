"""Reports of an evaluation run: report.json, report.md, charts, the run history and the threshold gate.

The app's evaluation page reads the history (`load_history`) to chart past runs and `compare`s two runs.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SYSTEM_ORDER = ("hybrid", "dense-only", "BM25-only")
SUPPORT_METHOD = ("offline lexical: for each answer sentence carrying [n], the share of its content words found "
                  "in the cited passages; no LLM judge")

# Shown in the tables, in this order.
TABLE_METRICS = ("recall@1", "recall@5", "recall@10", "hit@5", "mrr", "ndcg@10", "citation_precision",
                 "citation_recall", "correct_no_record", "wrong_abstention", "related_share", "auroc", "must_mention",
                 "sentence_support", "project_recall@5", "pass_rate", "latency_p50_ms", "latency_p95_ms")
# Summarised per run in the history.
HISTORY_METRICS = ("recall@5", "hit@5", "mrr", "ndcg@10", "citation_precision", "citation_recall",
                   "correct_no_record", "false_yes", "wrong_abstention", "related_share", "auroc", "must_mention",
                   "sentence_support", "project_recall@5", "pass_rate", "latency_p50_ms", "latency_p95_ms")
# Lower is better for these.
LOWER_IS_BETTER = {"false_yes", "wrong_abstention", "related_share", "latency_p50_ms", "latency_p95_ms", "latency_mean_ms"}


def git_info(cwd: Path | None = None) -> dict[str, Any] | None:
    cwd = cwd or Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def build_report(dataset: dict, systems: dict[str, dict], ingest: dict | None = None, store: dict | None = None,
                 answerer: str = "extractive", missing_relevant: list[str] | None = None,
                 seconds: float | None = None, groups: list[str] | None = None) -> dict:
    hybrid = systems.get("hybrid", {})
    g = git_info()
    overall = hybrid.get("overall", {})
    return {
        "dataset": dataset,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": g["commit"] if g else None,
        "git_dirty": g["dirty"] if g else None,
        "answerer": answerer,
        "groups": groups,  # the access groups it ran as (None: unrestricted); who may read this run
        "sentence_support_method": SUPPORT_METHOD,
        "ingest": ingest,
        "store": store,
        "missing_relevant": missing_relevant or [],
        "seconds": round(seconds, 1) if seconds is not None else None,
        "overall": overall,
        "per_kind": hybrid.get("per_kind", {}),
        "latency": {"p50_ms": overall.get("latency_p50_ms"), "p95_ms": overall.get("latency_p95_ms"),
                    "mean_ms": overall.get("latency_mean_ms")},
        "systems": systems,
    }


# --------------------------------------------------------------------------------------------------
# Thresholds


def load_thresholds(path: Path | str) -> dict:
    """{"dataset": ..., "min": {"hybrid.recall@5": 0.8, ...}, "max": {"hybrid.false_yes": 0.3, ...}}.

    A key is "system.metric" or "system.kind.metric". A key in "min" ending in "_max" is a maximum."""
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(spec, dict) or not isinstance(spec.get("min", {}), dict) or not isinstance(spec.get("max", {}), dict):
        raise ValueError("thresholds must be an object with 'min' and/or 'max' objects")
    return spec


def metric_value(report: dict, key: str):
    """Look up "system.metric" or "system.kind.metric" in a report. Raises KeyError."""
    parts = key.split(".")
    if len(parts) == 2:
        system, metric = parts
        return report["systems"][system]["overall"][metric]
    if len(parts) == 3:
        system, kind, metric = parts
        return report["systems"][system]["per_kind"][kind][metric]
    raise KeyError(key)


def check_thresholds(report: dict, spec: dict) -> list[str]:
    """One message per threshold not met (a metric that was not computed does not meet it)."""
    rules: list[tuple[str, str, float]] = []
    for key, limit in spec.get("min", {}).items():
        if key.endswith("_max"):
            rules.append((key[: -len("_max")], "max", limit))
        else:
            rules.append((key, "min", limit))
    rules += [(k, "max", v) for k, v in spec.get("max", {}).items()]
    failures = []
    for key, kind, limit in rules:
        try:
            value = metric_value(report, key)
        except KeyError:
            failures.append(f"{key}: not in the report (required {'≥' if kind == 'min' else '≤'} {limit})")
            continue
        if value is None:
            failures.append(f"{key}: not computed (required {'≥' if kind == 'min' else '≤'} {limit})")
        elif kind == "min" and value < limit:
            failures.append(f"{key} = {value:.3f}, below the minimum {limit}")
        elif kind == "max" and value > limit:
            failures.append(f"{key} = {value:.3f}, above the maximum {limit}")
    return failures


# --------------------------------------------------------------------------------------------------
# Writing


def _fmt(v, metric: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, int) or metric in ("n", "n_answerable", "n_no_record"):
        return str(v)
    if metric.startswith("latency"):
        return f"{v:.0f}"
    return f"{v:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict, answers: list[dict]) -> str:
    ds = report["dataset"]
    lines = [f"# Evaluation: {ds['name']}", ""]
    commit = (report.get("git_commit") or "")[:10]
    if commit and report.get("git_dirty"):
        commit += " (uncommitted changes)"
    lines += [f"- Dataset: `{ds['path']}`, {ds['questions']} questions ({', '.join(f'{k} {n}' for k, n in ds['kinds'].items())})",
              f"- Corpus: `{ds.get('corpus') or '-'}`"]
    ing = report.get("ingest")
    if ing:
        lines.append(f"- Ingested `{ing['dir']}` into a fresh store: {ing['documents']} documents, {ing['chunks']} chunks, "
                     f"{len(ing['failed'])} failed, {ing['seconds']} s")
    elif report.get("store"):
        lines.append(f"- Store: {report['store'].get('location')} ({report['store'].get('documents')} documents)")
    lines += [f"- Answerer: {report['answerer']}; sentence support is {report['sentence_support_method']}",
              f"- Run: {report['timestamp']}" + (f", commit {commit}" if commit else "")]
    if report.get("missing_relevant"):
        m = report["missing_relevant"]
        lines.append(f"- **{len(m)} relevant file(s) match no document in the store**: "
                     + ", ".join(f"`{x}`" for x in m[:10]) + (" ..." if len(m) > 10 else ""))
    gate = report.get("gate")
    if gate:
        lines.append(f"- Thresholds `{gate['thresholds']}`: " + ("**passed**" if gate["passed"] else "**FAILED**"))
        for f in gate["failures"]:
            lines.append(f"  - {f}")
    lines.append("")

    systems = [s for s in SYSTEM_ORDER if s in report["systems"]]
    lines += ["## Overall, per system", "",
              "Retrieval and citation metrics are over answerable questions; `correct_no_record` over "
              "no-record questions. Latency in milliseconds. dense-only and BM25-only run the same pipeline "
              "with one retriever: compare their retrieval metrics; their answer-level metrics also depend on "
              "how the evidence gate treats that retriever's scores.", ""]
    rows = [[m] + [_fmt(report["systems"][s]["overall"].get(m), m) for s in systems] for m in TABLE_METRICS]
    lines += _table(["metric"] + systems, rows) + [""]

    per_kind = report["systems"].get("hybrid", {}).get("per_kind", {})
    if per_kind:
        cols = ["n", "recall@5", "hit@5", "mrr", "citation_precision", "correct_no_record", "wrong_abstention",
                "must_mention", "pass_rate", "latency_p50_ms"]
        lines += ["## Per kind (hybrid)", ""]
        rows = [[k] + [_fmt(v.get(c), c) for c in cols] for k, v in per_kind.items()]
        lines += _table(["kind"] + cols, rows) + [""]
        if len(systems) > 1:
            lines += ["## Pass rate per kind, per system", ""]
            rows = [[k] + [_fmt(report["systems"][s]["per_kind"].get(k, {}).get("pass_rate")) for s in systems]
                    for k in per_kind]
            lines += _table(["kind"] + systems, rows) + [""]

    failed = [a for a in answers if not a["pass"]]
    lines += [f"## Failed questions (hybrid): {len(failed)} of {len(answers)}", ""]
    if failed:
        rows = [[a["id"], a["kind"], _cell(a["question"]), _cell(a["why"])] for a in failed]
        lines += _table(["id", "kind", "question", "why"], rows) + [""]
    else:
        lines += ["None.", ""]
    lines += ["## Charts", "", "![Recall@5 and pass rate per kind](per_kind.png)", "",
              "![Latency](latency.png)", ""]
    if len(systems) > 1:
        lines += ["![Systems](systems.png)", ""]
    return "\n".join(lines)


def write_charts(out_dir: Path, report: dict, answers: list[dict]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: list[Path] = []
    per_kind = report["systems"].get("hybrid", {}).get("per_kind", {})
    kinds = list(per_kind)
    fig, ax = plt.subplots(figsize=(8, 4))
    x = range(len(kinds))
    rec = [per_kind[k].get("recall@5") or 0.0 for k in kinds]
    pas = [per_kind[k].get("pass_rate") or 0.0 for k in kinds]
    ax.bar([i - 0.2 for i in x], rec, width=0.4, label="recall@5", color="#4c72b0")
    ax.bar([i + 0.2 for i in x], pas, width=0.4, label="pass rate", color="#55a868")
    ax.set_xticks(list(x))
    ax.set_xticklabels([f"{k}\n(n={per_kind[k]['n']})" for k in kinds])
    ax.set_ylim(0, 1.2)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_title(f"{report['dataset']['name']}: recall@5 and pass rate per kind (hybrid)")
    ax.legend(loc="upper right", ncol=2)
    fig.tight_layout()
    p = out_dir / "per_kind.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    paths.append(p)

    fig, ax = plt.subplots(figsize=(8, 3.5))
    lat = [a["latency_ms"] for a in answers]
    ax.hist(lat, bins=min(30, max(5, len(lat) // 3)), color="#8172b2")
    lt = report["latency"]
    for v, name, style in ((lt.get("p50_ms"), "p50", "--"), (lt.get("p95_ms"), "p95", ":")):
        if v is not None:
            ax.axvline(v, color="black", linestyle=style, label=f"{name} {v:.0f} ms")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("Answer latency (hybrid)")
    ax.legend()
    fig.tight_layout()
    p = out_dir / "latency.png"
    fig.savefig(p, dpi=100)
    plt.close(fig)
    paths.append(p)

    systems = [s for s in SYSTEM_ORDER if s in report["systems"]]
    if len(systems) > 1:
        ms = ["recall@5", "mrr", "citation_precision", "correct_no_record", "pass_rate"]
        fig, ax = plt.subplots(figsize=(8, 4))
        w = 0.8 / len(systems)
        for j, s in enumerate(systems):
            vals = [report["systems"][s]["overall"].get(m) or 0.0 for m in ms]
            ax.bar([i + (j - (len(systems) - 1) / 2) * w for i in range(len(ms))], vals, width=w, label=s)
        ax.set_xticks(range(len(ms)))
        ax.set_xticklabels(ms)
        ax.set_ylim(0, 1.2)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_title("Full pipeline vs retrieval baselines")
        ax.legend(loc="upper right", ncol=len(systems))
        fig.tight_layout()
        p = out_dir / "systems.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        paths.append(p)
    return paths


def write_report(out_dir: Path, report: dict, answers: list[dict]) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_charts(out_dir, report, answers)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(render_markdown(report, answers), encoding="utf-8")


def print_summary(console, report: dict) -> None:
    from rich.table import Table

    systems = [s for s in SYSTEM_ORDER if s in report["systems"]]
    t = Table(title=f"{report['dataset']['name']} ({report['dataset']['questions']} questions)")
    t.add_column("metric")
    for s in systems:
        t.add_column(s, justify="right")
    for m in TABLE_METRICS:
        t.add_row(m, *[_fmt(report["systems"][s]["overall"].get(m), m) for s in systems])
    console.print(t)


# --------------------------------------------------------------------------------------------------
# History and comparison (for the app's evaluation page)


def history_entry(report: dict, out_dir: Path | str | None = None) -> dict:
    return {
        "timestamp": report["timestamp"],
        "dataset": report["dataset"]["name"],
        "dataset_path": report["dataset"]["path"],
        "questions": report["dataset"]["questions"],
        "git_commit": report.get("git_commit"),
        "answerer": report.get("answerer"),
        "groups": report.get("groups"),
        "out_dir": str(out_dir) if out_dir is not None else None,
        "gate_passed": report["gate"]["passed"] if report.get("gate") else None,
        "systems": {s: {m: v["overall"].get(m) for m in HISTORY_METRICS} for s, v in report["systems"].items()},
    }


def append_history(path: Path | str, report: dict, out_dir: Path | str | None = None) -> dict:
    entry = history_entry(report, out_dir)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return entry


def load_history(path: Path | str, dataset: str | None = None) -> list[dict]:
    """Past runs, oldest first (lines that cannot be read are skipped); optionally of one dataset."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(e, dict) and "systems" in e and (dataset is None or e.get("dataset") == dataset):
            out.append(e)
    return out


def flatten(report: dict) -> dict[str, float | None]:
    """{"system.metric": value} from a full report.json or a history entry."""
    flat: dict[str, float | None] = {}
    for s, v in report.get("systems", {}).items():
        metrics = v.get("overall", v) if isinstance(v, dict) else {}
        for m, x in metrics.items():
            if isinstance(x, (int, float)) or x is None:
                flat[f"{s}.{m}"] = x
    return flat


def compare(report_a: dict, report_b: dict) -> list[tuple[str, float | None, float | None, float | None]]:
    """(metric, a, b, b - a) for every metric either run has; delta is None where one value is missing."""
    fa, fb = flatten(report_a), flatten(report_b)
    keys = list(fa) + [k for k in fb if k not in fa]
    out = []
    for k in keys:
        a, b = fa.get(k), fb.get(k)
        delta = round(b - a, 4) if a is not None and b is not None else None
        out.append((k, a, b, delta))
    return out


def better(metric: str, delta: float | None) -> bool | None:
    """Whether a change is an improvement (None when there is no change or no value)."""
    if not delta:
        return None
    name = metric.split(".")[-1]
    return delta < 0 if name in LOWER_IS_BETTER else delta > 0
