"""Parsing real files of every format, offline, and refusing bad ones with a clear reason."""

from __future__ import annotations

import io
import os
import re
import socket
import time
import tracemalloc
import warnings
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from assistant.models import Chunk, Document
from assistant.settings import Settings
from ingest.errors import IngestError
from ingest.parse import SUPPORTED, parse_file

from shared_corpora import BAD  # noqa: E402
from shared_corpora import MIXED as CORPUS  # noqa: E402
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared 18F corpus not present")
needs_bad = pytest.mark.skipif(not BAD.is_dir(), reason="shared bad-inputs corpus not present")


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def opening_found(doc: Document, chunks: list[Chunk]) -> bool:
    summary = norm(doc.summary.rstrip("…"))
    return bool(summary) and any(summary in norm(c.text) for c in chunks)


def parse(rel: str) -> tuple[Document, list[Chunk]]:
    return parse_file(CORPUS / rel, rel, Settings())


# -- offline --------------------------------------------------------------------------------------------
def test_network_is_really_off():
    """The suite runs under pytest-socket: a hidden download would fail loudly, not pass by luck."""
    with warnings.catch_warnings(), pytest.raises(Exception, match="(?i)socket|blocked|host"):
        warnings.simplefilter("ignore")  # pytest-socket also warns; the exception is what matters
        socket.create_connection(("203.0.113.1", 80), timeout=1)


def test_spacy_model_comes_from_the_installed_package():
    from ingest.offline import SPACY_PACKAGE, OfflineModelError, ensure_offline

    ensure_offline()
    from unstructured.nlp import tokenize

    assert os.environ["DO_NOT_TRACK"] == "1" and os.environ["SCARF_NO_ANALYTICS"] == "1"
    assert os.environ["UNSTRUCTURED_DISABLE_NOTICE"] == "1"
    nlp = tokenize._get_nlp()
    assert nlp.meta["name"] == SPACY_PACKAGE.removeprefix("en_")
    assert "ner" not in nlp.pipe_names  # same exclude list as unstructured's loader
    with pytest.raises(OfflineModelError):
        tokenize._install_spacy_model()
    assert tokenize.sent_tokenize("One sentence here. And another one.") == ["One sentence here.", "And another one."]


@needs_corpus
@pytest.mark.parametrize("rel", [
    "projects/c2.docx",
    "posts/2014-05-09-a-few-notes-on-notalone-gov.html",
    "posts/2014-09-04-a-new-look-at-the-freedom-of-information-act.md",
    "LICENSE-NOTE.txt",
    "posts/2014-07-16-midas-a-marketplace-for-innovation-in-government.eml",
    "posts/2014-10-01-open-source-hack-series-midas.pptx",
])
def test_text_partitioners_work_offline_and_fast(rel):
    from ingest.offline import prepare

    prepare()  # warm-up (spaCy load) is paid once per worker, not per file
    start = time.perf_counter()
    doc, chunks = parse(rel)
    elapsed = time.perf_counter() - start
    assert chunks and doc.chunk_count == len(chunks)
    # A hang detector, not a benchmark (the suite shares 2 cores): an attempted download hangs ~150 s.
    assert elapsed < 10.0, f"{rel} took {elapsed:.2f} s"


# -- one test per format --------------------------------------------------------------------------------
@needs_corpus
def test_pdf_pages_metadata_and_opening_sentence():
    doc, chunks = parse("posts/2014-09-25-design-studio-onrr.pdf")
    assert doc.format == "pdf" and doc.doc_type == "post"
    assert doc.title == "User-centered design at 18F: a design studio for natural resource revenues"
    assert doc.date == "2014-09-25"
    # Its authors are handles ("chrisc", "mhz", "nick") that the text never spells out: they are not people.
    assert not {"Chrisc", "Mhz", "Nick"} & set(doc.people)
    assert all(len(p.split()) >= 2 for p in doc.people), doc.people
    assert "workshop" in doc.tags
    assert {c.page for c in chunks} == {1, 2, 3} and all(c.slide is None for c in chunks)
    assert doc.summary.startswith("On July 28, 18F kicked off a new project")
    assert opening_found(doc, chunks)
    assert any(c.heading == "How does it work?" and c.page == 2 for c in chunks)
    assert not any(re.search(r"(?m)^Page \d+$", c.text) for c in chunks)  # running footers removed
    assert "- Everybody is a peer" in "\n".join(c.text for c in chunks)  # bullets kept as list items
    assert all(c.version == doc.content_hash and c.document_id == doc.id for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))


