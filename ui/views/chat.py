"""Chat: ask "have we done work like this?", get a verdict, the matching projects and their sources."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from assistant.models import Answer, Citation, Turn
from assistant.settings import get_settings
from assistant.viewer import LOCAL, Viewer
from ui import awareness
from ui import components as ui
from ui import state

engine = state.engine_or_stop()
user = state.current_user()
groups = state.user_groups(user)
settings = get_settings()

st.title("Have we done work like this?")
asker = state.user_name(user) or LOCAL
awareness.render_answered(engine, Viewer.from_user(user), key="chat")

# -- sidebar: conversation and filters ----------------------------------------------------------------
docs = engine.store.documents(groups=groups)
with st.sidebar:
    if st.button("New conversation", icon=":material/add_comment:", width="stretch"):
        state.new_conversation()
        st.rerun()
    st.subheader("Filters")
    clients = sorted({d.client for d in docs if d.client})
    client = st.selectbox("Client", ["All clients", *clients], key="f_client")
    types = sorted({d.doc_type for d in docs if d.doc_type})
    doc_type = st.selectbox("Document type", ["All types", *types], key="f_type")
    years_known = sorted({int(d.date[:4]) for d in docs if d.date and d.date[:4].isdigit()})
    years = None
    if len(years_known) > 1:
        lo, hi = years_known[0], years_known[-1]
        picked = st.slider("Years", min_value=lo, max_value=hi, value=(lo, hi), key="f_years")
        if tuple(picked) != (lo, hi):
            years = (int(picked[0]), int(picked[1]))
            st.caption("Undated documents are left out while a year range is set.")
    filters = state.build_filters(None if client == "All clients" else client, years,
                                  None if doc_type == "All types" else doc_type, groups)


@st.cache_data(ttl=60, show_spinner=False)
def _llm_reachable(base_url: str | None, model: str) -> tuple[bool, str]:
    return engine.llm.ping() if engine.llm is not None else (True, "")


if settings.llm_enabled:
    ok, detail = _llm_reachable(settings.openai_base_url, settings.llm_model)
    if not ok:
        st.warning("The language model is not reachable right now, so answers are **extractive**: quoted "
                   f"straight from the documents, still cited. ({ui.md_escape(detail)})", icon=":material/warning:")

if not docs:
    if state.is_admin(user) and (groups is None or not engine.store.documents()):
        ui.onboarding(engine, state.SAMPLE_DIR, key="chat_sample")
        if st.session_state.get("ingest_results"):
            ui.render_ingest_results(st.session_state.pop("ingest_results"))
    else:
        st.info("There are no documents you may read yet. Ask an administrator for access.")
    st.stop()

if not filters.is_empty():
    active = [f"client {client}" if filters.client else "", f"type {doc_type}" if filters.doc_type else "",
              f"years {years[0]}–{years[1]}" if years else ""]
    st.caption("Filtered: " + ui.md_escape(", ".join(a for a in active if a)))


# -- answers ------------------------------------------------------------------------------------------
def _original(c: Citation) -> Path | None:
    """The stored copy of a cited document's file, when there is one (and it lives where copies live)."""
    # The record as it is now: an answer given before a document's groups narrowed offers no download.
    doc = engine.store.committed([c.document_id], groups).get(c.document_id) if c.document_id else None
    if not doc or not doc.original:
        return None
    p = Path(doc.original)
    try:
        p.resolve().relative_to(settings.originals_dir.resolve())
    except ValueError:
        return None
    return p if p.is_file() else None


def _feedback(turn: Turn, index: int, key: str) -> None:
    sent_key = f"sent-{key}"
    if st.session_state.get(sent_key):
        st.caption("Thanks — your feedback was saved.")
        return
    rating = st.feedback("thumbs", key=f"fb-{key}")
    if rating is None:
        return
    with st.form(f"fb-form-{key}", border=False):
        comment = st.text_input("Comment (optional)", key=f"fb-comment-{key}",
                                placeholder="What was wrong or missing?" if rating == 0 else "What was useful?")
        if st.form_submit_button("Send feedback"):
            _save_feedback(turn, index, "up" if rating == 1 else "down", comment)
            st.session_state[sent_key] = True
            st.rerun()


