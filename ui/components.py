"""Rendering helpers: verdicts, project cards, citation cards, highlighting, ingest results.

Nothing that comes from a document is ever rendered as HTML. Text from documents goes through
`md_escape` (every Markdown control character escaped) before it reaches `st.markdown`; the only
formatting added on top is ours (bold for highlighted words, labels, badges).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterable, Iterator

import streamlit as st

from assistant.models import Answer, Citation, ProjectMatch

# Every character that Markdown (CommonMark, GFM, Streamlit's directives and math) gives a meaning to.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:&=^\"'])")
# In an answer's own text we keep bold and lists, but no links, images, HTML, code or math.
_ANSWER_SPECIAL = re.compile(r"([\\`\[\]<>$&~:|])")
_CITE = re.compile(r"\\\[(\d+)\\\]")
_WORD = re.compile(r"[A-Za-z0-9]+")


def md_escape(text: object) -> str:
    """Text (from a document, a file name, an error) as literal Markdown: shown exactly, never interpreted."""
    s = re.sub(r"\s+", " ", str(text if text is not None else "")).strip()
    return _MD_SPECIAL.sub(r"\\\1", s)


def md_code(text: object) -> str:
    """Text as an inline code span: shown literally (nothing inside a code span is interpreted)."""
    s = re.sub(r"\s+", " ", str(text if text is not None else "")).replace("`", "'").strip()
    return f"`{s}`" if s else ""


def _item(line: str) -> bool:
    return bool(re.match(r"\s*([-*•]|\d+[.)])\s", line))


def answer_markdown(text: str) -> str:
    """An answer's text as safe Markdown: bold and bullet lists kept; links, images, HTML and math made literal;
    each line its own paragraph (list items stay together); citation markers [n] shown as badges."""
    out: list[str] = []
    prev_item = False
    for raw in (text or "").split("\n"):
        line = _ANSWER_SPECIAL.sub(r"\\\1", raw.rstrip())
        if not line.strip():
            prev_item = False
            continue
        item = _item(raw)
        if out and not (item and prev_item):
            out.append("")
        out.append(line)
        prev_item = item
    md = "\n".join(out)
    return _CITE.sub(lambda m: f":blue-badge[{m.group(1)}]", md)


def stream_markdown(pieces: Iterable[str]) -> Iterator[str]:
    """Streamed text made safe piece by piece (escaping is per character, so pieces can split anywhere)."""
    for p in pieces:
        yield _ANSWER_SPECIAL.sub(r"\\\1", p)


def _stem(word: str) -> str:
    return word.lower()[:5]


def highlight(text: str, terms: Iterable[str]) -> str:
    """Escaped Markdown of `text` with the words that match `terms` (the question's key words) in bold."""
    stems = {_stem(t) for t in terms if len(t) >= 3}
    s = re.sub(r"\s+", " ", text or "").strip()
    out, at = [], 0
    for m in _WORD.finditer(s):
        out.append(md_escape_raw(s[at:m.start()]))
        w = m.group(0)
        hit = len(w) >= 3 and _stem(w) in stems and (len(w) >= 5 or w.lower() in {t.lower() for t in terms})
        out.append(f"**{w}**" if hit else w)
        at = m.end()
    out.append(md_escape_raw(s[at:]))
    return "".join(out)


def md_escape_raw(s: str) -> str:
    """Like md_escape, without collapsing whitespace (for pieces of a longer text)."""
    return _MD_SPECIAL.sub(r"\\\1", s)


def question_terms(question: str) -> list[str]:
    from assistant.terms import key_terms

    return key_terms(question or "")


# -- verdict, notice, cards -----------------------------------------------------------------------
def render_verdict(answer: Answer) -> None:
    conf = f" · confidence {answer.confidence:.0%}"
    if answer.abstained:
        st.warning("**No record** — our documents show no work like this. "
                   "Anything listed below is the closest work we found, and it is *not* a match." + conf,
                   icon=":material/block:")
        return
    if answer.verdict == "related":
        names = ", ".join(md_escape(p.name) for p in answer.projects[:5])
        st.info(f"**Related work, not a confirmed match** — check the sources: {names}{conf}", icon=":material/help:")
        return
    names = [p.name for p in answer.projects]
    head = f"**Yes** — {len(names)} matching project{'s' if len(names) != 1 else ''}"
    if answer.people:
        n = len(answer.people)
        head = f"**Yes** — {n} {'person' if n == 1 else 'people'} who worked on {len(names)} matching project{'s' if len(names) != 1 else ''}"
    if names:
        head += ": " + ", ".join(md_escape(n) for n in names[:5])
    st.success(head + conf, icon=":material/check_circle:")


def render_notice(answer: Answer) -> None:
    if answer.notice:
        st.warning(md_escape(answer.notice), icon=":material/warning:")


def render_projects(projects: list[ProjectMatch], closest: bool = False, related: bool = False,
                    also: bool = False) -> None:
    if not projects:
        return
    st.markdown("**Closest work — not a match**" if closest else "**Also related — not confirmed**" if also
                else "**Related work**" if related else "**Matching projects**")
    cols = st.columns(3)
    for i, pm in enumerate(projects):
        with cols[i % len(cols)]:
            project_card(pm, closest)


def project_card(pm: ProjectMatch, closest: bool = False) -> None:
    with st.container(border=True):
        if closest:
            st.caption("Closest work — not a match")
        st.markdown(f"**{md_escape(pm.name)}**")
        facts = []
        if pm.client:
            facts.append(f"Client: {md_escape(pm.client)}")
        if pm.period:
            facts.append(f"Period: {md_escape(pm.period)}")
        if pm.people:
            who = [f"{p} ({pm.roles[p]})" if p in pm.roles else p for p in pm.people[:6]]
            facts.append(f"People: {md_escape(', '.join(who))}")
        if facts:
            st.markdown("  \n".join(facts))
        if pm.citations:
            st.caption("Evidence: " + ", ".join(f"[{n}]" for n in pm.citations))


def render_citations(citations: list[Citation], question: str, key: str,
                     original_of: Callable[[Citation], Path | None] | None = None) -> None:
    if not citations:
        return
    st.markdown(f"**Sources** ({len(citations)})")
    terms = question_terms(question)
    cols = st.columns(2)
    for i, c in enumerate(citations):
        with cols[i % 2]:
            citation_card(c, terms, f"{key}-{i}", original_of(c) if original_of else None)


def citation_card(c: Citation, terms: list[str], key: str, original: Path | None = None) -> None:
    with st.container(border=True):
        meta = [f"Source [{c.n}]"]
        if c.date:
            meta.append(md_escape(c.date))
        if c.page is not None:
            meta.append(f"page {c.page}")
        if c.slide:
            meta.append(f"slide {c.slide}")
        st.caption(" · ".join(meta))
        st.markdown(f"**{md_escape(c.title or Path(c.source).name)}**")
        st.caption(f":material/description: {md_escape(c.source)}" + (f" — § {md_escape(c.section)}" if c.section else ""))
        if c.snippet:
            st.markdown("> " + highlight(c.snippet, terms))
        if original is not None:
            st.download_button("Download original", data=_reader(original), file_name=original.name,
                               key=f"dl-{key}", on_click="ignore", icon=":material/download:",
                               type="tertiary")


def _reader(path: Path) -> Callable[[], bytes]:
    return lambda: path.read_bytes()


def render_ingest_results(results: list[dict]) -> None:
    """One line per file: added / updated / unchanged, or the reason it failed, in red."""
    for r in results:
        name = md_escape(r.get("source", ""))
        status = r.get("status", "")
        if status == "failed":
            st.error(f"**{name}** — failed: {md_escape(r.get('error', 'unknown error'))}", icon=":material/error:")
        elif status == "unchanged":
            st.info(f"**{name}** — unchanged (already in the library)", icon=":material/remove:")
        elif status == "deleted":
            st.info(f"**{name}** — removed", icon=":material/delete:")
        else:
            chunks = r.get("chunks")
            extra = f" ({chunks} passage{'s' if chunks != 1 else ''})" if chunks is not None else ""
            st.success(f"**{name}** — {md_escape(status)}{extra}", icon=":material/check_circle:")


def ingest_folder(engine, folder: Path) -> None:
    """Ingest a folder with a progress bar, then show the per-file results."""
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int, source: str, status: str) -> None:
        bar.progress(done / max(total, 1), text=f"{done}/{total} · {status}: {source}"[:120])

    report = engine.ingestor().ingest_paths([folder], progress=progress)
    bar.progress(1.0, text=f"Done: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
                           f"{len(report.failed)} failed ({report.seconds:.0f} s)")
    st.session_state["ingest_results"] = report.results


