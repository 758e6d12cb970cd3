"""Status: which backends are in use, how much is in the library, whether the language model answers."""

from __future__ import annotations

import streamlit as st

from assistant.settings import get_settings
from ui import components as ui
from ui import state

st.title("Status")
settings = get_settings()
engine = state.engine_or_stop()
user = state.current_user()

with st.spinner("Checking the backends…"):
    s = engine.status(check_llm=True)
if user is not None and "documents" in s:  # a signed-in user counts what they may read, not the whole library
    mine = engine.store.documents(groups=state.user_groups(user))
    s.update(documents=len(mine), chunks=sum(d.chunk_count for d in mine))
    s.pop("lexical_chunks", None)

store = s["store"]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Documents", s.get("documents", "–"))
c2.metric("Passages", s.get("chunks", "–"))
c3.metric("Store", "reachable" if store["reachable"] else "UNREACHABLE")
llm = s.get("llm", {})
c4.metric("Answers", "LLM" if llm.get("enabled") else "extractive")

if store["reachable"]:
    st.success(f"Store: {ui.md_escape(store['kind'])} Chroma at {ui.md_code(store['location'])} answers.", icon=":material/check_circle:")
else:
    st.error(f"Store: {ui.md_escape(store['kind'])} Chroma at {ui.md_code(store['location'])} does not answer. "
             "Start the Chroma server (or unset `PRECEDENT_CHROMA_URL` to use the embedded store) and reload.",
             icon=":material/error:")

if llm.get("enabled"):
    where = ui.md_escape(llm.get("base_url") or "the OpenAI API")
    if llm.get("reachable"):
        st.success(f"Language model {ui.md_escape(llm.get('model'))} at {where} answers.", icon=":material/check_circle:")
    else:
        st.warning(f"Language model {ui.md_escape(llm.get('model'))} at {where} is **not reachable** "
                   f"({ui.md_escape(llm.get('detail'))}). Answers fall back to extractive: quoted from the documents, "
                   "still cited.", icon=":material/warning:")
else:
    st.info("No language model is configured (`OPENAI_BASE_URL` / `OPENAI_API_KEY`): answers are extractive — "
            "quoted from the documents, with citations.", icon=":material/info:")

if not s.get("lexical_ready", True):
    c = s["lexical_catchup"]
    st.info(f"This instance is still building its keyword index ({c['done']} of {c['total']} documents). "
            "Until it is ready, answers come from meaning-based search alone and say so.", icon=":material/info:")

failures = engine.ingestor().failures(state.user_groups(user))
if failures:
    st.warning(f"{len(failures)} file(s) failed to ingest; the Library page lists them with the reason.", icon=":material/warning:")

rows = [("Embedder", s.get("embedder")), ("Store kind", store["kind"]), ("Store location", store["location"]),
        ("Lexical index passages", s.get("lexical_chunks")), ("Store generation", s.get("generation")),
        ("Data folder", str(settings.data_dir)), ("Answerer", s.get("answerer")),
        ("LLM model", llm.get("model")), ("LLM endpoint", llm.get("base_url")), ("Access control", settings.auth)]
st.markdown("  \n".join(f"**{k}:** {ui.md_escape(v)}" for k, v in rows if v not in (None, "")))
with st.expander("Raw status (JSON)"):
    st.json(s)
