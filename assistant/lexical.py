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
    format TEXT, doc_type TEXT, groups TEXT NOT NULL, rev TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5(
    text, chunk_id UNINDEXED, doc_id UNINDEXED, idx UNINDEXED, heading UNINDEXED,
    page UNINDEXED, slide UNINDEXED, body UNINDEXED, groups UNINDEXED, client UNINDEXED, project UNINDEXED,
    date UNINDEXED, format UNINDEXED, doc_type UNINDEXED, acl, tokenize = 'porter unicode61'
);
CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(chunks, row);
"""
# One row per document (rowid = the document's `docs` rowid): its chunks' text, for document frequencies that
# read one short doclist instead of every matching chunk's row. Contentless: it stores the index, not the text.
DOCTERMS = "CREATE VIRTUAL TABLE docterms USING fts5(text, content='', tokenize = 'porter unicode61');"
# Between two chunks in `docterms`, so that a phrase never matches across a chunk boundary.
_CHUNK_BREAK = " xchunkbreakx "
# On a large index, words found in more than this share of chunks are left out of the query: they add
# next to nothing to BM25 but make SQLite score most of the index (33 ms -> 6 ms median at 100k chunks).
COMMON_SHARE = 0.05
LARGE_INDEX = 5000


def _token(kind: str, value: str) -> str:
    """A word the tokenizer keeps as it is, standing for a group or a document in the `acl` column."""
    import hashlib

    return "x" + kind + str(int(hashlib.sha1(value.encode()).hexdigest()[:12], 16))


def _doc_match(doc_id: str) -> str:
    """The MATCH expression for one document's rows."""
    return f'acl:"{_token("d", doc_id)}"'


