"""Evaluation datasets: JSONL files, one question per line, loaded and checked into `Row`s.

See evals/datasets/README.md for the format. A row whose `relevant_files` is empty is a no-record
question: the right answer is "we have no record of that".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Kind = Literal["direct", "paraphrase", "multi", "expertise", "recent", "none", "followup"]
KINDS: tuple[str, ...] = ("direct", "paraphrase", "multi", "expertise", "recent", "none", "followup")


class DatasetError(ValueError):
    """The dataset cannot be used; the message names the file, the line and the problem."""


class Row(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    kind: Kind
    history: list[str] = Field(default_factory=list)  # earlier user turns, oldest first
    relevant_files: list[str] = Field(default_factory=list)
    reference_answer: str = ""
    must_mention: list[str] = Field(default_factory=list)
    corpus: str | None = None
    notes: str = ""
    status: str | None = None  # "draft" rows (from feedback) are skipped until a person completes them

    @field_validator("history", mode="before")
    @classmethod
    def _history(cls, v):
        # Accept plain strings or {"question": ...} turns.
        if v is None:
            return []
        return [h.get("question", "") if isinstance(h, dict) else h for h in v]

    @field_validator("must_mention", mode="before")
    @classmethod
    def _must(cls, v):
        if v is None:
            return []
        return [v] if isinstance(v, str) else v

    @property
    def answerable(self) -> bool:
        return bool(self.relevant_files)


def _check_row(row: Row) -> str | None:
    if not row.question.strip():
        return "empty question"
    if row.kind == "none" and row.relevant_files:
        return "a 'none' question must have no relevant_files"
    if row.kind not in ("none", "followup") and not row.relevant_files:
        return f"a '{row.kind}' question needs relevant_files (use kind 'none' for no-record questions)"
    if row.kind == "followup" and not row.history:
        return "a 'followup' question needs a history"
    if any(not f.strip() for f in row.relevant_files):
        return "empty path in relevant_files"
    return None


def parse_rows(lines: list[str], name: str = "<dataset>") -> tuple[list[Row], list[str]]:
    """Rows from JSONL lines, and warnings (skipped drafts). Raises DatasetError listing every problem."""
    rows: list[Row] = []
    errors: list[str] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    for no, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{name}:{no}: not valid JSON ({e.msg})")
            continue
        if not isinstance(data, dict):
            errors.append(f"{name}:{no}: a line must be a JSON object")
            continue
        if data.get("status") == "draft":
            warnings.append(f"{name}:{no}: skipped draft row {data.get('id')!r}")
            continue
        try:
            row = Row.model_validate(data)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(str(x) for x in err['loc']) or 'row'}: {err['msg']}" for err in e.errors())
            errors.append(f"{name}:{no}: {problems}")
            continue
        problem = _check_row(row)
        if problem:
            errors.append(f"{name}:{no} ({row.id}): {problem}")
            continue
        if row.id in seen:
            errors.append(f"{name}:{no}: duplicate id {row.id!r} (first on line {seen[row.id]})")
            continue
        seen[row.id] = no
        rows.append(row)
    if errors:
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise DatasetError("\n".join(errors[:20]) + more)
    if not rows:
        raise DatasetError(f"{name}: no questions")
    return rows, warnings


def load_dataset(path: Path | str) -> list[Row]:
    """All rows of a dataset file, validated. Raises DatasetError."""
    return load_dataset_with_warnings(path)[0]


def load_dataset_with_warnings(path: Path | str) -> tuple[list[Row], list[str]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise DatasetError(f"cannot read dataset {path}: {e.strerror or e}") from e
    return parse_rows(text.splitlines(), str(path))


def dataset_name(path: Path | str) -> str:
    return Path(path).stem


def corpus_of(rows: list[Row]) -> str | None:
    """The corpus the rows name (the most common), relative to the repository root."""
    names = [r.corpus for r in rows if r.corpus]
    return max(set(names), key=names.count) if names else None


def kinds_count(rows: list[Row]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r.kind] = out.get(r.kind, 0) + 1
    return {k: out[k] for k in KINDS if k in out}
