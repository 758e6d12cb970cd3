"""Citation checking after composition: every [n] must point at a real source, every claim should cite one."""

from __future__ import annotations

import re

from assistant.models import Citation

# [1], [2, 3], and ranges such as [1-3] or [1–3] (rewritten as [1, 2, 3] by `check`).
_ITEM = r"\d+(?:\s*[-–]\s*\d+)?"
MARK = re.compile(rf"\[({_ITEM}(?:\s*,\s*{_ITEM})*)\]")
MAX_RANGE = 20  # a "range" longer than this is not a citation; its ends are checked as plain numbers
_LEADING_MARKS = re.compile(rf"^((?:{MARK.pattern}\s*)+)")
_VERDICTS = ("no record", "related work, not a confirmed match", "no, we have no record", "no, there is no record", "yes —", "yes -", "closest work",
             "closest, not a match", "also related, not a confirmed match", "people:", "sources", "note:")


def split_sentences(text: str) -> list[str]:
    """Sentences line by line, with the one splitter ingest uses (it knows "U.S." and "Dr." do not end one);
    citation marks after a full stop stay with the sentence before them."""
    from ingest.chunking import split_sentences as sentences

    out: list[str] = []
    for line in text.splitlines():
        sents: list[str] = []
        for piece in sentences(line.strip()):
            piece = piece.strip()
            lead = _LEADING_MARKS.match(piece)
            if lead and sents:
                sents[-1] += " " + lead.group(1).strip()
                piece = piece[lead.end():].strip()
            if piece:
                sents.append(piece)
        out.extend(sents)
    return out


def _numbers(group: str) -> list[int]:
    nums: list[int] = []
    for part in group.split(","):
        ends = [int(x) for x in re.split(r"[-–]", part)]
        if len(ends) == 2 and 0 <= ends[1] - ends[0] <= MAX_RANGE:
            nums.extend(range(ends[0], ends[1] + 1))
        else:
            nums.extend(ends)
    return nums


def _is_heading(sentence: str) -> bool:
    """Markdown headings and bold label lines such as "**Project** — Client (2024-05)"."""
    s = sentence.strip().lstrip("-•").strip()
    if s.startswith("#"):
        return True
    if s.startswith("**") and s.count("**") >= 2:
        tail = MARK.sub("", s).rstrip()
        return not tail.endswith((".", "!", "?")) and ": " not in s.split("**")[2]
    return False


def _is_claim(sentence: str) -> bool:
    """Headings, labels, questions and verdict lines are not claims that need a citation."""
    if _is_heading(sentence):
        return False
    s = sentence.strip("*_# -•")
    if len(s.split()) < 5 or s.endswith((":", "?")):
        return False
    return not s.lower().startswith(_VERDICTS)


def check(text: str, citations: list[Citation]) -> tuple[str, list[int], list[str]]:
    """Remove citation numbers that match no source; return (text, removed numbers, uncited claims).

    "[2, 9]" with only sources 1-2 becomes "[2]"; a mark with no valid number disappears."""
    valid = {c.n for c in citations}
    removed: list[int] = []

    def fix(m: re.Match) -> str:
        keep: list[int] = []
        for n in _numbers(m.group(1)):
            if n in valid:
                if n not in keep:
                    keep.append(n)
            else:
                removed.append(n)
        return "[" + ", ".join(str(n) for n in keep) + "]" if keep else ""

    cleaned = MARK.sub(fix, text)
    # "did X [9]." -> "did X."; not "an average of .1 percent", where the point starts a number
    cleaned = re.sub(r"[ \t]+([.,;:!?])(?!\w)", r"\1", cleaned)
    cleaned = re.sub(r"(?<=\S)[ \t]{2,}(?=\S)", " ", cleaned)  # "did [9] X" -> "did X"
    uncited = [s for s in split_sentences(cleaned) if _is_claim(s) and not MARK.search(s)]
    return cleaned, sorted(set(removed)), uncited


def cited_numbers(text: str) -> list[int]:
    """The numbers cited in `text`, in order of first use."""
    nums: list[int] = []
    for m in MARK.finditer(text):
        nums.extend(_numbers(m.group(1)))
    return list(dict.fromkeys(nums))
