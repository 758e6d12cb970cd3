"""Chunking: token limits, no lost text, sections, pages and slides."""

from __future__ import annotations

import random

from assistant.embeddings import MAX_TOKENS
from assistant.models import Chunk
from ingest.chunking import TARGET, TINY, chunk_blocks, count_tokens, split_sentences
from ingest.parsers import Block


def words(text: str) -> list[str]:
    return text.split()


def embed_tokens(d) -> int:
    chunk = Chunk(document_id="d", index=0, text=d.text, heading=d.heading)
    return count_tokens(chunk.embed_text) + 2  # + [CLS] [SEP]


def long_paragraph() -> str:
    rng = random.Random(7)
    vocab = "procurement agile discovery vendor prototype research users acquisition modular cloud".split()
    sentences = [" ".join(rng.choice(vocab) for _ in range(rng.randint(5, 40))).capitalize() + "." for _ in range(60)]
    run_on = " ".join(rng.choice(vocab) for _ in range(700))  # one 'sentence' far over the limit
    giant_word = "x" * 3000  # one 'word' of ~1000 word pieces
    return " ".join(sentences[:30]) + " " + run_on + " " + giant_word + " " + " ".join(sentences[30:])


def test_over_long_paragraph_loses_nothing_and_fits():
    text = long_paragraph()
    blocks = [Block("Findings from discovery", heading=True), Block(text)]
    drafts = chunk_blocks(blocks)
    assert len(drafts) > 5
    assert all(d.text.strip() for d in drafts)
    assert all(d.heading == "Findings from discovery" for d in drafts)
    assert max(embed_tokens(d) for d in drafts) <= MAX_TOKENS
    assert all(count_tokens(d.text) <= TARGET for d in drafts)
    # Text is only ever cut, never dropped: the chunks put back together are the paragraph.
    assert "".join("".join(words(d.text)) for d in drafts) == "".join(words(text))


def test_paragraphs_pack_and_headings_start_sections():
    para = "The team interviewed twelve permit clerks about their daily work. " * 7  # 77 tokens
    blocks = [
        Block("Discovery", heading=True), Block(para), Block(para), Block(para), Block(para),
        Block("Delivery", heading=True), Block("We shipped the first release in March."),
        Block("It went well."),
    ]
    drafts = chunk_blocks(blocks)
    assert [d.heading for d in drafts] == ["Discovery", "Discovery", "Delivery"]
    assert drafts[0].text.count("permit clerks") == 14  # two whole paragraphs, not split mid-paragraph
    assert drafts[-1].text == "We shipped the first release in March.\nIt went well."


def test_tiny_sections_merge_forward_keeping_the_first_heading():
    blocks = [
        Block("Project Apollo", heading=True),
        Block("Summary", heading=True),
        Block("Short intro."),
        Block("Approach", heading=True),
        Block("We worked in two-week sprints with the permit office."),
    ]
    drafts = chunk_blocks(blocks)
    assert len(drafts) == 1
    d = drafts[0]
    assert d.heading == "Project Apollo"
    assert d.text == "Summary\nShort intro.\nApproach\nWe worked in two-week sprints with the permit office."
    assert d.tokens < TINY * 2


def test_no_chunk_crosses_pages_or_slides():
    blocks = [
        Block("Intro", heading=True, page=1), Block("Page one text.", page=1),
        Block("Page two text continues the intro.", page=2),
        Block("Slide", heading=True, slide=3), Block("Slide three body.", slide=3),
        Block("Slide four body without a title.", slide=4),
    ]
    drafts = chunk_blocks(blocks)
    assert [(d.page, d.slide) for d in drafts] == [(1, None), (2, None), (None, 3), (None, 4)]
    assert drafts[1].heading == "Intro"  # the section heading carries over to the next page
    assert drafts[3].heading is None  # but a slide title never carries over to the next slide


def test_tables_split_between_rows():
    rows = "\n".join(f"Name: Person {i}; Role: Engineer; Project: Apollo; Start: 2021-03-{i % 28 + 1:02d}" for i in range(80))
    drafts = chunk_blocks([Block("Staffing", heading=True), Block(rows, table=True)])
    assert len(drafts) > 1
    for d in drafts:
        assert all(line.startswith("Name: Person ") and line.endswith(tuple("0123456789")) for line in d.text.splitlines())
    assert sum(len(d.text.splitlines()) for d in drafts) == 80


def test_long_heading_is_treated_as_text():
    heading = "A heading " * 40  # ~80 tokens: too long to travel with every chunk
    drafts = chunk_blocks([Block(heading.strip(), heading=True), Block("Body.")])
    assert drafts[0].heading is None and drafts[0].text.startswith("A heading")
    assert max(embed_tokens(d) for d in drafts) <= MAX_TOKENS


def test_no_empty_chunks():
    assert chunk_blocks([]) == []
    drafts = chunk_blocks([Block("Lonely heading", heading=True, page=1), Block("Next page.", page=2)])
    assert [d.text for d in drafts] == ["Lonely heading", "Next page."]


def test_sentence_split_keeps_every_character_that_matters():
    text = 'We added tools to the U.S. Web Design Standards. Dr. Lee said "ship it." Then J. Smith left. (Really.) 3 more.'
    parts = split_sentences(text)
    assert parts == [
        "We added tools to the U.S. Web Design Standards.", 'Dr. Lee said "ship it."', "Then J. Smith left.",
        "(Really.)", "3 more.",
    ]
    assert " ".join(parts) == text
