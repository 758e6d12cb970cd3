"""Answer-quality metrics: pure functions over plain values, each unit-tested by hand.

Matching rule: a relevant file matches a retrieved or cited source when the two paths are equal, or
equal once the file extension is dropped (`projects/calc.md` matches `projects/calc.docx`).

A function returns None when it is not defined for its input (e.g. recall when nothing is relevant);
averages skip None values, and an average over nothing is None.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Sequence

KS = (1, 3, 5, 10)

# --------------------------------------------------------------------------------------------------
# Matching


def strip_ext(path: str) -> str:
    """The path without its last extension: 'a/b.c.md' -> 'a/b.c'; dot-files and folders keep theirs."""
    p = path.strip().replace("\\", "/")
    head, _, name = p.rpartition("/")
    if "." in name.lstrip("."):
        name = name[: name.rfind(".")]
    return f"{head}/{name}" if head else name


def same_file(a: str, b: str) -> bool:
    a, b = a.strip().replace("\\", "/"), b.strip().replace("\\", "/")
    return a == b or strip_ext(a) == strip_ext(b)


def dedupe(sources: Iterable[str]) -> list[str]:
    """Sources in order, each once (the first rank is kept)."""
    out: list[str] = []
    for s in sources:
        if s not in out:
            out.append(s)
    return out


def matches_any(source: str, relevant: Iterable[str]) -> bool:
    return any(same_file(source, r) for r in relevant)


def _found(top: Sequence[str], relevant: Sequence[str]) -> set[int]:
    """Indexes of the relevant files matched by some source in `top`."""
    return {i for i, r in enumerate(relevant) if any(same_file(s, r) for s in top)}


# --------------------------------------------------------------------------------------------------
# Retrieval (document level, over the ranked list of retrieved sources)


def recall_at_k(retrieved: Sequence[str], relevant: Sequence[str], k: int) -> float | None:
    """Share of the relevant files found among the first k distinct retrieved sources."""
    relevant = dedupe(relevant)
    if not relevant:
        return None
    top = dedupe(retrieved)[:k]
    return len(_found(top, relevant)) / len(relevant)


def hit_at_k(retrieved: Sequence[str], relevant: Sequence[str], k: int) -> float | None:
    """1 if any relevant file is among the first k distinct retrieved sources, else 0."""
    if not relevant:
        return None
    return 1.0 if _found(dedupe(retrieved)[:k], list(relevant)) else 0.0


def reciprocal_rank(retrieved: Sequence[str], relevant: Sequence[str]) -> float | None:
    """1 / rank of the first relevant source (0 when none is retrieved)."""
    if not relevant:
        return None
    for i, s in enumerate(dedupe(retrieved), 1):
        if matches_any(s, relevant):
            return 1.0 / i
    return 0.0


def ndcg_at_k(retrieved: Sequence[str], relevant: Sequence[str], k: int = 10) -> float | None:
    """Binary-relevance nDCG@k. A relevant file counts once (the first source matching it)."""
    relevant = dedupe(relevant)
    if not relevant:
        return None
    dcg = 0.0
    used: set[int] = set()
    for i, s in enumerate(dedupe(retrieved)[:k], 1):
        new = [j for j, r in enumerate(relevant) if j not in used and same_file(s, r)]
        if new:
            used.add(new[0])
            dcg += 1.0 / math.log2(i + 1)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(relevant), k) + 1))
    return dcg / ideal


# --------------------------------------------------------------------------------------------------
# Citations


def citation_precision(cited: Sequence[str], relevant: Sequence[str]) -> float | None:
    """Share of the distinct cited sources that are relevant. None if nothing was cited or nothing is relevant."""
    cited = dedupe(cited)
    if not cited or not relevant:
        return None
    return sum(1 for c in cited if matches_any(c, relevant)) / len(cited)


def citation_recall(cited: Sequence[str], relevant: Sequence[str]) -> float | None:
    """Share of the relevant files that some citation points at. None if nothing is relevant."""
    relevant = dedupe(relevant)
    if not relevant:
        return None
    return len(_found(dedupe(cited), relevant)) / len(relevant)


# --------------------------------------------------------------------------------------------------
# Abstention (over many questions)


def correct_no_record(abstained_on_none: Sequence[bool]) -> float | None:
    """Share of no-record questions that were answered 'no record'."""
    if not abstained_on_none:
        return None
    return sum(1 for a in abstained_on_none if a) / len(abstained_on_none)


def false_yes(abstained_on_none: Sequence[bool]) -> float | None:
    c = correct_no_record(abstained_on_none)
    return None if c is None else 1.0 - c


def wrong_abstention(abstained_on_answerable: Sequence[bool]) -> float | None:
    """Share of answerable questions that were answered 'no record'."""
    if not abstained_on_answerable:
        return None
    return sum(1 for a in abstained_on_answerable if a) / len(abstained_on_answerable)


# --------------------------------------------------------------------------------------------------
# Answer text


def must_mention_coverage(answer: str, must: Sequence[str]) -> float | None:
    """Share of the must-mention strings found in the answer (case-insensitive substring)."""
    must = [m for m in must if m.strip()]
    if not must:
        return None
    low = answer.lower()
    return sum(1 for m in must if m.lower() in low) / len(must)


STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here
hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
on once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves yes one two may might must shall
per via its it's we've we're they're i'm don't didn't doesn't isn't wasn't
""".split())