# bm25() weights, one per column: only the text column ranks.
_WEIGHTS = ", ".join(["1.0"] + ["0.0"] * 14)


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
        self._n: int | None = None
        with self._lock:
            cols = [r[1] for r in self._db.execute("PRAGMA table_info(chunks)")]
            doc_cols = [r[1] for r in self._db.execute("PRAGMA table_info(docs)")]
            if (cols and "acl" not in cols) or (doc_cols and "rev" not in doc_cols):  # an older layout: rebuilt from the store
                self._db.executescript("DROP TABLE IF EXISTS vocab; DROP TABLE IF EXISTS chunks; DROP TABLE IF EXISTS docs; "
                                       "DROP TABLE IF EXISTS docterms;")
            self._db.executescript(SCHEMA)
            if not self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'docterms'").fetchone():
                self._build_docterms()

    def _build_docterms(self) -> None:
        """An index written before `docterms` existed gets it from its own rows, in one pass."""
        texts: dict[str, list[str]] = {}
        for doc_id, text in self._db.execute("SELECT doc_id, text FROM chunks ORDER BY rowid"):
            texts.setdefault(doc_id, []).append(text)
        with self._db:
            self._db.execute(DOCTERMS)
            self._db.executemany("INSERT INTO docterms(rowid, text) VALUES (?, ?)",
                                 [(rowid, _CHUNK_BREAK.join(texts.get(doc_id, [])))
                                  for rowid, doc_id in self._db.execute("SELECT rowid, doc_id FROM docs").fetchall()])

    # -- writes ---------------------------------------------------------------------------------
    def versions(self) -> dict[str, str]:
        """Each document's record version (`Document.revision`) as this index last saw it."""
        with self._lock:
            return dict(self._db.execute("SELECT doc_id, rev FROM docs"))

    def replace(self, doc: Document, chunks: list[Chunk]) -> None:
        """Swap a document's rows in one transaction."""
        self.replace_many([(doc, chunks)])

    def replace_many(self, items: list[tuple[Document, list[Chunk]]], new: set[str] = frozenset()) -> None:
        """Swap many documents' rows in one transaction (a new instance catching up loads thousands at once).
        `new`: ids known to have no rows yet, so their delete is skipped."""
        with self._lock, self._db:
            for doc, _ in items:
                if doc.id not in new:
                    self._delete(doc.id)
            self._db.executemany(
                "INSERT INTO docs VALUES (?,?,?,?,?,?,?,?,?)",
                [(doc.id, doc.content_hash, doc.client, doc.project, doc.date, doc.format, doc.doc_type,
                  "|" + "|".join(doc.groups) + "|", doc.revision) for doc, _ in items])
            rows = []
            for doc, chunks in items:
                groups = "|" + "|".join(doc.groups) + "|"
                acl = " ".join([*(_token("g", g) for g in doc.groups), _token("d", doc.id)])
                rows += [(c.embed_text, c.id, doc.id, c.index, c.heading, c.page, c.slide, c.text, groups, doc.client,
                          doc.project, doc.date, doc.format, doc.doc_type, acl) for c in chunks]
            self._db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            # Joined in row order: `_delete` rebuilds the same text from the rows to remove it again.
            self._db.executemany("INSERT INTO docterms(rowid, text) SELECT rowid, ? FROM docs WHERE doc_id = ?",
                                 [(_CHUNK_BREAK.join(c.embed_text for c in chunks), doc.id) for doc, chunks in items])
            self._n = None

    def delete(self, doc_id: str) -> None:
        with self._lock, self._db:
            self._delete(doc_id)

    def _delete(self, doc_id: str) -> None:
        self._n = None
        row = self._db.execute("SELECT rowid FROM docs WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is not None:  # a contentless table forgets a row given the very text it indexed
            texts = [t for t, in self._db.execute("SELECT text FROM chunks WHERE chunks MATCH ? ORDER BY rowid",
                                                  (_doc_match(doc_id),))]
            self._db.execute("INSERT INTO docterms(docterms, rowid, text) VALUES ('delete', ?, ?)",
                             (row[0], _CHUNK_BREAK.join(texts)))
        # Through the full-text index (each row's `acl` holds its document's token): `WHERE doc_id = ?` on an
        # FTS5 table reads every row, which made a catch-up quadratic in the index size.
        self._db.execute("DELETE FROM chunks WHERE rowid IN (SELECT rowid FROM chunks WHERE chunks MATCH ?)",
                         (_doc_match(doc_id),))
        self._db.execute("DELETE FROM docs WHERE doc_id = ?", (doc_id,))

    def texts_of(self, doc_id: str) -> list[tuple[str | None, str]]:
        """A document's (heading, passage) pairs in order; found through `acl`, not by scanning every row."""
        with self._lock:
            return self._db.execute("SELECT heading, body FROM chunks WHERE chunks MATCH ? ORDER BY CAST(idx AS INTEGER)",
                                    (_doc_match(doc_id),)).fetchall()

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def _rows(self) -> int:
        """Chunk count, cached: count(*) on an FTS5 table reads the whole table."""
        if self._n is None:
            self._n = self.count()
        return self._n

    # -- search ---------------------------------------------------------------------------------
    def _row_frequency(self, word: str) -> int:
        """Chunks containing the word's stem (the longest indexed prefix stands in for the Porter stem)."""
        prefixes = [word[:i] for i in range(len(word), 2, -1)]
        row = self._db.execute(
            f"SELECT term, doc FROM vocab WHERE term IN ({','.join('?' * len(prefixes))}) ORDER BY length(term) DESC LIMIT 1",
            prefixes).fetchone()
        return int(row[1]) if row else 0

    def selective_terms(self, terms: list[str]) -> list[str]:
        with self._lock:
            n = self._rows()
            if n < LARGE_INDEX:
                return terms
            keep = [t for t in terms if self._row_frequency(t) <= COMMON_SHARE * n]
        return keep or terms

    def search(self, text: str, k: int, filters: Filters | None = None) -> list[tuple[Chunk, float]]:
        terms = self.selective_terms(query_terms(text))
        if not terms:
            return []
        f = filters or Filters()
        # Groups and follow-up documents are filtered by the full-text index itself (tokens in `acl`).
        match = "text : (" + " OR ".join('"' + t.replace('"', "") + '"' for t in terms) + ")"
        if f.groups is not None:
            if not f.groups:
                return []
            match += " AND acl : (" + " OR ".join(_token("g", g) for g in f.groups) + ")"
        if f.doc_ids is not None:
            if not f.doc_ids:
                return []
            match += " AND acl : (" + " OR ".join(_token("d", d) for d in f.doc_ids) + ")"
        where, args = ["chunks MATCH ?"], [match]
        for col in ("client", "project", "format", "doc_type"):
            val = getattr(f, col)
            if val:
                where.append(f"c.{col} = ?")
                args.append(val)
        if f.date_from:
            where.append("c.date >= ?")
            args.append(f.date_from)
        if f.date_to:
            where.append("c.date <= ?")
            args.append(f.date_to + "~")
        # Rank first, reading only rowids, filters on the index's own columns; then read the k winners'
        # columns. Reading every match's text, or joining per match, costs more than the ranking.
        rank_sql = f"SELECT c.rowid, bm25(chunks, {_WEIGHTS}) AS s FROM chunks c WHERE " + " AND ".join(where) + " ORDER BY s LIMIT ?"
        args.append(k)
        with self._lock:
            ranked = self._db.execute(rank_sql, args).fetchall()
            if not ranked:
                return []
            marks = ",".join("?" for _ in ranked)
            rows = {r[0]: r[1:] for r in self._db.execute(
                "SELECT c.rowid, c.doc_id, c.idx, c.heading, c.page, c.slide, c.body, d.version "
                f"FROM chunks c JOIN docs d ON d.doc_id = c.doc_id WHERE c.rowid IN ({marks})",
                [r[0] for r in ranked])}
        out = []
        for rowid, score in ranked:
            if rowid not in rows:
                continue
            doc_id, idx, heading, page, slide, body, version = rows[rowid]
            chunk = Chunk(document_id=doc_id, index=int(idx), text=body, heading=heading,
                          page=page, slide=slide, version=version)
            out.append((chunk, -float(score)))  # FTS5 bm25() is lower-is-better
        return out


class TermStats:
    """Document frequencies and per-document term presence, from the same FTS5 index (same stemming)."""

    def __init__(self, index: LexicalIndex, fallback=None):
        self.index = index
        self.fallback = fallback  # (doc_id) -> (heading, passage) pairs, for a document not indexed yet

    def total_docs(self) -> int:
        with self.index._lock:
            return self.index._db.execute("SELECT count(*) FROM docs").fetchone()[0]

    def doc_frequency(self, term: str) -> int:
        """Documents whose text holds the term (a phrase, for "login.gov"): counted on `docterms`, one row per
        document, so the cost is one doclist, not a read of every matching chunk's row."""
        with self.index._lock:
            row = self.index._db.execute(
                "SELECT count(*) FROM docterms WHERE docterms MATCH ?", ('"' + term.replace('"', "") + '"',)
            ).fetchone()
        return int(row[0])

    def texts_of(self, doc_id: str) -> list[tuple[str | None, str]]:
        rows = self.index.texts_of(doc_id)
        return rows if rows or self.fallback is None else self.fallback(doc_id)