def onboarding(engine, sample_dir: Path, key: str) -> None:
    """What to do when the library is empty: upload files, or load the sample corpus."""
    st.info("**The library is empty.** Add your project documents — case studies, proposals, status updates, "
            "decks, staffing sheets (PDF, Word, PowerPoint, Excel, CSV, HTML, Markdown, text or e-mail) — on the "
            "**Library** page, or load the sample corpus to try the assistant first.", icon=":material/folder_open:")
    c1, c2 = st.columns([1, 2])
    with c1:
        available = sample_dir.is_dir() and any(sample_dir.iterdir())
        if st.button("Load the sample corpus", key=key, type="primary", disabled=not available):
            ingest_folder(engine, sample_dir)
            st.rerun()
        if not available:
            st.caption("The sample corpus is not built yet: run `make sample`.")
    with c2:
        st.page_link("views/library.py", label="Upload documents on the Library page", icon=":material/upload_file:")


# -- projects and people ----------------------------------------------------------------------------
PROJECTS_PAGE = "views/projects.py"
PEOPLE_PAGE = "views/people.py"


def shorten(text: object, limit: int = 220) -> str:
    """Plain text cut at a word boundary to about `limit` characters (escape it before rendering)."""
    s = re.sub(r"\s+", " ", str(text or "")).strip()
    if len(s) <= limit:
        return s
    cut = s[:limit].rsplit(" ", 1)[0].rstrip(",;:-–— ")
    return cut + "…"


