"""Gaps: the questions we could not answer, clustered and ranked, with who might know and "Ask them"."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assistant import gaps
from assistant.viewer import Viewer
from ui import awareness, state
from ui import components as ui

engine = state.engine_or_stop()
user = state.current_user()
viewer = Viewer.from_user(user)

st.title("Knowledge gaps")
st.caption("Questions that found no record (or only related work), and thumbs-down feedback with a comment. Similar questions are "
           "grouped; the most asked and most recent come first. New documents and updates answer them: every "
           "ingest asks them again.")
awareness.render_answered(engine, viewer, key="gp")

found = gaps.clusters(engine, viewer, status="open")
shown = [c for c in found if c.visible]
hidden = [c for c in found if not c.visible]
c1, c2, c3 = st.columns(3)
c1.metric("Open gaps", len(found))
c2.metric("Times asked", sum(c.count for c in found))
c3.metric("People asking", len({g.asker for g in gaps.GapLog(engine.settings).gaps("open")}))

if not found:
    st.info("No open knowledge gaps: every question asked so far found a record.", icon=":material/task_alt:")


def _ask_them(c: gaps.GapCluster) -> None:
    names = [e.name for e in c.who_might_know]
    with st.form(f"ask-{c.id}", border=False):
        people = st.multiselect("Ask them", names, default=names[:3], accept_new_options=True, key=f"ask-people-{c.id}",
                                placeholder="Pick or type people to ask")
        if st.form_submit_button("Ask them", icon=":material/forward_to_inbox:"):
            try:
                r = gaps.request(engine, viewer, c.id, people)
            except (ValueError, PermissionError) as e:
                st.error(ui.md_escape(str(e)), icon=":material/error:")
                return
            msg = f"Request recorded: asked {ui.md_escape(', '.join(r.people))}."
            if r.emailed:
                msg += f" E-mailed {ui.md_escape(', '.join(r.emailed))}."
            st.success(msg, icon=":material/check_circle:")
            if r.not_emailed:
                st.caption(f"No e-mail address known for {ui.md_escape(', '.join(r.not_emailed))}.")
            if r.error:
                st.warning(ui.md_escape(r.error), icon=":material/warning:")


for c in shown:
    with st.container(border=True):
        st.markdown(f"**{ui.md_escape(c.questions[0])}**")
        st.caption(f"Asked {c.count}× by {c.askers} {'person' if c.askers == 1 else 'people'} · first "
                   f"{c.first_asked:%Y-%m-%d} · last {c.last_asked:%Y-%m-%d} · gap #{c.id}")
        for q in c.questions[1:]:
            st.markdown(f"- also asked: *{ui.md_escape(q)}*")
        for note in c.comments[:3]:
            st.markdown(f"- feedback: {ui.md_escape(note)}")
        if c.who_might_know:
            st.markdown("**Who might know**")
            for e in c.who_might_know:
                ev = e.evidence[0] if e.evidence else None
                line = f"- **{ui.md_escape(e.name)}** — {ui.md_escape(', '.join(e.projects))}"
                if ev:
                    line += f" · *{ui.md_escape(ev.title or ev.source)}* ({ui.md_escape(ev.source)})"
                st.markdown(line)
                if ev and ev.snippet:
                    st.caption(ui.md_escape(ui.shorten(ev.snippet, 200)))
        else:
            st.caption("No close project names anyone yet.")
        _ask_them(c)

if hidden:
    st.info(f"{sum(c.count for c in hidden)} more question(s) in {len(hidden)} gap(s) asked by others. Their text is "
            "shown to admins and the askers only.", icon=":material/visibility_off:")

answered = gaps.clusters(engine, viewer, status="answered")
if answered:
    st.subheader("Answered since they were asked", anchor=False)
    for c in answered:
        if c.visible:
            st.markdown(f"- *{ui.md_escape(c.questions[0])}* — asked {c.count}×, last {c.last_asked:%Y-%m-%d}")
    n = sum(c.count for c in answered if not c.visible)
    if n:
        st.caption(f"and {n} question(s) from others.")

mine, others = gaps.requests_for(engine, viewer)
if mine or others:
    st.subheader("Knowledge requests", anchor=False)
    if mine:
        st.dataframe(pd.DataFrame([{"when": f"{r.requested_at:%Y-%m-%d %H:%M}", "question": r.question,
                                    "asked": ", ".join(r.people), "by": r.requester,
                                    "e-mailed": ", ".join(r.emailed) or "—"} for r in mine]),
                     hide_index=True, width="stretch", key="gp_requests")
    if others:
        st.caption(f"and {others} request(s) by others.")
