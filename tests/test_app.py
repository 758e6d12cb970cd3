"""The Streamlit app's pages, driven in-process with streamlit.testing.v1.AppTest.

A small library of fictional projects is ingested once into a private data dir; each test runs the
real app (ui/app.py, st.navigation) against it and checks what a person would see."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

import pytest

streamlit = pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from assistant import engine as core  # noqa: E402
from assistant.settings import get_settings, reset_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ui" / "app.py"
TIMEOUT = 120

DOCS = {
    "harbor-permits.md": """---
title: "Case study: HarborPass boat mooring permits"
client: Port of Wexley Harbor Authority
project: HarborPass
date: 2022-05-10
people: [Anika Solberg, Tomas Reyes]
doc_type: case_study
---
# HarborPass: online mooring permits for the Port of Wexley

We built HarborPass, an online permit system that lets boat owners apply for seasonal mooring permits,
upload insurance documents and pay fees by card. Harbor staff review applications in a queue and approve
permits in minutes instead of weeks.

## Results
Permit processing time fell from twelve days to two days. Ninety percent of mooring permit applications
now arrive online.
""",
    "grain-forecast.md": """---
title: "Retrospective: GrainCast yield forecasting"
client: Prairie Growers Cooperative
project: GrainCast
date: 2021-09-01
people: [Lucia Fernandez, Omar Haddad]
doc_type: retrospective
---
# GrainCast retrospective

GrainCast forecasts wheat and barley yields for cooperative members from satellite imagery and soil
sensor readings. The team trained gradient boosted models on eight seasons of harvest records.

## What went well
Farmers used the weekly yield forecast to plan storage and trucking. Forecast error dropped below six
percent by mid season.
""",
    "shelfhelp-status.md": """---
title: "Status update: ShelfHelp library catalogue search"
client: Eastvale Public Library
project: ShelfHelp
date: 2023-03-15
people: [Grace Okafor]
doc_type: status_update
---
# ShelfHelp status update, March 2023

ShelfHelp is a catalogue search for the Eastvale Public Library that lets patrons find books, reserve
copies and renew loans from their phones. This sprint we shipped holds notifications by text message and
improved search relevance for author names.
""",
    # Document text that tries to be Markdown/HTML: the app must show it literally.
    "kelpwatch.md": """---
title: "KelpWatch <b>kelp farm</b> monitoring"
client: Salish Seaweed Growers
project: KelpWatch
date: 2020-06-01
people: [Ivo Marsh]
doc_type: case_study
---
# KelpWatch

KelpWatch monitors kelp farm water temperature with buoy sensors <script>alert(1)</script> and
![tracker](http://203.0.113.9/pixel.png) sends [alerts](http://203.0.113.9/phish) to kelp farmers by text.
""",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _use(env: dict[str, str | None], engine=None) -> None:
    """Point the app at a configuration: environment, settings cache, process engine, resource cache."""
    import streamlit as st

    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    reset_settings()
    core._engine = engine
    st.cache_resource.clear()
    st.cache_data.clear()


ENV_KEYS = ("PRECEDENT_DATA_DIR", "PRECEDENT_CHROMA_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY",
            "PRECEDENT_LLM_RETRIES", "PRECEDENT_LLM_TIMEOUT")


@pytest.fixture(scope="module")
def library(tmp_path_factory, embeddings):
    """A data dir with the documents above ingested; the app is pointed at it for the whole module."""
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    base = tmp_path_factory.mktemp("app")
    docs = base / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    env = {k: None for k in ENV_KEYS} | {"PRECEDENT_DATA_DIR": str(base / "data")}
    _use(env)
    eng = core.Engine(settings=get_settings(), embeddings=embeddings)
    report = eng.ingestor().ingest_paths([docs])
    assert report.added == len(DOCS), report
    _use(env, eng)
    yield eng
    _use(saved)


@pytest.fixture
def app(library):
    """A fresh session of the app on the chat page (each test gets its own session state)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at, raw: bool = False) -> str:
    """Everything a person would read on the page, joined: the Markdown source if `raw`, else with the
    backslash escapes resolved (roughly what is displayed). Code blocks, which show text literally, only when not raw."""
    parts = []
    for kind in ("markdown", "caption", "success", "warning", "info", "error", "title", "subheader"):
        parts += [str(e.value) for e in getattr(at, kind)]
    if raw:
        return "\n".join(parts)
    return shown("\n".join(parts)) + "\n" + "\n".join(str(c.value) for c in at.code)