_MARK = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(*])|(?<=\])\s+(?=[A-Z\"“(*])")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def content_words(text: str) -> list[str]:
    """Lowercased words of at least 3 characters that are not stopwords (citation marks removed)."""
    text = _MARK.sub(" ", text.lower())
    return [w for w in _WORD.findall(text) if len(w) >= 3 and w not in STOPWORDS]


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer; a citation mark after the full stop stays with its sentence."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        for part in _SENT.split(line):
            part = part.strip()
            if part:
                out.append(part)
    return out


def cited_in(sentence: str) -> list[int]:
    nums: list[int] = []
    for m in _MARK.finditer(sentence):
        nums.extend(int(p) for p in m.group(1).split(","))
    return list(dict.fromkeys(nums))


def sentence_support(answer: str, snippets: dict[int, str]) -> float | None:
    """Offline lexical support of an answer by its citations.

    For each sentence carrying [n] marks: the share of its content words found among the words of the
    cited snippets. The answer's score is the mean over those sentences (a mark pointing at no snippet
    supports nothing). None if no sentence carries a mark or has content words."""
    scores: list[float] = []
    for sent in answer_sentences(answer):
        nums = cited_in(sent)
        if not nums:
            continue
        words = content_words(sent)
        if not words:
            continue
        vocab: set[str] = set()
        for n in nums:
            vocab.update(content_words(snippets.get(n, "")))
        scores.append(sum(1 for w in words if w in vocab) / len(words))
    return sum(scores) / len(scores) if scores else None


# --------------------------------------------------------------------------------------------------
# Projects, latency, averages


def project_recall_at_k(relevant_projects: Sequence[str], answer_projects: Sequence[Iterable[str]],
                        k: int = 5) -> float | None:
    """Share of the relevant projects named among the answer's first k projects.

    `relevant_projects` are project keys; each answer project is given as the set of keys it goes by
    (its name and its documents). The denominator is capped at k, so an answer that can show only k
    projects can still score 1."""
    rel = dedupe(p for p in relevant_projects if p)
    if not rel:
        return None
    shown = [set(keys) for keys in list(answer_projects)[:k]]
    found = sum(1 for r in rel if any(r in keys for keys in shown))
    return min(1.0, found / min(len(rel), k))


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    vals = sorted(values)
    if not vals:
        return None
    pos = (len(vals) - 1) * p / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


# --------------------------------------------------------------------------------------------------
# One question: pass or fail, and why


def judge(relevant: Sequence[str], abstained: bool, retrieved: Sequence[str], cited: Sequence[str],
          k: int = 5, verdict: str | None = None) -> tuple[bool, str]:
    """The per-question pass rule.

    Answerable: not abstained, some relevant file in the first k retrieved, and (if it cited anything)
    at least one citation relevant. No record: abstained, or "related" (which claims no match)."""
    cited_d = dedupe(cited)
    if not relevant:
        if abstained or verdict == "related":
            return True, ""
        shown = ", ".join(cited_d[:3]) or "nothing"
        return False, f"false yes: cited {shown}"
    reasons = []
    if abstained:
        reasons.append("wrongly abstained")
    if not hit_at_k(retrieved, relevant, k):
        got = ", ".join(dedupe(retrieved)[:3]) or "nothing"
        reasons.append(f"missed: relevant not in top {k} (got {got})")
    if not abstained and cited_d and not citation_precision(cited_d, relevant):
        reasons.append(f"cited only irrelevant sources: {', '.join(cited_d[:3])}")
    return (not reasons), "; ".join(reasons)


# --------------------------------------------------------------------------------------------------
# Many questions: every metric


METRICS = (
    "n", "n_answerable", "n_no_record",
    *(f"recall@{k}" for k in KS), *(f"hit@{k}" for k in KS), "mrr", "ndcg@10",
    "citation_precision", "citation_recall",
    "correct_no_record", "false_yes", "wrong_abstention", "related_share", "auroc",
    "must_mention", "sentence_support", "project_recall@5",
    "pass_rate", "latency_p50_ms", "latency_p95_ms", "latency_mean_ms",
)


def verdict_of(r: dict) -> str:
    return r.get("verdict") or ("no" if r["abstained"] else "yes")


def auroc(positives: Sequence[float | None], negatives: Sequence[float | None]) -> float | None:
    """P(a random answerable question gets more confidence than a random no-record one); ties count half."""
    pos = [p for p in positives if p is not None]
    neg = [n for n in negatives if n is not None]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def score(records: Sequence[dict]) -> dict[str, float | int | None]:
    """Every metric over a list of per-question records.

    A record has: relevant_files, abstained, retrieved (sources in rank order), cited (sources),
    answer, snippets ({n: text}), must_mention, relevant_projects, answer_projects (list of key sets),
    latency_ms and pass. Retrieval and citation metrics are over answerable questions only."""
    ans = [r for r in records if r["relevant_files"]]
    nor = [r for r in records if not r["relevant_files"]]
    out: dict[str, float | int | None] = {"n": len(records), "n_answerable": len(ans), "n_no_record": len(nor)}
    for k in KS:
        out[f"recall@{k}"] = mean(recall_at_k(r["retrieved"], r["relevant_files"], k) for r in ans)
    for k in KS:
        out[f"hit@{k}"] = mean(hit_at_k(r["retrieved"], r["relevant_files"], k) for r in ans)
    out["mrr"] = mean(reciprocal_rank(r["retrieved"], r["relevant_files"]) for r in ans)
    out["ndcg@10"] = mean(ndcg_at_k(r["retrieved"], r["relevant_files"], 10) for r in ans)
    out["citation_precision"] = mean(citation_precision(r["cited"], r["relevant_files"]) for r in ans)
    out["citation_recall"] = mean(citation_recall(r["cited"], r["relevant_files"]) for r in ans)
    # On a "no record" question, "related" is honest: it claims no match.
    out["correct_no_record"] = correct_no_record([verdict_of(r) != "yes" for r in nor])
    out["false_yes"] = false_yes([verdict_of(r) != "yes" for r in nor])
    out["related_share"] = mean(1.0 if verdict_of(r) == "related" else 0.0 for r in records)
    out["auroc"] = auroc([r.get("confidence") for r in ans], [r.get("confidence") for r in nor])
    out["wrong_abstention"] = wrong_abstention([r["abstained"] for r in ans])
    out["must_mention"] = mean(must_mention_coverage(r["answer"], r.get("must_mention") or []) for r in records)
    out["sentence_support"] = mean(sentence_support(r["answer"], r.get("snippets") or {}) for r in records)
    out["project_recall@5"] = mean(project_recall_at_k(r.get("relevant_projects") or [], r.get("answer_projects") or [], 5)
                                   for r in ans)
    out["pass_rate"] = mean(1.0 if r["pass"] else 0.0 for r in records)
    lat = [r["latency_ms"] for r in records if r.get("latency_ms") is not None]
    out["latency_p50_ms"] = percentile(lat, 50)
    out["latency_p95_ms"] = percentile(lat, 95)
    out["latency_mean_ms"] = mean(lat)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def score_by_kind(records: Sequence[dict], kinds: Sequence[str]) -> dict[str, dict]:
    out = {}
    for kind in kinds:
        rs = [r for r in records if r["kind"] == kind]
        if rs:
            out[kind] = score(rs)
    return out
