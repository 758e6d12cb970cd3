"""Projects and people derived from documents: linking updates, cards with cited outcomes, expertise."""

from __future__ import annotations


import pytest

from assistant.engine import Engine
from assistant.settings import Settings

DOCS = {
    "projects/harbor.md": "---\ntitle: Online mooring permits\nagency: Port of Wexley\ntags:\n- harborpass\n- how we work\n---\n"
    "# HarborPass\n\nWe built HarborPass, an online mooring permit system for the Port of Wexley.\n\n"
    "## Outcomes\n\nNinety percent of mooring permit applications now arrive online.\n"
    "Permit processing time fell from nine days to two days.\n",
    "posts/2022-03-01-harbor-launch.md": "---\ntitle: HarborPass goes live\ndate: 2022-03-01\nauthors:\n- Anika Solberg\n"
    "tags:\n- harborpass\n---\n\nToday the Port of Wexley opened HarborPass to every boat owner. Anika Solberg led the launch.\n",
    "posts/2023-05-10-harbor-year-one.md": "---\ntitle: A year of HarborPass\ndate: 2023-05-10\nauthors:\n- Tomas Reyes\n"
    "tags:\n- harborpass\n---\n\nOne year on, HarborPass handles four thousand mooring permits a season.\n",
    "projects/library.md": "---\ntitle: Catalogue search\nagency: Lakeside Library\ntag: shelf\n---\n"
    "# ShelfHelp\n\nWe rebuilt the catalogue search for the Lakeside public library with Elasticsearch.\n",
    "posts/2021-01-05-kafka-at-lakeside.md": "---\ntitle: Streaming holds with Kafka\ndate: 2021-01-05\nauthors:\n"
    "- Priya Raman\ntags:\n- shelf\n---\n\nPriya Raman moved the library's holds queue onto Apache Kafka.\n",
    # A post that links nowhere, and a series tag carried by a project page and many posts.
    "posts/2021-06-01-offsite.md": "---\ntitle: What we learned at our offsite\ndate: 2021-06-01\nauthors:\n- vdavez\n"
    "- jane-doe\ntags:\n- how we work\n---\n\nJane Doe and Omar Haddad ran a week of planning in Lisbon. Jane asked "
    "every team for one lesson.\n",
    **{f"posts/2021-0{i}-02-note-{i}.md": f"---\ntitle: Weekly note {i}\ndate: 2021-0{i}-02\ntags:\n- how we work\n---\n\n"
       f"Note number {i} on how our teams plan their week.\n" for i in range(1, 6)},
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embeddings):
    root = tmp_path_factory.mktemp("projects")
    for rel, text in DOCS.items():
        p = root / "corpus" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    eng = Engine(settings=Settings(data_dir=root / "data"), embeddings=embeddings)
    assert eng.ingestor().ingest_paths([root / "corpus"]).failed == []
    return eng


def test_updates_link_to_their_project_and_form_a_timeline(engine):
    index = engine.projects()
    harbor = next(c for c in index.cards() if c.client == "Port of Wexley")
    assert set(harbor.documents) == {"projects/harbor.md", "posts/2022-03-01-harbor-launch.md",
                                     "posts/2023-05-10-harbor-year-one.md"}
    assert [e.date for e in harbor.timeline if e.date] == ["2022-03-01", "2023-05-10"]
    assert (harbor.start, harbor.end) == ("2022-03-01", "2023-05-10")
    assert {"Anika Solberg", "Tomas Reyes"} <= set(harbor.people)


def test_grouping_is_conservative(engine):
    """A post that links nowhere is a document, not a card; a tag many documents carry links nothing."""
    index = engine.projects()
    names = {c.name for c in index.cards()}
    assert names == {"Online mooring permits", "Catalogue search"}
    offsite = engine.store.document_by_source("posts/2021-06-01-offsite.md")
    assert not index.is_project(index.key_of(offsite))
    # People: full names only; a first-name mention joins its full name, a handle is dropped.
    assert offsite.people == ["Jane Doe", "Omar Haddad"]


def test_card_outcomes_are_cited_quotes(engine):
    key = next(c.key for c in engine.projects().cards() if c.client == "Port of Wexley")
    card = engine.project_card(key)
    assert card.highlights, "the Outcomes section gives cited highlights"
    for h in card.highlights:
        chunk_text = " ".join(c.text for c in engine.store.chunks_of(h.document_id))
        assert h.snippet in chunk_text and h.source == "projects/harbor.md"


def test_people_and_expertise_answers_name_people_with_citations(engine):
    assert "Priya Raman" in engine.projects().people()
    a = engine.ask("Who has experience with Kafka?")
    assert not a.abstained
    assert a.people and a.people[0]["name"] == "Priya Raman"
    assert a.people[0]["citations"] and all(any(c.n == n for c in a.citations) for n in a.people[0]["citations"])


def test_who_has_written_about_it_names_the_authors_of_matching_documents(engine):
    """The text of "A year of HarborPass" never names its author: its front matter does."""
    a = engine.ask("Who has written about how many mooring permits HarborPass handles in a season?")
    tomas = next((p for p in a.people if p["name"] == "Tomas Reyes"), None)
    assert tomas and tomas["role"] is None and "**Tomas Reyes** (author)" in a.answer, a.answer
    cited = [c for c in a.citations if c.n in tomas["citations"]]
    assert cited and all(c.source == "posts/2023-05-10-harbor-year-one.md" for c in cited), a.answer
    # Not asked who wrote: nobody is called an author, and who the text says led it comes first.
    led = engine.ask("Who led the HarborPass launch?")
    assert "(author)" not in led.answer and led.people[0]["name"] == "Anika Solberg", led.answer


def test_latest_question_leads_with_the_newest_update(engine):
    a = engine.ask("What is the latest news on HarborPass?")
    assert not a.abstained
    assert a.retrieved[0].source == "posts/2023-05-10-harbor-year-one.md"
    assert a.citations[0].source == "posts/2023-05-10-harbor-year-one.md"


def test_capability_brief_lists_projects_with_cited_outcomes(engine):
    from assistant.brief import brief_docx, brief_markdown

    a = engine.ask("Have we built an online permit system for a port?")
    md = brief_markdown(a)
    assert "HarborPass" in md or "Online mooring permits" in md
    assert "[1]" in md and "projects/harbor.md" in md
    assert brief_docx(a)[:2] == b"PK"