@needs_corpus
def test_docx_headings_and_front_matter_table():
    doc, chunks = parse("projects/c2.docx")
    assert doc.format == "docx"
    assert doc.title == "Simplifying P-card purchasing"
    assert doc.client == "General Services Administration"  # from the Field/Value front-matter table
    assert doc.tags == ["c2"]
    text = "\n".join(c.text for c in chunks)
    assert "permalink" not in text  # the front-matter table is metadata, not body text
    assert any(c.heading == "Build quickly based on user insights" for c in chunks)
    assert "- A dashboard view that allows users to see all requested purchases" in text
    assert opening_found(doc, chunks)
    assert all(c.page is None and c.slide is None for c in chunks)


@needs_corpus
def test_pptx_slide_numbers_and_titles():
    doc, chunks = parse("posts/2014-10-01-open-source-hack-series-midas.pptx")
    assert doc.format == "pptx" and doc.doc_type == "deck"
    assert doc.title == "18F open source hack series: Midas"
    assert doc.date == "2014-10-01"
    assert {c.slide for c in chunks} == {1, 2, 3, 4} and all(c.page is None for c in chunks)
    by_slide = {c.slide: c for c in chunks}
    assert by_slide[3].heading == "What is Midas?"
    assert by_slide[4].heading == "Please join us"
    assert "Node.js" in by_slide[4].text or any("Node.js" in c.text for c in chunks if c.slide == 4)
    assert opening_found(doc, chunks)


@needs_corpus
def test_html_head_metadata_and_sections():
    doc, chunks = parse("posts/2014-05-09-a-few-notes-on-notalone-gov.html")
    assert doc.format == "html" and doc.title == "A few notes on NotAlone.gov"
    assert doc.date == "2014-05-09"
    # Front-matter handles and first names are not people. The one full name the text gives is a man it
    # quotes ("as Mike Bracken says"): named, not tied to the work.
    assert doc.people == [] and doc.mentioned == ["Mike Bracken"]
    assert "culture" in doc.tags
    assert any(c.heading == "User-centered iterative design" for c in chunks)
    assert doc.summary.startswith("At the end of April, Vice President Biden")
    assert opening_found(doc, chunks)


@needs_corpus
def test_jekyll_html_template_is_read_as_markdown():
    doc, chunks = parse("pages/work-with-us.html")
    assert doc.title == "Work with us"
    text = "\n".join(c.text for c in chunks)
    assert "{%" not in text and "{{" not in text and "permalink" not in text
    assert any(c.heading == "Service offerings" for c in chunks)


@needs_corpus
def test_markdown_front_matter_becomes_metadata():
    doc, chunks = parse("posts/2014-09-04-a-new-look-at-the-freedom-of-information-act.md")
    assert doc.format == "md"
    assert doc.title == "A new look at the Freedom of Information Act"
    assert doc.date == "2014-09-04"
    assert doc.people == []  # its authors are first-name handles only
    assert doc.tags == ["foia", "department of justice", "agency work", "open data"]
    text = "\n".join(c.text for c in chunks)
    assert "tumblr_url" not in text and "layout:" not in text
    assert doc.summary == "There are many ways the public can get information from the Federal Government."
    assert opening_found(doc, chunks)


@needs_corpus
def test_eml_headers_and_html_body():
    doc, chunks = parse("posts/2014-07-16-midas-a-marketplace-for-innovation-in-government.eml")
    assert doc.format == "eml" and doc.doc_type == "email"
    assert doc.title == "Midas: a marketplace for innovation in government"
    assert doc.date == "2014-07-16"
    assert doc.people == []  # "Joe", "mattchessen" and the To: list "18F project updates" are not full names
    assert doc.tags == ["midas", "open opportunities", "platforms"]
    assert any(c.heading == "How Midas works" for c in chunks)
    assert opening_found(doc, chunks)


@needs_corpus
def test_csv_rows_read_as_column_value_pairs():
    doc, chunks = parse("formats.csv")
    assert doc.format == "csv" and doc.doc_type == "spreadsheet"
    text = "\n".join(c.text for c in chunks)
    assert "original_file: projects/c2.md; new_file: projects/c2.docx; format: docx" in text.splitlines()


@needs_corpus
def test_txt():
    doc, chunks = parse("LICENSE-NOTE.txt")
    assert doc.format == "txt" and chunks
    assert doc.title == "SOURCE AND LICENSE NOTE: 18F corpus"
    assert opening_found(doc, chunks)


