"""Feedback from the app (👍/👎 on an answer), kept as JSONL, and its export as draft dataset rows.

A row: {"ts", "question", "history", "answer", "abstained", "citations": [sources], "rating": "up"|"down",
"comment", "user"}, stored at Settings.state_dir / "feedback.jsonl".
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_lock = threading.Lock()


def feedback_path(settings=None) -> Path:
    if settings is None:
        from assistant.settings import get_settings

        settings = get_settings()
    return Path(settings.state_dir) / "feedback.jsonl"


def _sources(citations: Any) -> list[str]:
    out: list[str] = []
    for c in citations or []:
        src = c.get("source") if isinstance(c, dict) else getattr(c, "source", c)
        if src and str(src) not in out:
            out.append(str(src))
    return out


def _questions(history: Any) -> list[str]:
    out = []
    for h in history or []:
        if isinstance(h, str):
            out.append(h)
        elif isinstance(h, dict):
            out.append(str(h.get("question", "")))
        else:
            out.append(str(getattr(h, "question", h)))
    return [q for q in out if q]


def record_feedback(settings, row: dict) -> dict:
    """Append one feedback row (normalised; `ts` added when missing). Returns the row written."""
    rating = row.get("rating")
    if rating not in ("up", "down"):
        raise ValueError(f"rating must be 'up' or 'down', not {rating!r}")
    clean = {
        "ts": row.get("ts") or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "question": str(row.get("question", "")),
        "history": _questions(row.get("history")),
        "answer": str(row.get("answer", "")),
        "abstained": bool(row.get("abstained", False)),
        "citations": _sources(row.get("citations")),
        "rating": rating,
        "comment": str(row.get("comment") or ""),
        "user": row.get("user"),
    }
    path = feedback_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(clean, ensure_ascii=False) + "\n"
    with _lock, path.open("a", encoding="utf-8") as fh:
        fh.write(line)
    return clean


def load_feedback(settings=None) -> list[dict]:
    path = feedback_path(settings)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(r, dict):
            rows.append(r)
    return rows


def draft_row(n: int, fb: dict) -> dict:
    """A dataset row for a person to complete from one 👎: relevant files, answer and kind are left to them."""
    notes = []
    if fb.get("comment"):
        notes.append(f"comment: {fb['comment']}")
    cited = _sources(fb.get("citations"))
    notes.append(f"the answer {'abstained' if fb.get('abstained') else 'cited'}: "
                 + (", ".join(cited) if cited else "no sources"))
    if fb.get("user"):
        notes.append(f"from {fb['user']} at {fb.get('ts', '')}".strip())
    history = _questions(fb.get("history"))
    return {
        "id": f"fb-{n}",
        "question": fb.get("question", ""),
        "kind": "TODO",
        "history": history,
        "relevant_files": [],
        "reference_answer": "",
        "must_mention": [],
        "notes": "; ".join(notes),
        "status": "draft",
    }


def export_rows(out_file: Path | str, settings=None) -> int:
    """Write a draft dataset row for every 👎 feedback row; returns how many were written."""
    drafts = [draft_row(i, fb) for i, fb in enumerate((r for r in load_feedback(settings) if r.get("rating") == "down"), 1)]
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with out_file.open("w", encoding="utf-8") as fh:
        for d in drafts:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    return len(drafts)