def shown(value: object) -> str:
    """An element's Markdown with the backslash escapes resolved: the text as displayed."""
    return re.sub(r"\\(.)", r"\1", str(value))


def ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


# -- pure helpers -----------------------------------------------------------------------------------
def test_escaping_and_highlighting():
    from ui.components import answer_markdown, highlight, md_code, md_escape

    assert md_escape("![x](http://e/x.png) <b>hi</b>\n $x$") == r"\!\[x\]\(http\://e/x\.png\) \<b\>hi\</b\> \$x\$"
    md = highlight("We built HarborPass, an online *permit* system.", ["online", "permits", "system"])
    assert "**online**" in md and "**permit**" in md and "**system**" in md and r"\*" in md
    assert "HarborPass" in md and "**HarborPass**" not in md
    out = answer_markdown("Yes — 1 match.\n\n**A** — B (2020)\n- quoted ![i](http://x/i.png) text [1]\nPeople: C")
    assert ":blue-badge[1]" in out and r"!\[i\]" in out and "**A**" in out
    assert "\n\nPeople" in out  # not swallowed into the list item above it
    assert md_code("a`b") == "`a'b`"


# -- chat -------------------------------------------------------------------------------------------
def test_chat_answers_yes_with_citation_cards_then_follow_up(app):
    ask(app, "Have we built an online permit system for boat moorings?")
    page = texts(app)
    assert "Yes —" in page
    assert any("Yes" in s.value and "HarborPass" in s.value for s in app.success)  # the verdict banner
    assert any(c.value.startswith("Source [1]") for c in app.caption)  # a numbered citation card
    assert "harbor-permits.md" in page  # the card names its source file
    assert "**permit" in page  # the question's key words are highlighted in the snippet
    assert "Client: Port of Wexley Harbor Authority" in page  # the project card
    assert len(app.download_button) >= 1  # the original file can be downloaded
    assert any("to_markdown" not in c.value and "harbor-permits.md" in c.value for c in app.code)  # copy as Markdown

    ask(app, "Who worked on that one?")
    assert len(app.session_state["turns"]) == 2
    assert "Anika Solberg" in texts(app)
    assert len(app.chat_message) == 4


def test_chat_no_record_is_unmistakable(app):
    ask(app, "Have we built a hospital operating-room scheduling system?")
    assert any("No record" in w.value for w in app.warning)
    assert not any(s.value.startswith("**Yes") for s in app.success)
    page = texts(app)
    assert "Closest work — not a match" in page


def test_document_text_is_never_rendered_as_markup(app):
    ask(app, "Have we monitored kelp farm water temperature?")
    assert "kelpwatch.md" in texts(app)
    page = texts(app, raw=True)
    assert "<script>" not in page and "<b>" not in page  # escaped: \<script\>
    assert "![" not in page and "](http" not in page  # no images or links from document text
    assert "\\<script\\>" in page or "\\<b\\>" in page


def test_filters_restrict_the_search(app):
    app.sidebar.selectbox(key="f_client").set_value("Prairie Growers Cooperative").run()
    ask(app, "Have we built an online permit system for boat moorings?")
    assert any("No record" in w.value for w in app.warning)
    assert "Filtered: client Prairie Growers Cooperative" in texts(app)


def test_feedback_is_saved_and_new_conversation_clears(app, library):
    ask(app, "Have we built an online permit system for boat moorings?")
    app.feedback[0].set_value(0).run()
    app.text_input(key=f"fb-comment-{app.session_state['conversation']}-0").set_value("wrong client")
    app.form_submit_button[0].click().run()
    assert not app.exception, app.exception
    assert "Thanks — your feedback was saved." in texts(app)
    path = library.settings.state_dir / "feedback.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert rows[-1]["rating"] == "down" and rows[-1]["comment"] == "wrong client"
    assert rows[-1]["citations"] == ["harbor-permits.md"] and rows[-1]["abstained"] is False

    app.sidebar.button[0].click().run()  # New conversation
    assert app.session_state["turns"] == []
    assert len(app.chat_message) == 0


