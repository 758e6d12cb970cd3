"""Process-wide resources and per-session state for the app.

The engine (embedder, store clients, lexical index) is created once per process through
`st.cache_resource`, never per question or per session. Everything a page needs from the session
(the conversation, the signed-in user) is read through the helpers here.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import streamlit as st

from assistant.models import Filters
from assistant.settings import EVERYONE, Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "ingest" / "sample_corpus" / "docs"
DATASETS_DIR = ROOT / "evals" / "datasets"


def _key(s: Settings) -> str:
    """Which configuration an engine was made for (one per process in practice; tests change it)."""
    return hashlib.sha1(s.model_copy(update={"data_dir": Path(s.data_dir).resolve()}).model_dump_json().encode()).hexdigest()


@st.cache_resource(show_spinner="Opening the document store…")
def _engine_for(key: str):
    from assistant import engine as core

    eng = core.get_engine()
    if _key(eng.settings) != key:  # the settings changed since the process-wide engine was made
        eng = core.Engine(settings=get_settings(), embeddings=eng.embeddings)
    return eng


def get_engine():
    """The process-wide Engine. Raises assistant.store.StoreUnavailable when the store cannot be opened."""
    return _engine_for(_key(get_settings()))


def engine_or_stop():
    """The engine, or a clear error (what is wrong, what to do) and the end of this page's run."""
    from assistant.store import StoreUnavailable, describe_store

    try:
        return get_engine()
    except StoreUnavailable as e:
        st.error(f"**The document store is unavailable.**\n\n{_plain(str(e))}", icon=":material/error:")
        st.info("What to do: start the Chroma server (or unset `PRECEDENT_CHROMA_URL` to use the embedded "
                "store), then reload this page. `precedent status` on the command line shows the same check.")
    except Exception as e:  # anything else while opening: a message, not a stack trace
        st.error(f"**Could not open {describe_store(get_settings())}.**\n\n"
                 f"{_plain(type(e).__name__ + ': ' + str(e))}", icon=":material/error:")
        st.info("Check the settings (`PRECEDENT_DATA_DIR`, `PRECEDENT_CHROMA_URL`) and the server log, then reload.")
    st.stop()


def _plain(text: str) -> str:
    from ui.components import md_escape

    return md_escape(text)


# -- who is asking ---------------------------------------------------------------------------------
def current_user():
    """The signed-in user (assistant.access.User), or None for the local operator (auth = none).

    With auth = header the user comes from the proxy's header; with auth = local the sidebar asks
    for a name and password. Stops the page when nobody is signed in."""
    from assistant.access import load_users, verify

    s = get_settings()
    if s.auth == "none":
        return None
    if s.auth == "header":
        name = st.context.headers.get(s.auth_header)
        user = load_users().get(name) if name else None
        if user is None:
            st.error(f"Access denied: the request carries no known user in the `{s.auth_header}` header.")
            st.stop()
        return user
    user = st.session_state.get("user")
    if user is not None:
        with st.sidebar:
            st.caption(f"Signed in as {user.name or user.username}")
            if st.button("Sign out", key="sign_out"):
                # Everything of this user's session goes: the next person to sign in on this screen must not see
                # their conversation, filters, selections or the project or person in the address.
                st.session_state.clear()
                st.query_params.clear()
                st.rerun()
        return user
    st.subheader("Sign in")
    with st.form("sign_in"):
        username = st.text_input("User name")
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in"):
            found = verify(username, password)
            if found:
                st.session_state["user"] = found
                st.rerun()
            st.error("Wrong user name or password.")
    st.stop()


def user_groups(user) -> list[str] | None:
    return None if user is None else sorted(set(user.groups) | {EVERYONE})


def is_admin(user) -> bool:
    return user is None or user.is_admin


def user_name(user) -> str | None:
    return None if user is None else user.username


# -- the conversation ------------------------------------------------------------------------------
def turns() -> list:
    """The conversation on the chat page: a list of assistant.models.Turn."""
    return st.session_state.setdefault("turns", [])


def conversation_id() -> int:
    return st.session_state.setdefault("conversation", 0)


def new_conversation() -> None:
    st.session_state["turns"] = []
    st.session_state["conversation"] = conversation_id() + 1


def build_filters(client: str | None, years: tuple[int, int] | None, doc_type: str | None,
                  groups: list[str] | None) -> Filters:
    return Filters(client=client or None, doc_type=doc_type or None,
                   date_from=f"{years[0]:04d}-01-01" if years else None,
                   date_to=f"{years[1]:04d}-12-31" if years else None, groups=groups)


def stamp() -> str:
    t = time.time()
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(t)) + f"-{int(t * 1000) % 1000:03d}"
