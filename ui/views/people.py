"""People: who worked on what, from the people named in the project documents.

`?person=<name>` opens a person (the chat and Projects pages link here).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from assistant.projects import person_key
from ui import components as ui
from ui import state

engine = state.engine_or_stop()
user = state.current_user()
groups = state.user_groups(user)

st.title("People")

who = engine.projects(groups).people(groups)  # person -> their project cards, latest first
if not who:
    st.info("No people yet: they appear here once the library has documents that name who worked on a project.",
            icon=":material/group:")
    st.page_link("views/library.py", label="Add documents on the Library page", icon=":material/upload_file:")
    st.stop()

wanted = st.query_params.get("person")
if wanted and wanted != st.session_state.get("_pe_link"):
    st.session_state["_pe_link"] = wanted
    if wanted in who:
        st.session_state["pe_selected"] = wanted
        st.session_state["pe_query"] = ""  # so the linked person is not hidden by an earlier search
    else:
        st.warning(f"Nobody called {ui.md_code(wanted)} is named in the documents you may read.",
                   icon=":material/search_off:")

st.caption(f"{len(who)} {'person' if len(who) == 1 else 'people'} named in the project documents, "
           "with the projects they worked on.")


def _project_text(c) -> str:
    return c.name + (f" ({c.period})" if c.period else "")


query = st.text_input("Search", placeholder="a name, or a project, client or technology they worked on", key="pe_query")
q = query.strip().lower()


def _matches(name: str, cards) -> bool:
    if not q:
        return True
    hay = " ".join([name, *(f"{c.name} {c.client or ''} {c.summary} {' '.join(c.tags)}" for c in cards)]).lower()
    return all(w in hay for w in q.split())


shown = {name: cards for name, cards in who.items() if _matches(name, cards)}

# -- one person -------------------------------------------------------------------------------------
options = list(shown)
if st.session_state.get("pe_selected") not in options:
    st.session_state["pe_selected"] = None


def _remember() -> None:
    name = st.session_state.get("pe_selected")
    if name:
        st.query_params["person"] = name
        st.session_state["_pe_link"] = name
    else:
        st.query_params.pop("person", None)


chosen = st.selectbox("Person", options, key="pe_selected", on_change=_remember,
                      placeholder="Choose a person to see their projects")
if chosen:
    cards = who[chosen]
    with st.container(border=True):
        st.subheader(chosen, anchor=False)
        n = len(cards)
        st.caption(f"{n} project{'s' if n != 1 else ''}, latest first")
        for c in cards:
            row = st.container(horizontal=True, gap="small", vertical_alignment="center")
            row.page_link(ui.PROJECTS_PAGE, label=ui.md_escape(c.name), icon=":material/work:",
                          query_params={"project": c.key})
            t = next((t for t in c.team if person_key(t.name) == person_key(chosen)), None)
            meta = [ui.md_escape(t.role) if t and t.role else "", ui.md_escape(c.client) if c.client else "",
                    ui.md_escape(c.period) if c.period else ""]
            row.caption(" · ".join(m for m in meta if m) or "no client or dates in the documents")
            if t and t.evidence:  # the sentence that ties them to the project
                st.markdown(f"> {ui.md_escape(t.evidence)}  \n> — *{ui.md_escape(t.source)}*")

# -- everyone ---------------------------------------------------------------------------------------
if not shown:
    st.info("Nobody matches this search.", icon=":material/person_off:")
    st.stop()

rows = [{"person": name, "projects": len(cards), "worked on": "; ".join(_project_text(c) for c in cards),
         "latest": max((c.end or c.start or "" for c in cards), default="")[:7],
         "clients": "; ".join(dict.fromkeys(c.client for c in cards if c.client))}
        for name, cards in shown.items()]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="pe_table",
             column_config={"person": st.column_config.TextColumn("person", width="medium"),
                            "projects": st.column_config.NumberColumn("projects", width="small"),
                            "worked on": st.column_config.TextColumn("worked on", width="large"),
                            "latest": st.column_config.TextColumn("latest", width="small"),
                            "clients": st.column_config.TextColumn("clients", width="medium")})
st.caption(f"Showing {len(shown)} of {len(who)}.")