def test_chat_links_projects_people_and_offers_briefs(app):
    from assistant.brief import brief_markdown

    ask(app, "Have we built an online permit system for boat moorings?")
    labels = [b.label for b in app.download_button]
    assert "Capability brief (Markdown)" in labels and "Capability brief (DOCX)" in labels
    links = {(link.proto.page, link.proto.query_string) for link in app.get("page_link")}
    assert ("projects", "project=harborpass") in links  # the matched project, opened on the Projects page
    assert ("people", "person=Anika+Solberg") in links
    answer = app.session_state["turns"][0].answer
    assert "HarborPass" in brief_markdown(answer) and "harbor-permits.md" in brief_markdown(answer)

    ask(app, "Have we built a hospital operating-room scheduling system?")  # no record: no brief for it
    assert sum(b.label == "Capability brief (DOCX)" for b in app.download_button) == 1


# -- projects and people ----------------------------------------------------------------------------
HARBOR_UPDATE = """---
title: "[HarborPass] Weekly status: card payments live"
client: Port of Wexley Harbor Authority
project: HarborPass
date: 2022-08-01
people: [Tomas Reyes, Mara Lindgren]
doc_type: status_update
---
# HarborPass weekly status

Card payments for mooring permit fees went live this week.
"""


def test_projects_page_cards_filters_and_timeline(app, library, tmp_path):
    update = tmp_path / "a-harbor-status.md"  # sorts before harbor-permits.md by name, after it by date
    update.write_text(HARBOR_UPDATE, encoding="utf-8")
    library.ingestor().ingest_paths([update])
    try:
        app.switch_page("views/projects.py").run()
        assert not app.exception, app.exception
        page = texts(app)
        for name in ("HarborPass", "GrainCast", "ShelfHelp", "KelpWatch"):
            assert f"**{name}**" in page
        assert "Port of Wexley Harbor Authority · 2022-05 – 2022-08 · 2 documents" in page  # client, period, count
        assert "<script>" not in texts(app, raw=True) and "<b>" not in texts(app, raw=True)

        app.selectbox(key="pj_client").set_value("Prairie Growers Cooperative").run()
        page = texts(app)
        assert "**GrainCast**" in page and "**HarborPass**" not in page and "**1 project** of 4" in page
        app.selectbox(key="pj_client").set_value("All clients").run()
        app.text_input(key="pj_query").set_value("library catalogue").run()
        assert "**ShelfHelp**" in texts(app) and "**GrainCast**" not in texts(app)
        app.text_input(key="pj_query").set_value("").run()
        assert len(app.dataframe) == 0  # no project chosen yet: no timeline

        app.selectbox(key="pj_selected").set_value("harborpass").run()
        assert not app.exception, app.exception
        timeline = app.dataframe[0].value
        assert list(timeline["source"]) == ["harbor-permits.md", "a-harbor-status.md"]  # oldest first
        assert list(timeline["date"]) == ["2022-05-10", "2022-08-01"]
        assert list(timeline["type"]) == ["case study", "status update"]
        assert app.query_params.get("project") in ("harborpass", ["harborpass"])  # the URL names the project
        people = {(link.proto.page, link.proto.query_string) for link in app.get("page_link")}
        assert ("people", "person=Mara+Lindgren") in people
    finally:
        doc = library.store.document_by_source("a-harbor-status.md")
        if doc:
            library.ingestor().delete(doc.id)


def test_projects_page_opens_the_project_in_the_link(library):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.query_params["project"] = "graincast"
    at.switch_page("views/projects.py").run()
    assert not at.exception, at.exception
    assert at.session_state["pj_selected"] == "graincast"
    assert list(at.dataframe[0].value["source"]) == ["grain-forecast.md"]
    assert any(s.value == "GrainCast" for s in at.subheader)

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.query_params["project"] = "no-such-project"
    at.switch_page("views/projects.py").run()
    assert not at.exception, at.exception
    assert any("There is no project" in w.value for w in at.warning) and len(at.dataframe) == 0


