"""Precedent's web app: `streamlit run ui/app.py` (or `make run`).

Nine pages: Chat (ask, with cited answers), Library (upload and manage documents), Projects (every
project with its timeline), People (who worked on what), What's new (the digest), Add an update,
Gaps (questions with no record, and who might know), Evaluation (run datasets, read and compare
results) and Status (backends and counts). All logic lives in assistant/, ingest/ and evals/; the
pages only call them and render.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run ui/app.py` puts ui/ on the path, not the repository
    sys.path.insert(0, str(ROOT))

import assistant  # noqa: E402,F401  (sets the offline environment before anything else loads)
import streamlit as st  # noqa: E402

st.set_page_config(page_title="Precedent", page_icon="📚", layout="wide", initial_sidebar_state="expanded")

page = st.navigation([
    st.Page("views/chat.py", title="Chat", icon=":material/forum:", default=True),
    st.Page("views/library.py", title="Library", icon=":material/folder_open:"),
    st.Page("views/projects.py", title="Projects", icon=":material/work:"),
    st.Page("views/people.py", title="People", icon=":material/group:"),
    st.Page("views/whats_new.py", title="What's new", icon=":material/newspaper:"),
    st.Page("views/add_update.py", title="Add an update", icon=":material/post_add:"),
    st.Page("views/gaps.py", title="Gaps", icon=":material/live_help:"),
    st.Page("views/evaluation.py", title="Evaluation", icon=":material/analytics:"),
    st.Page("views/status.py", title="Status", icon=":material/monitor_heart:"),
])
with st.sidebar:
    st.caption("**Precedent** — have we done work like this? Answers from our own project documents, with sources.")
page.run()