def _save_feedback(turn: Turn, index: int, rating: str, comment: str) -> None:
    a = turn.answer
    row = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S"), "question": turn.question,
           "history": [t.question for t in state.turns()[:index]],
           "answer": a.answer if a else "", "abstained": bool(a and a.abstained),
           "citations": [c.source for c in (a.citations if a else [])],
           "rating": rating, "comment": comment.strip(), "user": state.user_name(user)}
    try:
        from evals.feedback import record_feedback

        record_feedback(settings, row)
        if rating == "down" and a is not None:  # a 👎 with a comment is a gap, whatever the verdict
            from assistant.gaps import log_feedback

            log_feedback(engine, a, comment, asker, groups)
    except Exception as e:
        st.error(f"Could not save the feedback: {ui.md_escape(type(e).__name__ + ': ' + str(e))}")
        st.stop()


def render_answer(turn: Turn, index: int, body: bool = True) -> None:
    """Everything under an answer: verdict, text, notice, projects, sources, links, briefs, feedback, copy."""
    a = turn.answer
    if a is None:
        return
    key = f"{state.conversation_id()}-{index}"
    if body:
        ui.render_verdict(a)
        st.markdown(ui.answer_markdown(a.answer))
    ui.render_notice(a)
    ui.render_projects(a.projects, related=a.verdict == "related")
    ui.render_projects(a.also, also=True)
    ui.render_projects(a.closest, closest=True)
    ui.render_citations(a.citations, a.standalone_question or turn.question, key, _original)
    if a.projects and not a.abstained:
        projects = engine.projects(groups)
        ui.render_answer_links(a, {pm.name: ui.project_key(projects, pm) for pm in a.projects})
        ui.render_brief_downloads(a, key)
    c1, c2 = st.columns([1, 3])
    with c1:
        _feedback(turn, index, key)
    with c2:
        with st.expander("Copy answer as Markdown"):
            st.code(a.to_markdown(), language="markdown")


def ask(question: str, history: list[Turn]) -> Answer | None:
    """Stream the answer's text, then show the verdict above it; returns the final Answer."""
    verdict = st.empty()
    text = st.empty()
    final: list[Answer] = []

    def pieces():
        for ev in engine.ask_stream(question, history=history, filters=filters, asker=asker):
            if isinstance(ev, Answer):
                final.append(ev)
            else:
                yield ev

    try:
        with text.container():
            st.write_stream(ui.stream_markdown(pieces()))
    except Exception as e:
        text.error(f"Something went wrong while answering: {ui.md_escape(type(e).__name__ + ': ' + str(e))}")
        return None
    if not final:
        return None
    a = final[0]
    with verdict.container():
        ui.render_verdict(a)
    text.markdown(ui.answer_markdown(a.answer))
    return a


turns = state.turns()
for i, turn in enumerate(turns):
    with st.chat_message("user"):
        st.markdown(ui.md_escape(turn.question))
    with st.chat_message("assistant"):
        render_answer(turn, i)

if not turns:
    st.caption(f"Searching {len(docs)} documents. Ask in plain words — for example *Have we built an online "
               "permit system for a city?* — then follow up with *Who worked on that one?*")

question = st.chat_input("Have we done work like this? Ask about past projects, clients or people…")
if question:
    with st.chat_message("user"):
        st.markdown(ui.md_escape(question))
    with st.chat_message("assistant"):
        answer = ask(question, list(turns))
        if answer is not None:
            turn = Turn(question=question, answer=answer)
            render_answer(turn, len(turns), body=False)
            turns.append(turn)