def test_people_page_lists_who_worked_on_what(app):
    app.switch_page("views/people.py").run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    row = table[table["person"] == "Anika Solberg"]
    assert len(row) == 1 and row["worked on"].iloc[0] == "HarborPass (2022-05)"
    assert row["clients"].iloc[0] == "Port of Wexley Harbor Authority"
    assert {"Lucia Fernandez", "Omar Haddad", "Grace Okafor", "Ivo Marsh"} <= set(table["person"])

    app.text_input(key="pe_query").set_value("yield").run()  # a project's words find its people
    assert set(app.dataframe[0].value["person"]) == {"Lucia Fernandez", "Omar Haddad"}

    app.selectbox(key="pe_selected").set_value("Omar Haddad").run()
    assert not app.exception, app.exception
    assert any(s.value == "Omar Haddad" for s in app.subheader)
    links = {(link.proto.page, link.proto.query_string, shown(link.proto.label)) for link in app.get("page_link")}
    assert ("projects", "project=graincast", "GrainCast") in links
    assert "Prairie Growers Cooperative · 2021-09" in texts(app)


def test_people_page_opens_the_person_in_the_link(library):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.query_params["person"] = "Grace Okafor"
    at.switch_page("views/people.py").run()
    assert not at.exception, at.exception
    assert at.session_state["pe_selected"] == "Grace Okafor"
    assert "Eastvale Public Library · 2023-03" in texts(at)


# -- library ----------------------------------------------------------------------------------------
def test_library_lists_searches_uploads_and_deletes(app, library):
    app.switch_page("views/library.py").run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert set(DOCS) <= set(table["source"])

    app.text_input(key="lib_query").set_value("grain").run()
    assert list(app.dataframe[0].value["source"]) == ["grain-forecast.md"]
    app.text_input(key="lib_query").set_value("").run()

    body = (b"# OrbitTrack\n\nWe designed OrbitTrack, a satellite tracking dashboard for the Lunaris Space Agency. "
            b"It shows orbital debris warnings to mission controllers.\n")
    app.file_uploader[0].set_value([("orbit track.md", body, "text/markdown"),
                                    ("broken.pdf", b"%PDF-1.4 not really a pdf", "application/pdf")]).run()
    assert not app.exception, app.exception
    assert any("orbit_track.md" in shown(s.value) and "added" in s.value for s in app.success)
    assert any("broken.pdf" in shown(e.value) and "failed" in e.value for e in app.error)  # the reason, in red
    table = app.dataframe[0].value
    assert "upload:orbit_track.md" in set(table["source"])  # uploads are namespaced: never a folder file's name
    assert table.loc[table["source"] == "upload:broken.pdf", "status"].tolist() == ["failed"]

    doc = library.store.document_by_source("upload:orbit_track.md")
    app.selectbox(key="lib_doc").set_value(doc.id).run()
    app.button(key=f"delete-{doc.id}").click().run()
    app.button(key=f"yes-delete-{doc.id}").click().run()
    assert not app.exception, app.exception
    assert library.store.document_by_source("upload:orbit_track.md") is None
    assert "upload:orbit_track.md" not in set(app.dataframe[0].value["source"])


def test_library_reingest(app, library):
    app.switch_page("views/library.py").run()
    doc = library.store.document_by_source("shelfhelp-status.md")
    app.selectbox(key="lib_doc").set_value(doc.id).run()
    app.button(key=f"reingest-{doc.id}").click().run()
    assert not app.exception, app.exception
    assert any("shelfhelp-status.md" in shown(s.value) and "updated" in s.value for s in app.success)
    again = library.store.document(doc.id)
    assert again.original and Path(again.original).is_file(), "the original stays downloadable after a re-ingest"


# -- status and evaluation --------------------------------------------------------------------------
def test_status_page(app):
    app.switch_page("views/status.py").run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Documents"] == str(len(DOCS)) and metrics["Store"] == "reachable"
    assert "answers are extractive" in texts(app)


