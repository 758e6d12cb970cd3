"""What's new: the digest of a period as the signed-in person may see it, and the same digest to download."""

from __future__ import annotations

import streamlit as st

from assistant import digest as dg
from assistant.gaps import since_days
from assistant.viewer import Viewer
from ui import awareness, state
from ui import components as ui

engine = state.engine_or_stop()
user = state.current_user()
viewer = Viewer.from_user(user)

PERIODS = {"Last 7 days": 7, "Last 30 days": 30, "Last 90 days": 90, "Last year": 365}

st.title("What's new")
awareness.render_answered(engine, viewer, key="wn")
period = st.segmented_control("Period", list(PERIODS), default="Last 7 days", key="wn_period") or "Last 7 days"
d = dg.build(engine, viewer, since_days(PERIODS[period]))

c1, c2, c3, c4 = st.columns(4)
c1.metric("Projects with news", len(d.projects))
c2.metric("Updates", d.updates)
c3.metric("People involved", len(d.people))
c4.metric("Questions with no record", sum(c.count for c in d.gaps))

row = st.container(horizontal=True, gap="small")
row.download_button("Digest (HTML e-mail)", data=dg.to_html(d), file_name="whats-new.html", mime="text/html",
                    on_click="ignore", icon=":material/mail:", key="wn_html")
row.download_button("Digest (Markdown)", data=dg.to_markdown(d), file_name="whats-new.md", mime="text/markdown",
                    on_click="ignore", icon=":material/download:", key="wn_md")
row.page_link("views/add_update.py", label="Add an update", icon=":material/add:")

st.subheader("New and updated projects", anchor=False)
if not d.projects:
    st.info("Nothing new in this period.", icon=":material/inbox:")
for p in d.projects:
    with st.container(border=True):
        badge = ":green-badge[new]" if p.status == "new" else ":blue-badge[updated]"
        st.markdown(f"**{ui.md_escape(p.name)}** {badge}" + (f" — {ui.md_escape(p.client)}" if p.client else ""))
        for e in p.entries:
            kind = "Update" if e.is_update else e.doc_type.replace("_", " ").capitalize()
            head = f"**{ui.md_escape(e.title)}** — " if e.title else ""
            st.markdown(f"- {ui.md_escape(e.date or 'undated')} · {ui.md_escape(kind)}: {head}"
                        f"{ui.md_escape(e.summary)} :blue-badge[{e.n}]")
        if p.people:
            st.caption(f":material/group: {ui.md_escape(', '.join(p.people))}")
        st.page_link(ui.PROJECTS_PAGE, label="Timeline", icon=":material/timeline:", query_params={"project": p.key})

st.subheader("People involved", anchor=False)
st.markdown(ui.md_escape(", ".join(d.people)) if d.people else "Nobody named in this period.")

st.subheader("Questions that found no record", anchor=False)
if not d.gaps:
    st.caption("None this period.")
for c in d.gaps:
    if not c.visible:
        continue
    who = ", ".join(e.name for e in c.who_might_know[:5])
    state_ = "answered since" if c.status == "answered" else "open"
    st.markdown(f"- *{ui.md_escape(c.questions[0])}* — asked {c.count}× by {c.askers}, last on "
                f"{c.last_asked:%Y-%m-%d} ({state_})" + (f". Who might know: {ui.md_escape(who)}" if who else ""))
if d.hidden_questions:
    st.caption(f"{d.hidden_questions} more question(s) from others found no record; their text is shown to admins "
               "and the askers only.")
if d.gaps:
    st.page_link("views/gaps.py", label="All knowledge gaps", icon=":material/live_help:")

if d.sources:
    with st.expander(f"Sources ({len(d.sources)})"):
        for s in d.sources:
            st.caption(f"[{s.n}] {ui.md_escape(s.title)} — {ui.md_escape(s.source)}"
                       + (f", {ui.md_escape(s.date)}" if s.date else ""))
