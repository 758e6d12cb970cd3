"""Projects: every project in the library as a card, filtered by client, tag or words; one project's timeline.

`?project=<key>` opens a project (the chat page links here from its answers).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import components as ui
from ui import state

engine = state.engine_or_stop()
user = state.current_user()
groups = state.user_groups(user)

PAGE_SIZE = 24
ALL_CLIENTS = "All clients"

st.title("Projects")

cards = engine.projects(groups).cards(groups)
if not cards:
    st.info("No projects yet: projects appear here once the library has documents.", icon=":material/folder_open:")
    st.page_link("views/library.py", label="Add documents on the Library page",
                 icon=":material/upload_file:")
    st.stop()
by_key = {c.key: c for c in cards}

# A link such as ?project=parkpass opens that project (once per link: choosing another one then works as usual).
wanted = st.query_params.get("project")
if wanted and wanted != st.session_state.get("_pj_link"):
    st.session_state["_pj_link"] = wanted
    if wanted in by_key:
        st.session_state["pj_selected"] = wanted
        for k, v in (("pj_query", ""), ("pj_client", ALL_CLIENTS), ("pj_tags", [])):
            st.session_state[k] = v  # so the linked project is not hidden by earlier filters
    else:
        st.warning(f"There is no project {ui.md_code(wanted)} among the documents you may read.",
                   icon=":material/search_off:")

clients = sorted({c.client for c in cards if c.client}, key=str.lower)
people = {p for c in cards for p in c.people}
st.caption(f"{len(cards)} project{'s' if len(cards) != 1 else ''} · "
           f"{len(clients)} client{'s' if len(clients) != 1 else ''} · "
           f"{len(people)} {'person' if len(people) == 1 else 'people'} — built from the documents' metadata.")

# -- filters ------------------------------------------------------------------------------------------
c1, c2, c3 = st.columns([2, 2, 3])
query = c1.text_input("Search", placeholder="name, summary, client or tag", key="pj_query")
client = c2.selectbox("Client", [ALL_CLIENTS, *clients], key="pj_client")
tag_count: dict[str, int] = {}
for c in cards:
    for t in c.tags:
        tag_count[t] = tag_count.get(t, 0) + 1
tags = c3.multiselect("Technology or tag", sorted(tag_count, key=lambda t: (-tag_count[t], t.lower())),
                      key="pj_tags", disabled=not tag_count,
                      placeholder="Any — pick one or more (all must apply)" if tag_count else "The documents carry no tags")


def _matches(c) -> bool:
    if client != ALL_CLIENTS and c.client != client:
        return False
    if tags and not set(tags) <= set(c.tags):
        return False
    q = query.strip().lower()
    if q:
        hay = " ".join([c.name, c.summary, c.client or "", *c.tags]).lower()
        return all(w in hay for w in q.split())
    return True


shown = [c for c in cards if _matches(c)]
filtered = len(shown) != len(cards)

# -- one project ------------------------------------------------------------------------------------
options = [c.key for c in shown]
if st.session_state.get("pj_selected") not in options:
    st.session_state["pj_selected"] = None


def _label(key: str) -> str:
    c = by_key[key]
    return c.name + (f" — {c.client}" if c.client and c.client.lower() not in c.name.lower() else "")


def _remember() -> None:
    key = st.session_state.get("pj_selected")
    if key:
        st.query_params["project"] = key
        st.session_state["_pj_link"] = key
    else:
        st.query_params.pop("project", None)


chosen = st.selectbox("Project", options, format_func=_label, key="pj_selected", on_change=_remember,
                      placeholder="Choose a project to see its timeline")
if chosen:
    card = engine.project_card(chosen, groups)
    with st.container(border=True):
        st.subheader(card.name, anchor=False)
        facts = [("Key names", ", ".join(card.known_as)), ("Client", card.client), ("Period", card.period),
                 ("Status", card.status),
                 ("Industry", card.industry), ("Technologies", ", ".join(card.technologies)),
                 ("Documents", str(len(card.documents)))]
        st.markdown("  \n".join(f"{k}: {ui.md_escape(v)}" for k, v in facts if v))
        if card.summary:
            st.markdown(ui.md_escape(card.summary))
        if card.tags:
            st.markdown(" ".join(f":gray-badge[{ui.md_escape(t)}]" for t in card.tags))
        if card.highlights:
            st.markdown("**Outcomes**")
            for h in card.highlights:
                loc = f", {h.location}" if h.location else ""
                st.markdown(f"- {ui.md_escape(h.snippet)} — *{ui.md_escape(h.source + loc)}*")
        if card.people:
            row = st.container(horizontal=True, gap="small", vertical_alignment="center")
            row.caption("People:", width="content")
            for t in card.team:
                label = f"{t.name} ({t.role})" if t.role else t.name
                row.page_link(ui.PEOPLE_PAGE, label=ui.md_escape(label), icon=":material/person:",
                              query_params={"person": t.name})
        st.markdown("**Timeline**")
        entries = sorted(card.timeline, key=lambda e: (e.date is None, e.date or "", e.source))
        st.dataframe(pd.DataFrame([{"date": e.date or "undated", "title": e.title, "type": e.doc_type.replace("_", " "),
                                    "source": e.source} for e in entries]),
                     hide_index=True, width="stretch", key="pj_timeline",
                     column_config={"date": st.column_config.TextColumn("date", width="small"),
                                    "title": st.column_config.TextColumn("title", width="large"),
                                    "type": st.column_config.TextColumn("type", width="small"),
                                    "source": st.column_config.TextColumn("source", width="medium")})

# -- the cards --------------------------------------------------------------------------------------
if not shown:
    st.info("No project matches these filters.", icon=":material/filter_alt_off:")
    st.stop()

limit = st.session_state.get("pj_limit", PAGE_SIZE)
st.markdown(f"**{len(shown)} project{'s' if len(shown) != 1 else ''}**" + (f" of {len(cards)}" if filtered else "")
            + " — latest first")


def card_view(c) -> None:
    with st.container(border=True):
        st.markdown(f"**{ui.md_escape(c.name)}**")
        meta = [ui.md_escape(c.client) if c.client else "", ui.md_escape(c.period) if c.period else "",
                f"{len(c.documents)} document{'s' if len(c.documents) != 1 else ''}"]
        st.caption(" · ".join(m for m in meta if m))
        if c.summary:
            st.markdown(ui.md_escape(ui.shorten(c.summary, 200)))
        if c.people:
            more = f" and {len(c.people) - 5} more" if len(c.people) > 5 else ""
            st.caption(f":material/group: {ui.md_escape(', '.join(c.people[:5]))}{more}")
        if c.tags:
            st.markdown(" ".join(f":gray-badge[{ui.md_escape(t)}]" for t in c.tags[:6]))
        st.page_link(ui.PROJECTS_PAGE, label="Timeline", icon=":material/timeline:", query_params={"project": c.key})


for start in range(0, min(len(shown), limit), 3):
    cols = st.columns(3)
    for col, c in zip(cols, shown[start:start + 3]):
        with col:
            card_view(c)

if len(shown) > limit:
    st.caption(f"Showing {limit} of {len(shown)}. Narrow the list with the filters, or")
    if st.button(f"Show {min(PAGE_SIZE, len(shown) - limit)} more", key="pj_more"):
        st.session_state["pj_limit"] = limit + PAGE_SIZE
        st.rerun()