def test_evaluation_runs_and_compares(app, library, tmp_path, monkeypatch):
    from ui import state

    ds_dir = tmp_path / "datasets"
    ds_dir.mkdir()
    rows = [{"id": "a1", "question": "Have we built an online permit system for boat moorings?", "kind": "direct",
             "history": [], "relevant_files": ["harbor-permits.md"], "reference_answer": "HarborPass",
             "must_mention": ["HarborPass"], "corpus": "tests"},
            {"id": "a2", "question": "Have we built a hospital operating-room scheduling system?", "kind": "none",
             "history": [], "relevant_files": [], "reference_answer": "No record", "must_mention": ["no record"],
             "corpus": "tests"}]
    (ds_dir / "tiny.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    monkeypatch.setattr(state, "DATASETS_DIR", ds_dir)
    monkeypatch.chdir(tmp_path)  # runs/ is relative to where the app runs

    app.switch_page("views/evaluation.py").run()
    assert not app.exception, app.exception
    assert "No evaluation runs yet" in texts(app)
    for _ in range(2):
        app.button(key="ev_run").click().run()
        assert not app.exception, app.exception
    reports = sorted((tmp_path / "runs").glob("eval-*/report.json"))
    assert len(reports) == 2
    metrics = {m.label: m.value for m in app.metric}
    assert float(metrics["Pass rate"]) == 1.0, metrics
    table = next(d.value for d in app.dataframe if "question" in getattr(d.value, "columns", []))
    assert list(table["verdict"]) == ["Yes", "No record"] and table["pass"].all()
    assert "harbor-permits.md" in table["cited"].iloc[0]
    cmp = app.dataframe[-1].value
    assert "pass_rate" in set(cmp["metric"]) and (cmp.loc[cmp["metric"] == "pass_rate", "B − A"] == 0).all()
    assert not app.warning or all("Session State" not in w.value for w in app.warning)
    assert len(app.get("vega_lite_chart")) == 2  # scores and latency over the two runs


# -- failure modes ----------------------------------------------------------------------------------
def test_llm_down_shows_banner_and_extractive_answer(library):
    port = _free_port()  # nothing listens here
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    _use({"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "OPENAI_API_KEY": "test", "PRECEDENT_LLM_RETRIES": "0",
          "PRECEDENT_LLM_TIMEOUT": "3"})
    try:
        eng = core.Engine(settings=get_settings(), embeddings=library.embeddings, store=library.store)
        core._engine = eng
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception
        assert any("not reachable" in w.value for w in at.warning)  # the page-level banner
        ask(at, "Have we built an online permit system for boat moorings?")
        page = texts(at)
        assert "Yes —" in page and "harbor-permits.md" in page  # still answered, extractively
        assert any("language model is unavailable" in w.value for w in at.warning)  # answer.notice
    finally:
        _use(saved, library)


def test_store_unavailable_is_a_clear_message(library):
    port = _free_port()
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    _use({"PRECEDENT_CHROMA_URL": f"http://127.0.0.1:{port}"})
    try:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception  # no stack trace
        assert any("document store is unavailable" in e.value for e in at.error)
        assert any("Chroma server" in i.value for i in at.info)
        assert len(at.chat_input) == 0
    finally:
        _use(saved, library)


def test_empty_store_offers_onboarding(library, tmp_path, monkeypatch):
    from ui import state

    sample = tmp_path / "sample"
    sample.mkdir()
    (sample / "harbor-permits.md").write_text(DOCS["harbor-permits.md"])
    monkeypatch.setattr(state, "SAMPLE_DIR", sample)
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    _use({"PRECEDENT_DATA_DIR": str(tmp_path / "empty")})
    try:
        core._engine = core.Engine(settings=get_settings(), embeddings=library.embeddings)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception
        assert "The library is empty" in texts(at)
        assert len(at.chat_input) == 0
        at.button(key="chat_sample").click().run()
        assert not at.exception, at.exception
        assert len(at.chat_input) == 1  # ready for questions
        ask(at, "Have we built an online permit system for boat moorings?")
        assert "Yes —" in texts(at)
    finally:
        _use(saved, library)


def test_local_sign_in_and_access_groups(library, tmp_path):
    """With local accounts a member signs in, sees only documents of their groups, and cannot manage the library."""
    from assistant.access import User, save_user

    secret = tmp_path / "ledger.md"
    secret.write_text("# LedgerLight\n\nLedgerLight is a confidential payroll reconciliation tool we built for "
                      "Quarry Bank finance staff to reconcile payroll ledgers every month.\n")
    library.ingestor().ingest_paths([secret], groups=["finance"])
    question = "Have we built a payroll reconciliation tool for a bank?"
    assert "ledger.md" in [c.source for c in library.ask(question).citations]  # visible without restrictions
    saved = {k: os.environ.get(k) for k in ENV_KEYS + ("PRECEDENT_AUTH",)}
    _use({"PRECEDENT_AUTH": "local"})
    try:
        save_user(User(username="bob", name="Bob", role="member", groups=["everyone"]), "hunter2")
        core._engine = core.Engine(settings=get_settings(), embeddings=library.embeddings, store=library.store)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception
        assert len(at.chat_input) == 0 and "Sign in" in texts(at)
        at.text_input[0].set_value("bob")
        at.text_input[1].set_value("wrong")
        at.form_submit_button[0].click().run()
        assert any("Wrong user name or password" in e.value for e in at.error)
        at.text_input[0].set_value("bob")
        at.text_input[1].set_value("hunter2")
        at.form_submit_button[0].click().run()
        assert not at.exception, at.exception
        assert "Signed in as Bob" in texts(at)
        ask(at, question)
        assert "ledger.md" not in texts(at)  # a finance document, not for this member
        at.switch_page("views/library.py").run()
        assert len(at.file_uploader) == 0 and "ledger.md" not in set(at.dataframe[0].value["source"])
        assert not any(b.label == "Delete" for b in at.button)
        for page in ("views/projects.py", "views/people.py"):  # no project or person from finance documents
            at.switch_page(page).run()
            assert not at.exception, at.exception
            assert "LedgerLight" not in texts(at) and "ledger.md" not in texts(at)
        at.switch_page("views/evaluation.py").run()
        assert "Evaluation is for administrators." in texts(at)
    finally:
        doc = library.store.document_by_source("ledger.md")
        if doc:
            library.ingestor().delete(doc.id)
        _use(saved, library)


def test_evaluation_page_runs_as_the_signed_in_admin(library, tmp_path, monkeypatch):
    """An admin of `everyone` only runs an evaluation: no source of another group in what the page shows,
    and runs made without that restriction are not listed to them."""
    from assistant.access import User, save_user
    from ui import state as ui_state

    secret = tmp_path / "ledger.md"
    secret.write_text("# LedgerLight\n\nLedgerLight is a confidential payroll reconciliation tool we built for "
                      "Quarry Bank finance staff to reconcile payroll ledgers every month.\n")
    library.ingestor().ingest_paths([secret], groups=["finance"])
    datasets = tmp_path / "datasets"
    datasets.mkdir()
    (datasets / "payroll.jsonl").write_text(json.dumps(
        {"id": "p1", "question": "Have we built a payroll reconciliation tool for a bank?", "kind": "direct",
         "relevant_files": ["ledger.md"], "must_mention": ["LedgerLight"], "corpus": str(tmp_path)}) + "\n")
    monkeypatch.setattr(ui_state, "DATASETS_DIR", datasets)
    monkeypatch.chdir(tmp_path)  # the page keeps its runs under ./runs
    saved = {k: os.environ.get(k) for k in ENV_KEYS + ("PRECEDENT_AUTH",)}
    _use({"PRECEDENT_AUTH": "local"})
    try:
        save_user(User(username="ann", name="Ann", role="admin", groups=["everyone"]), "pw-ann")
        core._engine = core.Engine(settings=get_settings(), embeddings=library.embeddings, store=library.store)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        at.text_input[0].set_value("ann")
        at.text_input[1].set_value("pw-ann")
        at.form_submit_button[0].click().run()
        assert not at.exception, at.exception
        at.switch_page("views/evaluation.py").run()
        assert not at.exception, at.exception
        at.button(key="ev_run").click().run()
        assert not at.exception, at.exception
        page = texts(at) + "\n".join(df.value.to_csv() for df in at.dataframe)
        assert "ledger.md" not in page and "LedgerLight" not in page and "Quarry" not in page
        report = json.loads(next((tmp_path / "runs").glob("eval-*/report.json")).read_text())
        assert report["groups"] == ["everyone"]
        answers = (next((tmp_path / "runs").glob("eval-*/answers.jsonl"))).read_text()
        assert "ledger.md" not in answers.replace('"relevant_files": ["ledger.md"]', "")
    finally:
        doc = library.store.document_by_source("ledger.md")
        if doc:
            library.ingestor().delete(doc.id)
        _use(saved, library)