def test_xlsx_sheets_become_sections(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Staffing"
    ws.append(["Name", "Role", "Project", "Start"])
    ws.append(["Jane Doe", "Product owner", "Apollo", "2021-03-01"])
    ws.append(["John Roe", "Engineer", "Apollo", "2021-04-01"])
    wb.create_sheet("Budget").append(["Item", "Cost"])
    wb["Budget"].append(["Hosting", 1200])
    wb.properties.title = "Apollo staffing plan"
    path = tmp_path / "apollo-staffing.xlsx"
    wb.save(path)
    doc, chunks = parse_file(path, "apollo-staffing.xlsx", Settings())
    assert doc.format == "xlsx" and doc.doc_type == "spreadsheet"
    assert doc.title == "Apollo staffing plan"
    assert [c.heading for c in chunks] == ["Staffing", "Budget"]
    assert "Name: Jane Doe; Role: Product owner; Project: Apollo; Start: 2021-03-01" in chunks[0].text
    assert "Item: Hosting; Cost: 1200" in chunks[1].text


# -- e-mail and front matter, synthetic ------------------------------------------------------------------
def test_eml_header_parsing(tmp_path):
    msg = EmailMessage()
    msg["From"] = "Jane Doe <jane@acme.example>"
    msg["To"] = "Apollo team list <apollo@acme.example>, John Roe <john@acme.example>"
    msg["Date"] = "Tue, 02 Mar 2021 10:00:00 -0500"
    msg["Subject"] = "[Apollo] Weekly status update"
    msg.set_content("The Apollo pilot went live on Monday for three field offices.\n\nNext week we start training.")
    msg.add_attachment("Risks: data migration slips if the vendor is late.", filename="risks.txt")
    msg.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(200), maintype="image", subtype="png", filename="chart.png")
    path = tmp_path / "status.eml"
    path.write_bytes(bytes(msg))
    doc, chunks = parse_file(path, "apollo/status.eml", Settings())
    assert doc.title == "[Apollo] Weekly status update"
    assert doc.date == "2021-03-02"
    assert doc.project == "Apollo"
    assert doc.doc_type == "status_update"
    assert doc.people == ["Jane Doe", "John Roe"]
    assert doc.authors == ["Jane Doe"]  # the sender wrote it; a recipient did not
    assert doc.summary == "The Apollo pilot went live on Monday for three field offices."
    text = "\n".join(c.text for c in chunks)
    assert "Risks: data migration slips if the vendor is late." in text  # text attachment included
    assert any(c.heading == "Attachment: risks.txt" for c in chunks) or "Attachment: risks.txt" in text
    assert opening_found(doc, chunks)


FRONT = """---
title: "Permit modernisation: case study"
client: Department of Examples
project: Permits Online
date: 2021-03-03
authors: [jane-doe, John Roe]
tags:
  - permits
  - cloud
doc_type: case_study
---

# Overview

We rebuilt the permit system for the Department of Examples in six months.
"""


def test_front_matter_parsing(tmp_path):
    from ingest.parsers import split_front_matter

    data, body = split_front_matter(FRONT)
    assert data["client"] == "Department of Examples" and body.lstrip().startswith("# Overview")
    path = tmp_path / "permits.md"
    path.write_text(FRONT)
    doc, chunks = parse_file(path, "permits.md", Settings())
    assert doc.title == "Permit modernisation: case study"
    assert (doc.client, doc.project, doc.date) == ("Department of Examples", "Permits Online", "2021-03-03")
    assert doc.people == ["Jane Doe", "John Roe"]
    assert doc.tags == ["permits", "cloud"] and doc.doc_type == "case_study"
    assert "doc_type" not in "".join(c.text for c in chunks)
    assert chunks[0].heading == "Overview"


def test_a_byline_writes_and_a_quoted_official_is_only_mentioned(tmp_path):
    """A byline field names the authors; an official the post quotes is named, not one of its people; a
    kramdown attribute list is markup, not text."""
    path = tmp_path / "post.md"
    path.write_text(
        '---\ntitle: "Benefits, in one sitting"\nbyline_str: "Ann Lee, Bo Chan and Cy Diaz"\n---\n'
        "We rebuilt the benefits form with the state's caseworkers.\n\n"
        "“Families finish in one sitting now,” said Maria Ortez, the state’s secretary of human services.\n\n"
        'Read the [evaluation](https://example.org/eval){:target="_blank"} for the numbers.\n')
    doc, chunks = parse_file(path, "posts/benefits.md", Settings())
    assert doc.authors == ["Ann Lee", "Bo Chan", "Cy Diaz"] and doc.people == doc.authors
    assert doc.mentioned == ["Maria Ortez"] and "Maria Ortez" not in doc.roles
    text = "\n".join(c.text for c in chunks)
    assert "evaluation" in text and "{:" not in text and "_blank" not in text


