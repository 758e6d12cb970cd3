"""Access on the scale-out path: two instances, one Chroma server.

Instance A ingests and later narrows a document's groups (same bytes) or deletes it; instance B, with
its own lexical index and caches, must stop showing it to a member through every path: answers in
every retrieval mode, chat follow-ups, document lists, project cards, people, briefs and downloads. A second test
freezes B's caches entirely, so only the last check (every source against its committed record, read
from the store) stands between the member and the document.
"""

from __future__ import annotations

import time

import pytest

from assistant.brief import brief_markdown
from assistant.engine import Engine
from assistant.models import Filters

pytestmark = pytest.mark.server

REFRESH = 0.3

DOCS = {
    "court-portal.md": "---\ntitle: Civil rights complaint portal\nclient: Department of Fairness\nproject: Complaint Portal\n"
    "people: [Renata Vasquez-Holm]\ndoc_type: case_study\n---\n# Complaint Portal\n\n"
    "We built an online civil rights complaint portal for the Department of Fairness. Members of the public "
    "describe what happened in plain language and the portal routes each report to the right investigative section.\n\n"
    "## Outcome\n\nRenata Vasquez-Holm led the triage design; routing time fell from weeks to two days.\n",
    "harbor.md": "---\ntitle: HarborPass case study\nclient: Port of Wexley\nproject: HarborPass\ndoc_type: case_study\n---\n"
    "# HarborPass\n\nWe built HarborPass, an online mooring permit system for the Port of Wexley harbour. "
    "Boat owners apply for seasonal moorings and pay fees by card.\n",
    "library.md": "---\ntitle: Library search\nclient: Lakeside Library\nproject: ShelfFinder\ndoc_type: case_study\n---\n"
    "# ShelfFinder\n\nWe rebuilt the catalogue search for the Lakeside public library, so patrons can reserve "
    "and renew books from their phones.\n",
}
SECRET_WORDS = ["Complaint Portal", "Department of Fairness", "Vasquez-Holm", "court-portal", "civil rights complaint"]
QUESTIONS = [
    "Have we built a civil rights complaint portal?",
    "Which projects did we do for the Department of Fairness?",
    "Who has designed routing of public complaints to investigators?",
    "Did we help an agency take reports from the public about discrimination?",
    "What's the latest on the complaint portal?",
]
MEMBER = ["everyone"]


def leaks(text: str, question: str = "") -> list[str]:
    """Restricted words in what B shows that the asker did not type themselves."""
    return [w for w in SECRET_WORDS if w.lower() in text.lower() and w.lower() not in question.lower()]


@pytest.fixture
def pair(tmp_path, chroma_server, embeddings, request):
    from assistant.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text)
    collection = f"acl{abs(hash(request.node.name)) % 10**8}"

    def make(name: str, refresh: float = REFRESH) -> Engine:
        s = Settings(data_dir=tmp_path / name, chroma_url=chroma_server.url, collection=collection,
                     lexical_refresh_seconds=refresh)
        return Engine(settings=s, embeddings=embeddings)

    a = make("a")
    assert a.ingestor().ingest_paths([corpus]).added == 3
    return a, make, corpus


def everything_b_shows(b: Engine, question: str) -> str:
    """Every surface a member of `everyone` reaches on instance B, as one text."""
    out = []
    for mode in ("hybrid", "dense", "lexical"):
        ans = b.ask(question, filters=Filters(groups=MEMBER), mode=mode, use_llm=False)
        out.append(ans.model_dump_json(exclude={"question", "standalone_question"}))
        out.append(brief_markdown(ans))
        # A download is offered only for what the committed record still allows.
        out.extend(c.source for c in ans.citations if b.store.committed([c.document_id], MEMBER))
    # The chat: the same question, then a follow-up that resolves against the conversation.
    first = b.ask(question, filters=Filters(groups=MEMBER), use_llm=False)
    follow = b.ask("Who led that one?", history=[{"question": question, "answer": first.model_dump()}],
                   filters=Filters(groups=MEMBER), use_llm=False)
    out.append(follow.model_dump_json(exclude={"question", "standalone_question"}))
    out.extend(d.model_dump_json() for d in b.store.documents(groups=MEMBER))
    index = b.projects(MEMBER)
    for card in index.cards(groups=MEMBER):
        out.append(b.project_card(card.key, MEMBER).model_dump_json())
    out.extend(f"{p}: {[c.name for c in cs]}" for p, cs in index.people(groups=MEMBER).items())
    return "\n".join(out)


def test_narrowing_and_deleting_on_one_instance_reaches_the_other(pair):
    a, make, corpus = pair
    b = make("b")
    before = everything_b_shows(b, QUESTIONS[0])
    assert leaks(before), "instance B should see the document while it is open to everyone"

    report = a.ingestor().ingest_paths([corpus / "court-portal.md"], groups=["legal"])
    assert report.updated == 1
    # Chroma merges metadata on upsert: the old group's flag must be cleared on the chunks themselves.
    doc_id = a.store.document_by_source("court-portal.md").id
    assert a.store.chunks.get(where={"$and": [{"doc_id": doc_id}, {"g:everyone": True}]})["ids"] == []
    time.sleep(REFRESH * 3)
    attempts = 0
    for _round in range(2):
        for q in QUESTIONS:
            shown = everything_b_shows(b, q)
            assert leaks(shown, q) == [], f"instance B leaked the narrowed document for {q!r}"
            attempts += 1
    assert attempts >= 10
    # A legal member on B still gets it: narrowing is not deletion.
    legal = b.ask(QUESTIONS[0], filters=Filters(groups=["legal", "everyone"]), use_llm=False)
    assert any(c.source == "court-portal.md" for c in legal.citations)

    a.ingestor().delete(a.store.document_by_source("court-portal.md").id)
    time.sleep(REFRESH * 3)
    for q in QUESTIONS:
        ans = b.ask(q, filters=Filters(groups=["legal", "everyone"]), use_llm=False)
        assert all(c.source != "court-portal.md" for c in ans.citations), q
        assert b.store.document_by_source("court-portal.md") is None


def test_a_stale_instance_still_drops_narrowed_sources(pair, caplog):
    """B never refreshes (its lexical index and records cache stay as they were), yet the member never
    sees the narrowed document: every source is checked against the committed record in the store."""
    a, make, corpus = pair
    b = make("b-frozen", refresh=10**6)
    assert leaks(b.ask(QUESTIONS[0], filters=Filters(groups=MEMBER), use_llm=False).answer, QUESTIONS[0])
    a.ingestor().ingest_paths([corpus / "court-portal.md"], groups=["legal"])
    assert "legal" not in b.store._docs[a.store.document_by_source("court-portal.md").id].groups  # still stale
    caplog.set_level("WARNING", logger="assistant.retrieval")
    for q in QUESTIONS:
        for mode in ("hybrid", "dense", "lexical"):
            ans = b.ask(q, filters=Filters(groups=MEMBER), mode=mode, use_llm=False)
            assert leaks(ans.model_dump_json(exclude={"question", "standalone_question"}), q) == [], (q, mode)
    assert "no longer allows" in caplog.text  # the mismatch is logged


def test_lexical_sync_follows_record_version_not_content(tmp_path, embeddings):
    """Same bytes, new groups: the record version changes, so another instance's FTS5 rows are rewritten."""
    from assistant.models import Document

    d = Document(source="x.md", content_hash="abc", groups=["everyone"])
    narrowed = d.model_copy(update={"groups": ["legal"]})
    assert d.revision != narrowed.revision
    assert d.revision == d.model_copy().revision
