"""How well documents are grouped into projects, against hand labels (evals/datasets/18f-projects.jsonl).

Each label says which project page a document belongs to, or none. Sources are matched without their
extension, so the labels made on `18f/` (Markdown) also score `18f-mixed/` (the same pages as DOCX, PDF ...).

    python -m evals.grouping --data-dir runs/stores/18f-mixed [--collection precedent]

precision: of the documents the index put in some labelled project, the share put in the right one;
recall: of the documents labelled with a project, the share the index put there.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import typer

LABELS = Path(__file__).parent / "datasets" / "18f-projects.jsonl"


def _stem(source: str) -> str:
    p = PurePosixPath(source)
    return str(p.with_suffix("")) if p.suffix else source


def load_labels(path: Path = LABELS) -> dict[str, str | None]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {_stem(r["source"]): (_stem(r["project"]) if r["project"] else None) for r in rows}


def grouping_scores(index, labels: dict[str, str | None] | None = None) -> dict:
    """Precision and recall of `index` (a ProjectIndex) against the labels, plus the cards that are not
    labelled project pages (post-titled cards)."""
    labels = labels if labels is not None else load_labels()
    by_stem = {_stem(d.source): d for d in index.docs.values()}
    page_key = {stem: index.key_of(by_stem[stem]) for stem in set(labels.values()) if stem and stem in by_stem}
    key_page = {k: s for s, k in page_key.items()}
    tp = fp = fn = 0
    wrong: list[dict] = []
    for stem, want in labels.items():
        if stem not in by_stem or stem == want:
            continue
        key = index.key_of(by_stem[stem])
        got = key_page.get(key) if index.is_project(key) else None
        if got and got == want:
            tp += 1
        else:
            if got:
                fp += 1
            if want:
                fn += 1
            if got or want:
                wrong.append({"source": stem, "labelled": want, "grouped": got})
    cards = index.cards()
    stray = [c.name for c in cards if c.key not in key_page]
    return {
        "precision": round(tp / (tp + fp), 3) if tp + fp else 1.0,
        "recall": round(tp / (tp + fn), 3) if tp + fn else 1.0,
        "grouped_right": tp, "grouped_wrong": fp, "missed": fn,
        "cards": len(cards), "cards_not_a_labelled_project": stray, "errors": wrong,
    }


def main(data_dir: Path = typer.Option(..., help="A data dir holding an ingested 18f or 18f-mixed store."),
         collection: str = typer.Option("precedent"), labels: Path = typer.Option(LABELS)):
    from assistant.engine import Engine
    from assistant.settings import Settings

    eng = Engine(settings=Settings(data_dir=data_dir, collection=collection, chroma_url=None))
    print(json.dumps(grouping_scores(eng.projects(), load_labels(labels)), indent=1))


if __name__ == "__main__":
    typer.run(main)
