"""Citation checking after composition: every [n] must point at a real source, every claim should cite one."""

from __future__ import annotations

import re

from assistant.models import Citation

MARK = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(\[*])")


def split_sentences(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            out.extend(s.strip() for s in _SENT.split(line) if s.strip())
    return out


def _is_claim(sentence: str) -> bool:
    """Headings, labels and verdict lines are not claims that need a citation."""
    s = sentence.strip("*_# -")
    if len(s.split()) < 5 or s.endswith(":"):
        return False
    low = s.lower()
    return not low.startswith(("no record", "no, we have no record", "yes —", "yes -", "closest work", "people:",
                               "sources", "note:"))


def check(text: str, citations: list[Citation]) -> tuple[str, list[int], list[str]]:
    """Remove citation numbers that match no source; return (text, removed numbers, uncited claims)."""
    valid = {c.n for c in citations}
    removed: list[int] = []

    def fix(m: re.Match) -> str:
        keep = []
        for part in m.group(1).split(","):
            n = int(part)
            (keep if n in valid else removed).append(n)
        return "[" + ", ".join(str(n) for n in keep) + "]" if keep else ""

    cleaned = MARK.sub(fix, text)
    cleaned = re.sub(r"[ \t]+([.,;:])", r"\1", cleaned)
    uncited = [s for s in split_sentences(cleaned) if _is_claim(s) and not MARK.search(s)]
    return cleaned, sorted(set(removed)), uncited


def cited_numbers(text: str) -> list[int]:
    nums: list[int] = []
    for m in MARK.finditer(text):
        nums.extend(int(p) for p in m.group(1).split(","))
    return list(dict.fromkeys(nums))