def project_key(index, pm: ProjectMatch) -> str | None:
    """The key of a matched project in the project index (for a link to the Projects page), if it has one."""
    for doc_id in pm.document_ids:
        doc = index.docs.get(doc_id)
        if doc is not None:
            return index.key_of(doc)
    from assistant.projects import norm

    key = norm(pm.name)
    return key if key in index.members else None


def named_people(answer: Answer, limit: int = 8) -> list[str]:
    """The people an answer names: the experts of a "who has done X?" answer, else the matched projects' people."""
    names = [p.get("name") for p in answer.people if p.get("name")]
    if not names:
        for pm in answer.projects:
            names += [p for p in pm.people if p not in names]
    return list(dict.fromkeys(names))[:limit]


def render_answer_links(answer: Answer, keys: dict[str, str | None]) -> None:
    """Links under an answer: each matched project on the Projects page, each named person on the People page."""
    if answer.abstained or not answer.projects:
        return
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    row.caption("Projects:", width="content")
    for pm in answer.projects:
        key = keys.get(pm.name)
        if key:
            row.page_link(PROJECTS_PAGE, label=md_escape(pm.name), icon=":material/work:",
                          query_params={"project": key})
    people = named_people(answer)
    if people:
        row = st.container(horizontal=True, gap="small", vertical_alignment="center")
        row.caption("People:", width="content")
        for name in people:
            row.page_link(PEOPLE_PAGE, label=md_escape(name), icon=":material/person:", query_params={"person": name})


def brief_file_stem(answer: Answer) -> str:
    words = re.findall(r"[A-Za-z0-9]+", answer.question.lower())[:8]
    return "capability-brief" + ("-" + "-".join(words) if words else "")


def render_brief_downloads(answer: Answer, key: str) -> None:
    """"Capability brief" downloads (Markdown and Word) built from the answer, when it has matching projects."""
    if answer.abstained or not answer.projects:
        return
    from assistant.brief import brief_docx, brief_markdown

    stem = brief_file_stem(answer)
    row = st.container(horizontal=True, gap="small")
    row.download_button("Capability brief (Markdown)", data=lambda: brief_markdown(answer).encode("utf-8"),
                        file_name=f"{stem}.md", mime="text/markdown", key=f"brief-md-{key}", on_click="ignore",
                        icon=":material/description:")
    row.download_button("Capability brief (DOCX)", data=lambda: brief_docx(answer), file_name=f"{stem}.docx",
                        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                        key=f"brief-docx-{key}", on_click="ignore", icon=":material/article:")
