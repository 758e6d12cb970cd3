"""Shared pieces of the awareness pages: the "your question now has an answer" notices."""

from __future__ import annotations

import streamlit as st

from assistant.viewer import Viewer
from ui import components as ui


def render_answered(engine, viewer: Viewer, key: str) -> None:
    """The viewer's questions that an ingest has since answered, each until they dismiss it."""
    from assistant.gaps import GapLog, answered_for

    for g in answered_for(engine, viewer):
        with st.container(border=True):
            st.success(f"Your question from {g.asked_at:%Y-%m-%d} now has an answer: "
                       f"*{ui.md_escape(g.question)}*", icon=":material/mark_chat_read:")
            with st.expander("Show the answer"):
                st.markdown(ui.answer_markdown(g.answer.text))
                for c in g.answer.citations:
                    st.caption(f"[{c.n}] {ui.md_escape(c.title or c.source)} — {ui.md_escape(c.source)}"
                               + (f", {ui.md_escape(c.date)}" if c.date else ""))
            if st.button("Dismiss", key=f"{key}-seen-{g.id}", icon=":material/done:"):
                GapLog(engine.settings).mark_seen([g.id], viewer.username)
                st.rerun()
