"""The lexical index's per-document reads: document frequencies from `docterms` and a document's passages
through `acl`, equal to what a scan of every chunk row gives, through replaces, deletes and an upgrade."""

from __future__ import annotations

import pytest

from assistant.lexical import LexicalIndex, TermStats
from assistant.models import Chunk, Document

TEXTS = {
    "parks.md": ["We built an online permit system for the parks department.", "Residents sign in with login.gov."],
    "bank.md": ["A mobile banking app with card freeze.", "Permits are not part of banking."],
    "split.md": ["The last word here is login.", "gov starts this passage, so no phrase spans the two."],
    "empty.md": [],
}
TERMS = ["permit", "permits", "login.gov", "login", "gov", "banking", "residents", "nothing-here", "card"]


def doc(source: str, version: str = "v1") -> Document:
    return Document(source=source, title=source, content_hash=version)


def chunks(d: Document, texts: list[str]) -> list[Chunk]:
    return [Chunk(document_id=d.id, index=i, text=t, version=d.content_hash) for i, t in enumerate(texts)]


def scanned_frequency(idx: LexicalIndex, term: str) -> int:
    """The old way: every matching chunk row read for its document id."""
    return idx._db.execute("SELECT count(DISTINCT doc_id) FROM chunks WHERE chunks MATCH ?", (f'"{term}"',)).fetchone()[0]


def check(idx: LexicalIndex) -> None:
    stats = TermStats(idx)
    for t in TERMS:
        assert stats.doc_frequency(t) == scanned_frequency(idx, t), t
    idx._db.execute("INSERT INTO docterms(docterms) VALUES ('integrity-check')")


@pytest.fixture
def idx(tmp_path):
    index = LexicalIndex(tmp_path / "lex.sqlite")
    for source, texts in TEXTS.items():
        d = doc(source)
        index.replace(d, chunks(d, texts))
    return index


def test_document_frequency_matches_a_scan(idx):
    stats = TermStats(idx)
    assert stats.doc_frequency("permit") == 2  # "permit" and "Permits" share the stem
    assert stats.doc_frequency("login.gov") == 1  # a phrase does not span two passages of split.md
    check(idx)


def test_replace_and_delete_keep_frequencies(idx):
    d = doc("parks.md", "v2")
    idx.replace(d, chunks(d, ["Banking for the parks department, with login.gov.", "No permit here."]))
    check(idx)
    idx.delete(doc("bank.md").id)
    check(idx)
    assert TermStats(idx).doc_frequency("banking") == 1
    idx.replace_many([(doc("bank.md"), chunks(doc("bank.md"), TEXTS["bank.md"]))], new={doc("bank.md").id})
    idx.delete(doc("empty.md").id)
    check(idx)


def test_texts_of_one_document(idx):
    d = doc("parks.md")
    assert TermStats(idx).texts_of(d.id) == [(None, t) for t in TEXTS["parks.md"]]
    assert idx.texts_of(doc("nowhere.md").id) == []


def test_an_index_without_docterms_gets_it(idx, tmp_path):
    idx._db.execute("DROP TABLE docterms")
    idx._db.commit()
    idx._db.close()
    again = LexicalIndex(tmp_path / "lex.sqlite")
    check(again)
    assert TermStats(again).doc_frequency("permit") == 2
    again.delete(doc("parks.md").id)  # rows the upgrade wrote are removed like any other
    check(again)
    # Contentless: the text is not kept twice.
    assert {t for t, in again._db.execute("SELECT text FROM docterms")} == {None}