def test_malformed_front_matter_is_still_removed(tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Broken: [yaml\nclient: Acme Corp\n---\nBody text stays here.\n")
    doc, chunks = parse_file(path, "note.md", Settings())
    assert doc.client == "Acme Corp"
    assert [c.text for c in chunks] == ["Body text stays here."]


def test_metadata_from_text_file_names_and_folders(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text(
        "Kick-off notes\n\nClient: Acme Widgets Inc\n\nProject: Falcon Portal\n\n"
        "The project was led by Maria Lopez with Product owner: Sam Patel. Work began on March 3, 2021.\n"
    )
    doc, _ = parse_file(path, "clients/Acme/falcon/retrospective.txt", Settings())
    assert doc.client == "Acme"  # folder hint beats a pattern in the text
    assert doc.project == "Falcon Portal"
    assert doc.people == ["Maria Lopez", "Sam Patel"]
    assert doc.date == "2021-03-03"
    assert doc.doc_type == "retrospective"
    doc2, _ = parse_file(path, "misc/2019-07-04-notes.txt", Settings())
    assert doc2.client == "Acme Widgets Inc" and doc2.date == "2019-07-04" and doc2.doc_type == "post"


# -- bad inputs ------------------------------------------------------------------------------------------
@needs_bad
@pytest.mark.parametrize("name,reason", [
    ("empty.pdf", "file is empty"),
    ("truncated.pdf", "PDF is truncated or damaged"),
    ("encrypted.pdf", "PDF is encrypted (password required)"),
    ("random-bytes.docx", "not a valid Word document (ZIP archive without [Content_Types].xml)"),
    ("notes.txt", "not a text file (binary data)"),
    ("zip-bomb.docx", "decompression bomb: word/document.xml would inflate to 534 MB"),
])
def test_bad_inputs_are_refused_quickly_with_a_reason(name, reason):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(IngestError) as err:
            parse_file(BAD / name, name, Settings())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reason in str(err.value)
    assert time.perf_counter() - start < 2.0
    assert peak < 20 * 1024 * 1024, f"{name}: {peak / 1e6:.0f} MB allocated"  # the bomb is never inflated


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_more_bad_inputs(tmp_path):
    def reason(name: str, data: bytes, **settings) -> str:
        with pytest.raises(IngestError) as err:
            parse_file(write(tmp_path, name, data), name, Settings(**settings))
        return str(err.value)

    assert reason("a.xyz", b"hello") == "unsupported file type .xyz"
    assert reason("README", b"hello") == "unsupported file type (no extension)"
    assert reason("empty.txt", b"") == "file is empty"
    assert reason("blank.md", b"  \n\n ") == "file is empty"
    assert "too large" in reason("big.txt", b"x" * 20_000, max_file_mb=0.01)
    assert reason("fake.pdf", b"<html><body>hi</body></html>").startswith("not a PDF")
    assert reason("fake.docx", b"%PDF-1.4 ...").startswith("not a valid Word document")
    assert reason("data.md", bytes(range(256)) * 4) == "not a text file (binary data)"
    assert reason("ctrl.md", b"\x00\x01\x02binary" * 100) == "not a text file (binary data)"  # valid UTF-8, still binary
    assert reason("nothing.html", b"<html><body><p> </p></body></html>") == "no text found in file"
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le") + bytes(512)
    assert reason("locked.docx", ole) == "Word document is encrypted (password required)"
    # A package that is small on disk but far too compressible: refused from its directory alone.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("ppt/presentation.xml", b" " * (30 * 1024 * 1024))
    assert reason("deck.pptx", buf.getvalue()).startswith("decompression bomb: ppt/presentation.xml would inflate to 30 MB")


def test_pdf_without_text_layer(tmp_path):
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path), pagesize=letter)
    c.rect(100, 100, 300, 400, fill=1)  # a "scanned" page: marks, no text
    c.showPage()
    c.save()
    with pytest.raises(IngestError, match=r"PDF has no text layer \(scanned\?\)"):
        parse_file(path, "scan.pdf", Settings())


def test_latin1_text_is_accepted(tmp_path):
    path = write(tmp_path, "old.txt", "Caf\xe9 r\xe9sum\xe9 for the Kommune of \xc5rhus.\n".encode("latin-1"))
    _, chunks = parse_file(path, "old.txt", Settings())
    assert "Café résumé" in chunks[0].text


def test_unexpected_errors_are_wrapped(tmp_path, monkeypatch):
    from ingest import parsers

    def boom(_):
        raise ValueError("boom")

    monkeypatch.setitem(parsers.PARSERS, "txt", boom)
    with pytest.raises(IngestError, match=r"^could not parse: ValueError: boom$"):
        parse_file(write(tmp_path, "a.txt", b"hello"), "a.txt", Settings())


def test_upload_without_extension_uses_the_source_name(tmp_path):
    path = write(tmp_path, "upload-1234", b"# Notes\n\nA plain markdown upload with a heading.\n")
    doc, chunks = parse_file(path, "notes.md", Settings())
    assert doc.format == "md" and chunks[0].heading == "Notes"


# -- the whole corpus ------------------------------------------------------------------------------------
@needs_corpus
@pytest.mark.slow
def test_supported_extensions_agree_with_the_sniffer():
    from ingest.safety import FORMAT_OF

    assert set(FORMAT_OF) == SUPPORTED
