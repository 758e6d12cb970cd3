"""Lexical (BM25) search over chunks with SQLite FTS5.

Why FTS5 rather than an in-memory BM25 library: it updates incrementally (a changed document
replaces only its rows), persists across restarts, filters by metadata in the same query, and
ranks with BM25. Each app instance keeps its own copy under its state dir and brings it in line
with the shared Chroma store by comparing document versions (`Store.refresh`), so several
instances on one Chroma server stay consistent.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from pathlib import Path

from assistant.models import Chunk, Document, Filters

STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    me my no not of on or our so such that the their them then there these they this to was we were what when
    where which who whom why will with would you your any anything ever us done work worked working project
    projects did someone anyone""".split()
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-\.]*[A-Za-z0-9]|[A-Za-z0-9]")

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY, version TEXT NOT NULL, client TEXT, project TEXT, date TEXT,
    format TEXT, doc_type TEXT, groups TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5(
    text, chunk_id UNINDEXED, doc_id UNINDEXED, idx UNINDEXED, heading UNINDEXED,
    page UNINDEXED, slide UNINDEXED, body UNINDEXED, tokenize = 'porter unicode61'
);
"""


def query_terms(text: str) -> list[str]:
    terms = []
    for w in _WORD.findall(text.lower()):
        w = w.strip(".'’-")
        if w and w not in STOPWORDS and (len(w) > 1 or w.isdigit()):
            terms.append(w)
    return list(dict.fromkeys(terms))


class LexicalIndex:
    def __init__(self, path: Path | None):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        self._lock = threading.RLock()
        with self._lock:
            self._db.executescript(SCHEMA)

    # -- writes ---------------------------------------------------------------------------------
    def versions(self) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute("SELECT doc_id, version FROM docs"))

    def replace(self, doc: Document, chunks: list[Chunk]) -> None:
        """Swap a document's rows in one transaction."""
        with self._lock, self._db:
            self._delete(doc.id)
            self._db.execute(
                "INSERT INTO docs VALUES (?,?,?,?,?,?,?,?)",
                (doc.id, doc.content_hash, doc.client, doc.project, doc.date, doc.format, doc.doc_type,
                 "|" + "|".join(doc.groups) + "|"),
            )
            self._db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                [(c.embed_text, c.id, doc.id, c.index, c.heading, c.page, c.slide, c.text) for c in chunks],
            )

    def delete(self, doc_id: str) -> None:
        with self._lock, self._db:
            self._delete(doc_id)

    def _delete(self, doc_id: str) -> None:
        self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self._db.execute("DELETE FROM docs WHERE doc_id = ?", (doc_id,))

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    # -- search ---------------------------------------------------------------------------------
    def search(self, text: str, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        terms = query_terms(text)
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        where, args = ["chunks MATCH ?"], [match]
        f = filters or Filters()
        for col in ("client", "project", "format", "doc_type"):
            val = getattr(f, col)
            if val:
                where.append(f"d.{col} = ?")
                args.append(val)
        if f.date_from:
            where.append("d.date >= ?")
            args.append(f.date_from)
        if f.date_to:
            where.append("d.date <= ?")
            args.append(f.date_to + "~")
        if f.groups is not None:
            if not f.groups:
                return []
            where.append("(" + " OR ".join("d.groups LIKE ?" for _ in f.groups) + ")")
            args.extend(f"%|{g}|%" for g in f.groups)
        if f.doc_ids is not None:
            if not f.doc_ids:
                return []
            where.append("d.doc_id IN (" + ",".join("?" for _ in f.doc_ids) + ")")
            args.extend(f.doc_ids)
        sql = (
            "SELECT c.chunk_id, c.doc_id, c.idx, c.heading, c.page, c.slide, c.body, d.version, bm25(chunks) AS s "
            "FROM chunks c JOIN docs d ON d.doc_id = c.doc_id WHERE " + " AND ".join(where) + " ORDER BY s LIMIT ?"
        )
        args.append(k)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        out = []
        for _cid, doc_id, idx, heading, page, slide, body, version, score in rows:
            chunk = Chunk(document_id=doc_id, index=int(idx), text=body, heading=heading,
                          page=page, slide=slide, version=version)
            out.append((chunk, -float(score)))  # FTS5 bm25() is lower-is-better
        return out


class TermStats:
    """Document frequencies and per-document term presence, from the same FTS5 index (same stemming)."""

    def __init__(self, index: LexicalIndex):
        self.index = index

    def total_docs(self) -> int:
        with self.index._lock:
            return self.index._db.execute("SELECT count(*) FROM docs").fetchone()[0]

    def doc_frequency(self, term: str) -> int:
        with self.index._lock:
            row = self.index._db.execute(
                "SELECT count(DISTINCT doc_id) FROM chunks WHERE chunks MATCH ?", ('"' + term.replace('"', "") + '"',)
            ).fetchone()
        return int(row[0])

    def docs_containing(self, term: str, doc_ids: list[str]) -> set[str]:
        if not doc_ids:
            return set()
        marks = ",".join("?" for _ in doc_ids)
        with self.index._lock:
            rows = self.index._db.execute(
                f"SELECT DISTINCT doc_id FROM chunks WHERE chunks MATCH ? AND doc_id IN ({marks})",
                ['"' + term.replace('"', "") + '"', *doc_ids],
            ).fetchall()
        return {r[0] for r in rows}


def _texts_of(index: LexicalIndex, doc_id: str) -> list[tuple[str | None, str]]:
    with index._lock:
        return index._db.execute("SELECT heading, body FROM chunks WHERE doc_id = ? ORDER BY CAST(idx AS INTEGER)",
                                 (doc_id,)).fetchall()


TermStats.texts_of = lambda self, doc_id: _texts_of(self.index, doc_id)  # type: ignore[attr-defined]
