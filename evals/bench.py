"""Speed and memory: embedder throughput, ingest, query latency at several store sizes, first answer.

    precedent bench                                  # sizes 1k, 10k, 100k chunks; writes runs/bench.json
    python -m evals.bench --sizes 1000,10000 --out runs/bench.json

What is measured, in one process run:
- embedder: passages/s and tokens/s on 256 real passages of 150–200 tokens (chunks of the 18F corpus), each time
  in a fresh process like the ingest's, right before and right after the ingest; the median is the ceiling;
- ingest: the 18F mixed-format corpus into a fresh temporary store (documents/s, chunks/s, and chunks/s
  as a share of the raw embedder rate), with the peak RSS of the process tree (parser workers included);
- queries: p50/p95 of retrieval alone (`engine.retriever.search`) and of the whole extractive answer
  (`engine.ask`) at each store size, on embedded Chroma and on a Chroma server on loopback. The stores are
  synthetic: about 2,000 real chunks are embedded once; the rest recombine their sentences, with vectors
  that perturb the real ones slightly (then renormalised). Generated sets are cached under
  runs/bench-cache/. Stores are written through `Store.commit`, 20 chunks per document. A second instance on
  the same store is timed too: how soon it opens, one answer while its lexical index loads in the background
  (dense only, with a notice), and when the index is ready;
- first answer: from a fresh process start to the first `engine.ask` answer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("PRECEDENT_BENCH_CORPORA", os.environ.get("PRECEDENT_SHARED_CORPORA",
                                                                         ROOT.parent / "shared" / "corpora")))
CACHE = ROOT / "runs" / "bench-cache"
DATASET = ROOT / "evals" / "datasets" / "18f.jsonl"
DEFAULT_SIZES = [1_000, 10_000, 100_000]
CHUNKS_PER_DOC = 20
DOCS_PER_BATCH = 50  # documents per Store.commit_many call while building a synthetic store
BASE_SIZE = 2_000

TARGETS = {
    "ingest_ratio": 0.85,  # ingest chunks/s ÷ raw embedder passages/s
    "retrieval_p95_ms": 100.0,  # at 100k chunks
    "answer_p95_ms": 250.0,  # at 100k chunks
    "ingest_peak_rss_mb": 2048.0,
    "first_answer_s": 5.0,
    "catchup_s": 30.0,  # a second instance's lexical index at 100k chunks
}
TARGET_SIZE = 100_000

FALLBACK_QUESTIONS = [
    "Have we helped a state agency modernize a legacy system?",
    "Which projects used agile procurement?",
    "Have we built a public website with accessibility testing?",
    "Who has experience with identity verification?",
    "What is the latest status of the cloud migration work?",
    "Have we worked on open data APIs?",
    "Did we run user research with veterans?",
    "Have we done a discovery sprint for a federal agency?",
]


# -- measuring helpers ---------------------------------------------------------------------------
def percentile(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


class PeakRSS:
    """Samples the memory of a process tree (default: this process) in a thread and keeps the peaks.

    `peak` is the largest sum of RSS over the tree. RSS counts pages shared between processes (forked
    parser workers share the parent's) once per process, so with `pss=True` the proportional set size
    (shared pages split between their users) is summed as well: `peak_pss`."""

    def __init__(self, interval: float = 0.05, exclude: set[int] | None = None, root: int | None = None,
                 pss: bool = False):
        import psutil

        self._psutil = psutil
        self.interval = interval
        self.exclude = exclude or set()
        self.root = root
        self.pss = pss
        self.peak = 0
        self.peak_pss = 0
        self.peak_by_process: dict[int, int] = {}
        self.start_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        ps = self._psutil
        try:
            top = ps.Process(self.root) if self.root else ps.Process()
            procs = [top, *top.children(recursive=True)]
        except ps.NoSuchProcess:
            return 0
        total = total_pss = 0
        for p in procs:
            if p.pid in self.exclude:
                continue
            try:
                if self.pss:
                    mi = p.memory_full_info()
                    total_pss += mi.pss
                else:
                    mi = p.memory_info()
                total += mi.rss
                self.peak_by_process[p.pid] = max(self.peak_by_process.get(p.pid, 0), mi.rss)
            except (ps.NoSuchProcess, ps.AccessDenied, AttributeError):
                pass
        self.peak_pss = max(self.peak_pss, total_pss)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRSS":
        self.start_rss = self.sample()
        self.peak = self.start_rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start_rss) / 2**20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def chroma_server(path: Path, timeout: float = 60.0) -> Iterator[tuple[str, subprocess.Popen]]:
    """`chroma run` on a free loopback port; stopped on exit."""
    port = _free_port()
    path.mkdir(parents=True, exist_ok=True)
    chroma = Path(sys.executable).parent / "chroma"
    log = open(path.parent / "chroma-server.log", "wb")
    proc = subprocess.Popen([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=os.environ | {"ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"chroma run did not answer within {timeout:g} s")
                time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _settings(data_dir: Path, chroma_url: str | None = None, **kw):
    from assistant.settings import Settings

    return Settings(data_dir=data_dir, chroma_url=chroma_url, **kw)


# -- passages ------------------------------------------------------------------------------------
def base_passages(emb, log: Callable[[str], None], cache: Path = CACHE,
                  size: int = BASE_SIZE) -> tuple[list[str], np.ndarray, str]:
    """~2,000 real chunks of the 18F corpus and their vectors (cached); synthetic text if parsing is unavailable."""
    cache.mkdir(parents=True, exist_ok=True)
    texts_f, vecs_f = cache / f"base-{size}-texts.json", cache / f"base-{size}-vectors.npy"
    if texts_f.exists() and vecs_f.exists():
        meta = json.loads(texts_f.read_text())
        return meta["texts"], np.load(vecs_f), meta["origin"]
    texts: list[str] = []
    origin = "18f corpus chunks"
    root = CORPORA / "18f"
    try:
        from ingest.parse import parse_file

        settings = _settings(Path(tempfile.gettempdir()) / "precedent-bench-parse")
        files = sorted(p for p in root.rglob("*") if p.suffix.lower() in (".md", ".markdown", ".txt"))
        if not files:
            raise FileNotFoundError(root)
        log(f"parsing {len(files)} files of {root} for the base passages (once; cached)")
        for f in files:
            try:
                _, chunks = parse_file(f, f.relative_to(root).as_posix(), settings)
            except Exception:
                continue
            texts.extend(c.embed_text for c in chunks)
            if len(texts) >= size:
                break
    except (ImportError, FileNotFoundError):
        pass
    if len(texts) < min(300, size):
        origin = "synthetic text"
        texts = synthetic_texts(size)
    texts = texts[:size]
    log(f"embedding {len(texts)} base passages (once; cached)")
    vecs = emb.embed_array(texts).astype(np.float32)
    texts_f.write_text(json.dumps({"origin": origin, "texts": texts}))
    np.save(vecs_f, vecs)
    return texts, vecs, origin


def synthetic_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    words = ("agency digital service procurement modular contract user research prototype accessibility "
             "cloud migration api open data design system identity login benefits veterans permits "
             "discovery sprint agile team product owner backlog testing deployment security compliance "
             "website content strategy analytics dashboard forms payments grants health records").split()
    out = []
    for _ in range(n):
        sents = [" ".join(rng.choice(words) for _ in range(rng.randint(8, 18))).capitalize() + "."
                 for _ in range(rng.randint(6, 10))]
        out.append(" ".join(sents))
    return out


_SENT = re.compile(r"(?<=[.!?])\s+")


def synthetic_set(size: int, base_texts: list[str], base_vecs: np.ndarray,
                  cache: Path = CACHE) -> tuple[list[str], np.ndarray]:
    """`size` chunks: recombined sentences, vectors near their main source's (cached per size)."""
    tag = f"{size}-from-{len(base_texts)}"
    texts_f, vecs_f = cache / f"synthetic-{tag}-texts.json", cache / f"synthetic-{tag}-vectors.npy"
    if texts_f.exists() and vecs_f.exists():
        texts = json.loads(texts_f.read_text())
        vecs = np.load(vecs_f)
        if len(texts) == size and vecs.shape == (size, base_vecs.shape[1]):
            return texts, vecs
    rng = np.random.default_rng(size)
    sents = [_SENT.split(t) for t in base_texts]
    n = len(base_texts)
    main = rng.integers(0, n, size)
    other = rng.integers(0, n, size)
    texts = []
    for i in range(size):
        a, b = sents[main[i]], sents[other[i]]
        if i < n:  # the first chunks are the real passages themselves
            texts.append(base_texts[i])
            continue
        keep = [s for s in a if rng.random() < 0.8] or a[:1]
        extra = [b[int(rng.integers(0, len(b)))]]
        at = int(rng.integers(0, len(keep) + 1))
        texts.append(" ".join(keep[:at] + extra + keep[at:]))
    idx = np.where(np.arange(size) < n, np.arange(size) % n, main)
    noise = rng.normal(0.0, 0.02, (size, base_vecs.shape[1])).astype(np.float32)
    noise[: min(n, size)] = 0.0
    vecs = base_vecs[idx] + noise
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts_f.write_text(json.dumps(texts))
    np.save(vecs_f, vecs.astype(np.float32))
    return texts, vecs.astype(np.float32)


def synthetic_documents(size: int, texts: list[str]):
    """Documents of CHUNKS_PER_DOC chunks, four documents per project."""
    from assistant.models import Chunk, Document

    rng = random.Random(size)
    clients = [f"Agency {c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    types = ["case_study", "proposal", "status_update", "retrospective", "post", "page"]
    out = []
    for d, start in enumerate(range(0, size, CHUNKS_PER_DOC)):
        part = texts[start : start + CHUNKS_PER_DOC]
        doc = Document(source=f"synthetic/doc-{d:06d}.md", title=part[0][:60], content_hash=f"syn-{size}-{d}",
                       format="md", doc_type=rng.choice(types), date=f"{rng.randint(2014, 2025)}-{rng.randint(1, 12):02d}-15",
                       project=f"Synthetic project {d // 4}", client=rng.choice(clients), summary=part[0][:200])
        chunks = [Chunk(document_id=doc.id, index=i, text=t, version=doc.content_hash) for i, t in enumerate(part)]
        out.append((doc, chunks, start))
    return out


def questions(limit: int = 60) -> list[str]:
    qs = []
    if DATASET.exists():
        for line in DATASET.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if row.get("question") and not row.get("history"):
                qs.append(row["question"])
    return (qs or FALLBACK_QUESTIONS)[:limit]


# -- the measurements ----------------------------------------------------------------------------
CEILING = r"""
import json, sys, time
from assistant.embeddings import MiniLMEmbeddings
pick = json.loads(open(sys.argv[1]).read())
emb = MiniLMEmbeddings()
emb.embed_array(pick[:16])  # warm up
t0 = time.perf_counter()
emb.embed_array(pick)
print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)
"""


def ceiling_passages(emb, base_texts: list[str], n: int = 256) -> list[str]:
    """`n` real passages of 150-200 tokens, the size the chunker aims for."""
    toks = [emb.count_tokens(t) for t in base_texts]
    pick = [t for t, k in zip(base_texts, toks) if 150 <= k <= 200][:n]
    if len(pick) < n:  # not enough in range: take the ones closest to 175 tokens
        order = sorted(range(len(base_texts)), key=lambda i: abs(toks[i] - 175))
        pick = [base_texts[i] for i in order[:n]]
    return pick


def bench_embedder(emb, pick: list[str], work: Path) -> dict:
    """The raw embedder's throughput on `pick` (see `ceiling_passages`), measured as the ingest runs: in a fresh
    process with the same environment (see `bench_ingest`), on the whole machine."""
    f = work / "ceiling-passages.json"
    f.write_text(json.dumps(pick))
    out = subprocess.run([sys.executable, "-c", CEILING, str(f)], env=_child_env(work / "ceiling"), cwd=str(work),
                         capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"embedder benchmark failed ({out.returncode}): {out.stderr[-2000:]}")
    dt = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
    ntok = sum(emb.count_tokens(t) for t in pick)
    return {"passages": len(pick), "tokens": ntok, "mean_tokens": round(ntok / len(pick), 1), "seconds": round(dt, 2),
            "passages_per_s": round(len(pick) / dt, 1), "tokens_per_s": round(ntok / dt, 0)}


def embedder_ceiling(runs: list[dict]) -> dict:
    """The median of the runs before and after the ingest: the ratio is taken against this."""
    med = lambda k: round(statistics.median(r[k] for r in runs), 1)  # noqa: E731
    return {**runs[0], "passages_per_s": med("passages_per_s"), "tokens_per_s": med("tokens_per_s"),
            "runs_passages_per_s": [r["passages_per_s"] for r in runs]}


def _child_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRECEDENT_", "OPENAI_"))}
    env.update(PRECEDENT_DATA_DIR=str(data_dir), PRECEDENT_CONFIG=str(data_dir / "no.env"), ANONYMIZED_TELEMETRY="False",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return env


INGEST = r"""
import json, sys, time
from pathlib import Path
from assistant.engine import Engine
engine = Engine()
t0 = time.perf_counter()
report = engine.ingestor().ingest_paths([Path(sys.argv[1])])
seconds = time.perf_counter() - t0
texts = engine.store.chunks.get(include=["documents"])["documents"]
tokens = sum(engine.embeddings.count_tokens(t) for t in texts)
import resource
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "documents": report.added + report.updated, "failed": len(report.failed),
                  "chunks": report.new_chunks, "tokens": tokens, "stored_chunks": len(texts),
                  "main_cpu_s": me.ru_utime + me.ru_stime, "parser_cpu_s": kids.ru_utime + kids.ru_stime}), flush=True)
"""


def bench_ingest(corpus: Path, work: Path, log) -> dict:
    """Ingest `corpus` into a fresh store in a separate process, as `precedent ingest` would, sampling the
    memory of that process and its parser workers."""
    data_dir = work / "ingest"
    data_dir.mkdir(parents=True, exist_ok=True)
    log(f"ingesting {corpus} (separate process)")
    proc = subprocess.Popen([sys.executable, "-c", INGEST, str(corpus)], env=_child_env(data_dir), cwd=str(work),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with PeakRSS(interval=0.1, root=proc.pid, pss=True) as mem:
        out, err = proc.communicate(timeout=3600)
    if proc.returncode != 0 or not out.strip():
        raise RuntimeError(f"ingest process failed ({proc.returncode}): {err[-2000:]}")
    r = json.loads(out.strip().splitlines()[-1])
    dt, docs, chunks = r["seconds"], r["documents"], r["chunks"]
    chunks_per_s = chunks / dt
    top = sorted(mem.peak_by_process.values(), reverse=True)
    return {"corpus": str(corpus), "documents": docs, "failed": r["failed"], "chunks": chunks, "tokens": r["tokens"],
            "seconds": round(dt, 1), "documents_per_s": round(docs / dt, 2), "chunks_per_s": round(chunks_per_s, 1),
            "tokens_per_s": round(r["tokens"] / dt, 0), "mean_chunk_tokens": round(r["tokens"] / max(r["stored_chunks"], 1), 1),
            "peak_rss_mb": round(mem.peak_mb, 0), "peak_pss_mb": round(mem.peak_pss / 2**20, 0),
            "processes": len(mem.peak_by_process), "largest_process_rss_mb": [round(x / 2**20) for x in top[:3]],
            "main_cpu_s": round(r["main_cpu_s"], 1), "parser_workers_cpu_s": round(r["parser_cpu_s"], 1),
            "data_dir": str(data_dir)}


def build_store(size: int, kind: str, url: str | None, work: Path, emb, texts: list[str], vecs: np.ndarray, log) -> tuple[Any, dict]:
    from assistant.store import Store

    settings = _settings(work / f"{kind}-{size}", url, collection=f"bench{size}")
    store = Store(settings, emb)
    docs = synthetic_documents(size, texts)
    log(f"building {kind} store of {size} chunks ({len(docs)} documents)")
    with PeakRSS(exclude=_server_pids()) as mem:
        t0 = time.perf_counter()
        for b in range(0, len(docs), DOCS_PER_BATCH):
            batch = [(doc, chunks, vecs[start : start + len(chunks)].tolist()) for doc, chunks, start in docs[b : b + DOCS_PER_BATCH]]
            if hasattr(store, "commit_many"):
                store.commit_many(batch)
            else:
                for item in batch:
                    store.commit(*item)
        dt = time.perf_counter() - t0
    info = {"build_seconds": round(dt, 1), "build_chunks_per_s": round(size / dt, 1), "build_rss_growth_mb": round(mem.growth_mb, 0)}

    # A second instance joining the shared store builds its own lexical index from Chroma.
    lex = work / f"{kind}-{size}-second-instance.sqlite"
    # It opens at once and answers from dense search (saying so) until its lexical index is loaded.
    from assistant.engine import Engine

    with PeakRSS(exclude=_server_pids()) as mem:
        t0 = time.perf_counter()
        second = Store(settings, emb, lexical_path=lex)
        opened = time.perf_counter() - t0
        meanwhile = None
        if not second.lexical_ready:
            t1 = time.perf_counter()
            a = Engine(settings=settings, store=second, embeddings=emb).ask(questions(1)[0])
            meanwhile = {"ms": round((time.perf_counter() - t1) * 1000, 1), "notice": bool(a.notice and "keyword index" in a.notice)}
        second.wait_lexical()
        dt = time.perf_counter() - t0
    info.update(lexical_build_seconds=round(dt, 1), lexical_build_rss_growth_mb=round(mem.growth_mb, 0),
                second_instance_open_seconds=round(opened, 2), answer_while_catching_up=meanwhile,
                lexical_mb=round(lex.stat().st_size / 2**20, 1), lexical_chunks=second.lexical.count())
    del second
    return store, info


_SERVER_PIDS: set[int] = set()


def _server_pids() -> set[int]:
    return set(_SERVER_PIDS)


def bench_queries(engine, qs: list[str], repeat: int = 1) -> dict:
    for q in qs[:5]:  # warm up
        engine.ask(q, use_llm=False)
    ret, ans, parts = [], [], {"dense_ms": [], "lexical_ms": [], "compose_ms": []}
    for _ in range(repeat):
        for q in qs:
            t0 = time.perf_counter()
            engine.retriever.search(q)
            ret.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            a = engine.ask(q, use_llm=False)
            ans.append((time.perf_counter() - t0) * 1000)
            for k in parts:
                if k in a.timings:
                    parts[k].append(a.timings[k])
    out = {"queries": len(ret),
           "retrieval_p50_ms": round(percentile(ret, 50), 1), "retrieval_p95_ms": round(percentile(ret, 95), 1),
           "answer_p50_ms": round(percentile(ans, 50), 1), "answer_p95_ms": round(percentile(ans, 95), 1)}
    for k, xs in parts.items():
        if xs:
            out[f"{k[:-3]}_p50_ms"] = round(statistics.median(xs), 1)
    return out


FIRST_ANSWER = r"""
import sys, time
t0 = time.perf_counter()
from assistant.engine import Engine
t1 = time.perf_counter()
engine = Engine()
t2 = time.perf_counter()
a = engine.ask(sys.argv[1], use_llm=False)
t3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f} {len(a.citations)}", flush=True)
"""


def bench_first_answer(data_dir: Path, chroma_url: str | None, question: str, runs: int = 3,
                       collection: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRECEDENT_", "OPENAI_"))}
    env.update(PRECEDENT_DATA_DIR=str(data_dir), ANONYMIZED_TELEMETRY="False",
               PRECEDENT_CONFIG=str(data_dir / "no.env"))
    if collection:
        env["PRECEDENT_COLLECTION"] = collection
    if chroma_url:
        env["PRECEDENT_CHROMA_URL"] = chroma_url
    walls, detail = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-c", FIRST_ANSWER, question], env=env, cwd=str(data_dir.parent),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stdout.readline()  # printed right after the answer: the process may take a while to exit
        wall = time.perf_counter() - t0
        _, err = p.communicate(timeout=300)
        exit_s = time.perf_counter() - t0 - wall
        if p.returncode != 0 or len(line.split()) != 4:
            raise RuntimeError(f"first-answer process failed: {line}{err[-2000:]}")
        imp, build, ask, ncit = line.split()
        walls.append(wall)
        detail.append({"wall_s": round(wall, 2), "import_s": float(imp), "engine_s": float(build), "ask_s": float(ask),
                       "citations": int(ncit), "exit_s": round(exit_s, 2)})
    return {"runs": detail, "median_s": round(statistics.median(walls), 2), "max_s": round(max(walls), 2)}


# -- the run -------------------------------------------------------------------------------------
def run_bench(sizes: list[int] | None = None, out_file: Path = Path("runs/bench.json"), as_json: bool = False, *,
              corpus: Path | None = None, kinds: tuple[str, ...] = ("embedded", "server"), n_questions: int = 60,
              keep: bool = False, cache: Path = CACHE, base_size: int = BASE_SIZE, first_answer_runs: int = 3) -> dict:
    """Run the benchmark, print a table (or JSON) and write `out_file`. Returns the results."""
    from rich.console import Console

    from assistant.embeddings import MiniLMEmbeddings

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    console = Console(stderr=True)
    sizes = list(sizes or DEFAULT_SIZES)
    corpus = corpus if corpus is not None else CORPORA / "18f-mixed"

    def log(msg: str) -> None:
        console.print(f"[dim]{datetime.now():%H:%M:%S}[/dim] {msg}", highlight=False)

    res: dict[str, Any] = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                       "platform": platform.platform()},
                           "sizes": sizes, "kinds": list(kinds), "load_average_start": _load()}
    work = Path(tempfile.mkdtemp(prefix="precedent-bench-"))
    try:
        emb = MiniLMEmbeddings()
        base_texts, base_vecs, origin = base_passages(emb, log, cache, base_size)
        res["base"] = {"passages": len(base_texts), "origin": origin}
        log("raw embedder throughput (separate process)")
        pick = ceiling_passages(emb, base_texts)
        ceilings = [bench_embedder(emb, pick, work)]
        log(f"embedder: {ceilings[0]['passages_per_s']} passages/s")

        ingest_dir: Path | None = None
        if corpus and corpus.exists():
            res["ingest"] = bench_ingest(corpus, work, log)
            ingest_dir = Path(res["ingest"]["data_dir"])
            log(f"ingest: {res['ingest']['chunks_per_s']} chunks/s, peak RSS {res['ingest']['peak_rss_mb']:.0f} MB")
            log("raw embedder throughput again, right after the ingest")
            ceilings.append(bench_embedder(emb, pick, work))
            log(f"embedder: {ceilings[-1]['passages_per_s']} passages/s")
        else:
            res["ingest"] = {"skipped": f"corpus {corpus} not found"}
        res["embedder"] = embedder_ceiling(ceilings)
        ing = res["ingest"]
        if "chunks" in ing:  # against the median of the ceilings right before and right after
            ing["ratio_to_raw_passages"] = round(ing["chunks_per_s"] / res["embedder"]["passages_per_s"], 3)
            ing["ratio_to_raw_tokens"] = round(ing["tokens_per_s"] / res["embedder"]["tokens_per_s"], 3)

        qs = questions(n_questions)
        res["queries"] = []
        with chroma_server(work / "server-db") if "server" in kinds else _nothing() as server:
            url = server[0] if server else None
            if server:
                _SERVER_PIDS.add(server[1].pid)
            for size in sizes:
                texts, vecs = synthetic_set(size, base_texts, base_vecs, cache)
                for kind in kinds:
                    from assistant.engine import Engine

                    store, info = build_store(size, kind, url if kind == "server" else None, work, emb, texts, vecs, log)
                    engine = Engine(settings=store.settings, store=store, embeddings=emb)
                    log(f"querying {kind} store of {size} chunks ({len(qs)} questions)")
                    row = {"size": size, "kind": kind, **info, **bench_queries(engine, qs)}
                    if server and kind == "server":
                        import psutil

                        row["server_rss_mb"] = round(psutil.Process(server[1].pid).memory_info().rss / 2**20, 0)
                    res["queries"].append(row)
                    log(f"{kind} {size}: retrieval p95 {row['retrieval_p95_ms']} ms, answer p95 {row['answer_p95_ms']} ms")
                    del engine, store
            log("first answer after start")
            if ingest_dir is not None:
                res["first_answer"] = {"store": "18f-mixed, embedded",
                                       **bench_first_answer(ingest_dir, None, qs[0], first_answer_runs)}
            elif sizes and "embedded" in kinds:
                res["first_answer"] = {"store": f"synthetic {sizes[0]}, embedded",
                                       **bench_first_answer(work / f"embedded-{sizes[0]}", None, qs[0],
                                                            first_answer_runs, collection=f"bench{sizes[0]}")}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    res["targets"] = targets(res)
    res["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    res["load_average_end"] = _load()
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(res, indent=2))
    if as_json:
        Console().print_json(json.dumps(res))
    else:
        out = Console()
        print_tables(res, out if out.is_terminal else Console(width=170))
        console.print(f"Results written to {out_file}")
    return res


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


@contextmanager
def _nothing():
    yield None


def targets(res: dict) -> list[dict]:
    out = []

    def add(name: str, measured, limit: float, ok: bool | None, unit: str, note: str = "") -> None:
        out.append({"target": name, "measured": measured, "limit": limit, "unit": unit,
                    "status": "n/a" if ok is None else ("PASS" if ok else "MISS"), "note": note})

    ing, emb = res.get("ingest", {}), res.get("embedder", {})
    if "ratio_to_raw_passages" in ing:
        r = ing["ratio_to_raw_passages"]
        add("ingest chunks/s ≥ 0.85 × raw embedder passages/s", r, TARGETS["ingest_ratio"], r >= TARGETS["ingest_ratio"], "×",
            f"{ing['chunks_per_s']} vs {emb['passages_per_s']}/s; tokens/s ratio {ing['ratio_to_raw_tokens']}")
        add("peak RSS ingesting 18f-mixed ≤ 2 GB", ing["peak_rss_mb"], TARGETS["ingest_peak_rss_mb"],
            ing["peak_rss_mb"] <= TARGETS["ingest_peak_rss_mb"], "MB",
            f"sum of RSS over the process tree; PSS (shared pages counted once) {ing['peak_pss_mb']:.0f} MB")
    else:
        add("ingest chunks/s ≥ 0.85 × raw embedder", None, TARGETS["ingest_ratio"], None, "×", "ingest not run")
        add("peak RSS ingesting 18f-mixed ≤ 2 GB", None, TARGETS["ingest_peak_rss_mb"], None, "MB", "ingest not run")
    rows = res.get("queries", [])
    at = max((r["size"] for r in rows), default=None)
    for key, label in (("retrieval_p95_ms", "retrieval p95"), ("answer_p95_ms", "whole answer p95")):
        for kind in res.get("kinds", []):
            r = next((r for r in rows if r["size"] == at and r["kind"] == kind), None)
            if r is None:
                continue
            note = "" if at == TARGET_SIZE else f"measured at {at} chunks, target is at {TARGET_SIZE}"
            add(f"{label} ≤ {TARGETS[key]:g} ms at 100k ({kind})", r[key], TARGETS[key],
                r[key] <= TARGETS[key] if at == TARGET_SIZE else None, "ms", note)
    for kind in res.get("kinds", []):
        r = next((r for r in rows if r["size"] == at and r["kind"] == kind), None)
        if r is None:
            continue
        during = r.get("answer_while_catching_up")
        note = (f"opens in {r.get('second_instance_open_seconds')} s; an answer meanwhile took {during['ms']} ms, "
                f"{'with' if during['notice'] else 'WITHOUT'} the dense-only notice" if during else "")
        add(f"second instance's lexical catch-up ≤ 30 s at 100k ({kind})", r["lexical_build_seconds"],
            TARGETS["catchup_s"], r["lexical_build_seconds"] <= TARGETS["catchup_s"] and (not during or during["notice"])
            if at == TARGET_SIZE else None, "s", note)
    fa = res.get("first_answer")
    if fa:
        add("first answer after start ≤ 5 s", fa["median_s"], TARGETS["first_answer_s"],
            fa["median_s"] <= TARGETS["first_answer_s"], "s", f"median of {len(fa['runs'])}, max {fa['max_s']} s")
    return out


def print_tables(res: dict, console) -> None:
    from rich.table import Table

    e = res["embedder"]
    t = Table(title="Embedder and ingest", show_lines=False)
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("raw embedder", f"{e['passages_per_s']} passages/s, {e['tokens_per_s']:.0f} tokens/s "
              f"({e['passages']} passages, mean {e['mean_tokens']} tokens; median of runs before and after the ingest: "
              f"{e.get('runs_passages_per_s')} passages/s)")
    ing = res.get("ingest", {})
    if "chunks" in ing:
        t.add_row("ingest 18f-mixed", f"{ing['documents']} docs ({ing['failed']} failed), {ing['chunks']} chunks in {ing['seconds']} s")
        t.add_row("ingest rate", f"{ing['documents_per_s']} docs/s, {ing['chunks_per_s']} chunks/s, {ing['tokens_per_s']:.0f} tokens/s "
                  f"(mean {ing['mean_chunk_tokens']} tokens/chunk)")
        t.add_row("ingest CPU", f"{ing['main_cpu_s']} s in the ingest process (embedding, store), "
                  f"{ing['parser_workers_cpu_s']} s in parser workers")
        t.add_row("ingest ÷ raw", f"{ing['ratio_to_raw_passages']} (chunks/s ÷ passages/s), {ing['ratio_to_raw_tokens']} (tokens/s)")
        t.add_row("peak memory during ingest", f"RSS {ing['peak_rss_mb']:.0f} MB, PSS {ing['peak_pss_mb']:.0f} MB (sums over the "
                  f"ingest process and its parser workers; largest processes {ing['largest_process_rss_mb']} MB RSS)")
    else:
        t.add_row("ingest", ing.get("skipped", "not run"))
    fa = res.get("first_answer")
    if fa:
        r0 = fa["runs"][0]
        t.add_row("first answer after start", f"median {fa['median_s']} s, max {fa['max_s']} s "
                  f"(import {r0['import_s']} s, engine {r0['engine_s']} s, ask {r0['ask_s']} s; {fa['store']})")
    t.add_row("machine", f"{res['machine']['cpus']} CPUs, load average {res.get('load_average_start')} at start, "
              f"{res.get('load_average_end')} at end")
    console.print(t)

    q = Table(title="Queries (synthetic stores; p50/p95 in ms)")
    for col in ("chunks", "store", "retrieval p50", "retrieval p95", "answer p50", "answer p95", "dense p50",
                "lexical p50", "compose p50", "build (chunks/s)", "2nd-instance lexical build", "lexical MB"):
        q.add_column(col, justify="right")
    for r in res.get("queries", []):
        q.add_row(f"{r['size']:,}", r["kind"], str(r["retrieval_p50_ms"]), str(r["retrieval_p95_ms"]), str(r["answer_p50_ms"]),
                  str(r["answer_p95_ms"]), str(r.get("dense_p50_ms", "")), str(r.get("lexical_p50_ms", "")),
                  str(r.get("compose_p50_ms", "")), f"{r['build_seconds']} s ({r['build_chunks_per_s']})",
                  f"{r['lexical_build_seconds']} s, +{r['lexical_build_rss_growth_mb']:.0f} MB", str(r["lexical_mb"]))
    console.print(q)

    g = Table(title="Targets")
    for col in ("target", "measured", "status", "note"):
        g.add_column(col)
    for x in res["targets"]:
        style = {"PASS": "green", "MISS": "red"}.get(x["status"], "yellow")
        g.add_row(x["target"], "-" if x["measured"] is None else f"{x['measured']} {x['unit']}",
                  f"[{style}]{x['status']}[/{style}]", x["note"])
    console.print(g)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), help="store sizes in chunks")
    ap.add_argument("--out", type=Path, default=Path("runs/bench.json"))
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ap.add_argument("--corpus", type=Path, default=None, help="folder to time ingest on (default: 18f-mixed)")
    ap.add_argument("--kinds", default="embedded,server", help="embedded, server or both")
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--keep", action="store_true", help="keep the temporary stores")
    a = ap.parse_args(argv)
    run_bench([int(x) for x in a.sizes.split(",") if x], a.out, a.json, corpus=a.corpus,
              kinds=tuple(k for k in a.kinds.split(",") if k), n_questions=a.questions, keep=a.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
