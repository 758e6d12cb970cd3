"""The evidence judge: P(this project is the work the question asks about), learned and calibrated.

No single number separates "yes, we did that" from a near miss: the asker's words are often not the
documents' words (low term coverage on a true match), and a post *about* a team shares the words of
the work itself (high coverage on a near miss). So each candidate project gets a few features that look at
the evidence from several sides (`FEATURES`: closeness in meaning of its best passages, its retrieval rank,
IDF-weighted coverage of the question's key terms and names in what its passages assert). A logistic
regression trained on labelled questions over several corpora turns them into a score, and a sigmoid fitted
on out-of-fold scores calibrates the score into a probability (`python -m evals.train_judge`, which writes `judge_model.json`).

The verdict is then `yes` (P >= the yes threshold), `related` (between the two thresholds: related
work on screen, not a confirmed match) or `no`. Both thresholds are chosen on the training corpora.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.models import Query
from assistant.retrieval import ProjectHit
from assistant.terms import TermEvidence

MODEL_FILE = Path(__file__).with_name("judge_model.json")

# Kept because they earn their place on corpora they were not fitted on (leave-one-corpus-out, backward
# elimination by held-out AUROC and false-"no" stability). Dropped the same way: best passage cosine,
# title/summary cosine, best sentence cosine, margins, dense/lexical ranks and their agreement, first-person
# claims, document types, client named, number of documents, words absent from the library. Each helped on
# one corpus and hurt on another.
FEATURES = (
    "sim_mean3",  # mean cosine of its three best passages, a missing one counting 0 (several matching passages
                  # count more), over at most as many passages as its documents have (a short one is not penalised)
    "rel_score",  # its fused retrieval score over the best candidate's: how far behind, not only in what place
                  # (it replaced the rank, 1 / (1 + position), once fusion kept the scores' spacing)
    "coverage",   # IDF-weighted share of the question's key terms asserted in its best passages
    "names",      # share of the question's names (clients, products) found in its documents; 1 when none
    "top_term",   # the question's rarest key term is asserted in its best passages
)


@dataclass
class Judgement:
    """One candidate project, judged."""

    project: ProjectHit
    p: float
    features: dict[str, float]
    missing: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        f = self.features
        why = f"P(match) {self.p:.2f}; similarity {f['sim']:.2f}, key-term coverage {f['coverage']:.0%}"
        if self.missing:
            why += f"; not found: {', '.join(self.missing[:4])}"
        return why


@dataclass
class JudgeModel:
    """Standardise, logistic score, calibration curve (`iso_x`, `iso_y`: points of a monotone map from score to
    probability): all that scoring needs, read from JSON."""

    features: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    iso_x: np.ndarray
    iso_y: np.ndarray
    yes: float
    related: float
    meta: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "JudgeModel":
        if not Path(path).exists():  # only before the first `python -m evals.train_judge`
            return cls.prior()
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def prior(cls) -> "JudgeModel":
        """An untrained starting point (meaning and words, equally weighted), used only to collect the
        first training features; the shipped model replaces it."""
        n = len(FEATURES)
        coef = np.zeros(n)
        coef[FEATURES.index("sim_mean3")] = 1.0
        coef[FEATURES.index("coverage")] = 1.0
        return cls(list(FEATURES), np.array([0.4 if f == "sim_mean3" else 0.5 for f in FEATURES]), np.full(n, 0.15), coef,
                   0.0, np.array([-6.0, 6.0]), np.array([0.0, 1.0]), 0.5, 0.4, {"trained": False})

    @classmethod
    def from_dict(cls, d: dict) -> "JudgeModel":
        arr = lambda k: np.asarray(d[k], dtype=float)  # noqa: E731
        return cls(list(d["features"]), arr("mean"), arr("scale"), arr("coef"), float(d["intercept"]),
                   arr("iso_x"), arr("iso_y"), float(d["thresholds"]["yes"]), float(d["thresholds"]["related"]),
                   d.get("meta", {}))

    def to_dict(self) -> dict:
        return {"features": self.features, "mean": self.mean.round(6).tolist(), "scale": self.scale.round(6).tolist(),
                "coef": self.coef.round(6).tolist(), "intercept": round(self.intercept, 6),
                "iso_x": self.iso_x.round(6).tolist(), "iso_y": self.iso_y.round(6).tolist(),
                "thresholds": {"yes": float(self.yes), "related": float(self.related)}, "meta": self.meta}

    def raw(self, rows: list[dict[str, float]]) -> np.ndarray:
        x = np.array([[r[f] for f in self.features] for r in rows], dtype=float).reshape(len(rows), len(self.features))
        return ((x - self.mean) / self.scale) @ self.coef + self.intercept

    def probability(self, rows: list[dict[str, float]]) -> list[float]:
        if not rows:
            return []
        return [float(p) for p in np.interp(self.raw(rows), self.iso_x, self.iso_y)]


class Judge:
    """Features per candidate project, and the calibrated probability that it is the work asked about."""

    def __init__(self, terms: TermEvidence, model: JudgeModel | None = None):
        self.terms = terms
        self.model = model or JudgeModel.load()

    def reset(self) -> None:
        self.terms.reset()

    # -- features ---------------------------------------------------------------------------------
    def features(self, query: Query, projects: list[ProjectHit]) -> list[tuple[dict, list[str]]]:
        out = []
        for i, p in enumerate(projects):
            srcs = p.sources
            dense = sorted((s.dense for s in srcs if s.dense is not None), reverse=True)
            ev = self.terms.evidence(query, p)
            f = {
                "sim_mean3": sum(dense[:3]) / min(3, max(1, sum(d.document.chunk_count for d in p.docs))) if dense else 0.0,
                "inv_rank": 1.0 / (1 + i),
                "rel_score": p.score / projects[0].score if projects[0].score > 0 else 0.0,
                "coverage": ev.coverage,
                "names": ev.names,
                "top_term": float(ev.top_term_present),
                "sim": p.similarity,
            }
            out.append((f, ev.missing))
        return out

    def judge(self, query: Query, projects: list[ProjectHit]) -> list[Judgement]:
        feats = self.features(query, projects)
        ps = self.model.probability([f for f, _ in feats])
        return [Judgement(p, prob, f, missing) for p, prob, (f, missing) in zip(projects, ps, feats)]

    def verdict(self, best: float) -> str:
        if best >= self.model.yes:
            return "yes"
        return "related" if best >= self.model.related else "no"
