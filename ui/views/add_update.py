"""Add an update: what happened on a project, in a few fields; searchable and on the project's timeline at once."""

from __future__ import annotations

import datetime as dt

import streamlit as st
from pydantic import ValidationError

from assistant import updates
from assistant.projects import norm
from ui import components as ui
from ui import state

engine = state.engine_or_stop()
user = state.current_user()
groups = state.user_groups(user)

NEW = "New project…"

st.title("Add an update")
st.caption("Tell everyone what happened on a project: it is searchable in the chat within seconds, shows on the "
           "project's timeline and goes out in the next What's new digest.")

index = engine.projects(groups)
cards = index.cards(groups)
names = sorted({c.name for c in cards}, key=str.lower)
known_tags = sorted({t for c in cards for t in c.tags}, key=str.lower)
known_people = sorted({p for c in cards for p in c.people}, key=str.lower)

with st.form("add_update", clear_on_submit=True):
    c1, c2 = st.columns([2, 1])
    project = c1.selectbox("Project", [*names, NEW], index=None, placeholder="Choose a project, or a new one",
                           key="up_project")
    when = c2.date_input("Date", value=dt.date.today(), key="up_date")
    new_name = st.text_input("New project's name", key="up_new", placeholder="Only for a new project")
    text = st.text_area("What happened", key="up_text", height=120,
                        placeholder="We launched the berth waiting list; 40 boat owners joined in the first week.")
    outcome = st.text_area("Outcome", key="up_outcome", height=80, placeholder="Optional: the result, in numbers")
    c3, c4 = st.columns(2)
    tech = c3.multiselect("Technologies", known_tags, accept_new_options=True, key="up_tech",
                          placeholder="Pick or type")
    people = c4.multiselect("People", known_people, accept_new_options=True, key="up_people",
                            placeholder="Pick or type")
    author, visible = None, None
    if user is None:
        author = st.text_input("Written by", key="up_author", placeholder="Optional: your name") or None
    else:
        own = sorted(set(user.groups))
        visible = st.multiselect("Visible to", own, default=own, key="up_groups",
                                 help="Your groups; an update can be narrowed to some of them, never widened.")
    submitted = st.form_submit_button("Add the update", type="primary", icon=":material/add:")

if submitted:
    name = (new_name or "").strip() if project == NEW else (project or "").strip()
    problem = None
    if not name:
        problem = "**Project**: choose a project, or choose *New project…* and type its name."
    elif user is not None and not visible:
        problem = "**Visible to**: choose at least one of your groups."
    if problem:
        st.error(problem, icon=":material/error:")
        st.stop()
    try:
        u = updates.Update(project=name, text=text, outcome=outcome, technologies=tech, people=people, date=when,
                           author=user.username if user is not None else author, groups=visible)
        with st.spinner("Adding the update…"):
            report = updates.add(engine, [u])
    except ValidationError as e:
        err = e.errors()[0]
        label = {"text": "What happened", "project": "Project", "outcome": "Outcome"}.get(str(err["loc"][0]),
                                                                                         str(err["loc"][0]))
        st.error(f"**{label}**: {ui.md_escape(err['msg'])}", icon=":material/error:")
        st.stop()
    except updates.UpdateError as e:
        st.error(ui.md_escape(str(e)), icon=":material/error:")
        st.stop()
    if report.failed:
        st.error(f"The update could not be added: {ui.md_escape(report.failed[0].error)}", icon=":material/error:")
        st.stop()
    source = report.results[0]["source"] if report.results else ""
    st.success(f"Added the update to **{ui.md_escape(name)}** ({ui.md_code(source)}).", icon=":material/check_circle:")
    if report.answered_gaps:
        st.info(f"{report.answered_gaps} open question(s) now have an answer.", icon=":material/mark_chat_read:")
    key = norm(name)
    if key in engine.projects(groups).members:
        st.page_link(ui.PROJECTS_PAGE, label=f"Open {name}'s timeline", icon=":material/timeline:",
                     query_params={"project": key})
    st.page_link("views/whats_new.py", label="See What's new", icon=":material/newspaper:")
