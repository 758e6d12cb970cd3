"""Library: upload documents, see what is in the store (and what failed), delete or re-ingest one."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import streamlit as st

from assistant.settings import get_settings
from ui import components as ui
from ui import state

engine = state.engine_or_stop()
user = state.current_user()
groups = state.user_groups(user)
admin = state.is_admin(user)
settings = get_settings()
ingestor = engine.ingestor()

st.title("Library")

# -- upload -------------------------------------------------------------------------------------------
if admin:
    st.session_state.setdefault("uploader", 0)
    from ingest.parse import SUPPORTED

    files = st.file_uploader(
        "Add documents: PDF, Word, PowerPoint, Excel, CSV, HTML, Markdown, text or e-mail. "
        "A file with the same name replaces the earlier version.",
        type=sorted(x.lstrip(".") for x in SUPPORTED), accept_multiple_files=True,
        max_upload_size=max(1, math.ceil(settings.max_file_mb)), key=f"uploader-{st.session_state['uploader']}")
    access = st.text_input("Access groups for these files (comma-separated)",
                           value=", ".join(settings.default_groups),
                           help="Only people in one of these groups will see the files in answers and lists.")
    upload_groups = sorted({g.strip() for g in access.split(",") if g.strip()}) or None
    if files:
        bar = st.progress(0.0, text="Ingesting…")
        results: list[dict] = []
        for i, f in enumerate(files):
            bar.progress(i / len(files), text=f"Ingesting {f.name} ({i + 1}/{len(files)})…"[:120])
            try:
                report = ingestor.ingest_upload(f.name, f.getvalue(), groups=upload_groups, user=user)
                results.extend(report.results or [{"source": x.source, "status": "failed", "error": x.error}
                                                  for x in report.failed])
            except Exception as e:  # the store went away mid-upload, say: report it, keep going
                results.append({"source": f.name, "status": "failed", "error": f"{type(e).__name__}: {e}"})
        bar.progress(1.0, text=f"Ingested {len(files)} file{'s' if len(files) != 1 else ''}.")
        st.session_state["ingest_results"] = results
        st.session_state["uploader"] += 1  # a fresh, empty uploader: the same files are not ingested twice
        st.rerun()

if st.session_state.get("ingest_results"):
    with st.container(border=True):
        st.markdown("**Last ingest**")
        ui.render_ingest_results(st.session_state["ingest_results"])
        if st.button("Dismiss", key="dismiss_results"):
            del st.session_state["ingest_results"]
            st.rerun()

docs = engine.store.documents(groups=groups)
failures = ingestor.failures(groups) if admin else {}

if not docs and not failures:
    if admin:
        ui.onboarding(engine, state.SAMPLE_DIR, key="library_sample")
    else:
        st.info("There are no documents you may read yet.")
    st.stop()

# -- the table ----------------------------------------------------------------------------------------
rows = [{"title": d.title or Path(d.source).name, "project": d.project or "", "client": d.client or "",
         "date": d.date or "", "type": d.doc_type, "format": d.format, "chunks": d.chunk_count, "status": d.status,
         "source": d.source, "error": d.error or "", "id": d.id} for d in docs]
known = {d.source for d in docs}
for source, f in sorted(failures.items()):
    if source not in known:
        rows.append({"title": Path(source).name, "project": "", "client": "", "date": "", "type": "",
                     "format": Path(source).suffix.lstrip(".").lower(), "chunks": 0, "status": "failed",
                     "source": source, "error": f.get("error", ""), "id": ""})
table = pd.DataFrame(rows)

st.subheader(f"{len(docs)} documents" + (f", {len(rows) - len(docs)} failed" if len(rows) > len(docs) else ""))
c1, c2, c3, c4 = st.columns([3, 1, 1, 2])
query = c1.text_input("Search", placeholder="title, file, project or client", key="lib_query")
fmt = c2.selectbox("Format", ["All", *sorted({r["format"] for r in rows if r["format"]})], key="lib_format")
kind = c3.selectbox("Type", ["All", *sorted({r["type"] for r in rows if r["type"]})], key="lib_type")
client = c4.selectbox("Client", ["All", *sorted({r["client"] for r in rows if r["client"]})], key="lib_client")

shown = table
if query.strip():
    q = query.strip().lower()
    hay = (shown["title"] + " " + shown["source"] + " " + shown["project"] + " " + shown["client"]).str.lower()
    shown = shown[hay.str.contains(q, regex=False)]
for col, val in (("format", fmt), ("type", kind), ("client", client)):
    if val != "All":
        shown = shown[shown[col] == val]

hidden = ["id"] + ([] if (shown["error"] != "").any() else ["error"])
st.dataframe(shown.drop(columns=hidden), hide_index=True, width="stretch",
             column_config={"title": st.column_config.TextColumn("title", width="large"),
                            "chunks": st.column_config.NumberColumn("passages", width="small"),
                            "error": st.column_config.TextColumn("error", width="large")})
st.caption(f"Showing {len(shown)} of {len(table)}.")

# -- one document -------------------------------------------------------------------------------------
selectable = shown[shown["id"] != ""]
if selectable.empty:
    st.stop()
labels = {r.id: f"{r.title} — {r.source}" for r in selectable.itertuples()}
chosen = st.selectbox("Document", list(labels), format_func=lambda i: labels[i], key="lib_doc")
doc = engine.store.document(chosen) if chosen else None
if doc is None:
    st.stop()

with st.container(border=True):
    st.markdown(f"**{ui.md_escape(doc.title or doc.source)}**")
    facts = [("Source", doc.source), ("Project", doc.project), ("Client", doc.client), ("Date", doc.date),
             ("Type", doc.doc_type), ("Format", doc.format), ("People", ", ".join(doc.people)),
             ("Passages", str(doc.chunk_count)), ("Ingested", doc.ingested_at), ("Access", ", ".join(doc.groups))]
    st.markdown("  \n".join(f"{k}: {ui.md_escape(v)}" for k, v in facts if v))
    if doc.summary:
        st.caption(ui.md_escape(doc.summary))
    if admin:
        buttons = st.container(horizontal=True)
        if buttons.button("Re-ingest", key=f"reingest-{doc.id}", icon=":material/refresh:",
                     help="Parse the stored original again (after a parser upgrade, say)."):
            with st.spinner(f"Re-ingesting {doc.source}…"):
                rep = ingestor.reingest(doc.id)
            st.session_state["ingest_results"] = rep.results or [
                {"source": f.source, "status": "failed", "error": f.error} for f in rep.failed]
            st.rerun()
        confirm_key = f"confirm-delete-{doc.id}"
        if not st.session_state.get(confirm_key):
            if buttons.button("Delete", key=f"delete-{doc.id}", icon=":material/delete:"):
                st.session_state[confirm_key] = True
                st.rerun()
        else:
            st.warning(f"Delete **{ui.md_escape(doc.source)}** and its {doc.chunk_count} passages from the library?")
            confirm = st.container(horizontal=True)
            if confirm.button("Yes, delete", key=f"yes-delete-{doc.id}", type="primary"):
                ingestor.delete(doc.id)
                st.session_state.pop(confirm_key, None)
                st.session_state["ingest_results"] = [{"source": doc.source, "status": "deleted"}]
                st.rerun()
            if confirm.button("Cancel", key=f"no-delete-{doc.id}"):
                st.session_state.pop(confirm_key, None)
                st.rerun()
