"""Describe a parsed document: title, date, client, project, people, doc_type, tags, summary.

Each field takes the most explicit source available (front matter, then e-mail headers, then file and folder
names, then document properties, then patterns in the text). Text patterns are deliberately narrow: a wrong
client or a made-up person is worse for "have we done this before?" than a blank.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from typing import Any

from ingest.chunking import split_sentences
from ingest.claims import work_claims
from ingest.parsers import Block, Parsed, clean
from ingest.people import read_names

DESCRIBER = 11  # bump when what describe() extracts changes: stored documents are then described again
SUMMARY_CHARS = 300
SCAN_BLOCKS = 60  # text patterns are looked for near the start, where front-page facts live


@dataclass
class Meta:
    title: str
    date: str | None = None
    project: str | None = None
    client: str | None = None
    people: list[str] = field(default_factory=list)  # tied to the work: wrote it, addressed by it, role stated
    authors: list[str] = field(default_factory=list)  # of those, who wrote it
    mentioned: list[str] = field(default_factory=list)  # named by the text, not tied to the work
    roles: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    things: list[str] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    doc_type: str = "document"
    summary: str = ""


# -- dates ---------------------------------------------------------------------------------------------
_MONTHS = {m[:3].lower(): i for i, m in enumerate(
    "January February March April May June July August September October November December".split(), start=1)}
_MONTH = r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
_YEAR = r"((?:19|20)\d\d)"
_ISO = re.compile(r"(?<!\d)" + _YEAR + r"-(\d\d)-(\d\d)(?!\d)")
_MDY = re.compile(r"\b" + _MONTH + r"\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+" + _YEAR + r"\b")
_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r"\.?,?\s+" + _YEAR + r"\b")
_FILE_DATE = re.compile(r"(?<!\d)" + _YEAR + r"([-_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")
_PDF_DATE = re.compile(r"^D:(\d{4})(\d\d)(\d\d)")


def _iso(y: str | int, m: str | int, d: str | int) -> str | None:
    try:
        return dt.date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def first_date(text: str) -> str | None:
    """The earliest-placed date in `text`: 2021-03-03, March 3, 2021 or 3 March 2021."""
    found: list[tuple[int, str]] = []
    for m in _ISO.finditer(text):
        if iso := _iso(*m.groups()):
            found.append((m.start(), iso))
            break
    for m in _MDY.finditer(text):
        if iso := _iso(m.group(3), _MONTHS[m.group(1)[:3].lower()], m.group(2)):
            found.append((m.start(), iso))
            break
    for m in _DMY.finditer(text):
        if iso := _iso(m.group(3), _MONTHS[m.group(2)[:3].lower()], m.group(1)):
            found.append((m.start(), iso))
            break
    return min(found)[1] if found else None


def to_iso(value: Any) -> str | None:
    """Any date-like value (date, ISO string, RFC 2822, PDF 'D:2020...', prose) -> YYYY-MM-DD."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if m := _PDF_DATE.match(text):
        return _iso(*m.groups())
    if m := _ISO.match(text):
        return _iso(*m.groups())
    try:
        return parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        pass
    return first_date(text)


def file_date(source: str) -> str | None:
    m = _FILE_DATE.search(PurePosixPath(source).name)
    return _iso(m.group(1), m.group(3), m.group(4)) if m else None


# -- names (ingest/people.py finds and checks them) ----------------------------------------------------
_BYLINE = re.compile(r"^By\s+(.+?)(?:\s+[·|•—–]\s+.*)?$")


def _author_values(value: Any) -> list[str]:
    """Front-matter or property author values: a list, or 'A, B and C' (names or handles, resolved later)."""
    items = value if isinstance(value, (list, tuple)) else re.split(r"\s*(?:,|;|&|\band\b)\s*", str(value or ""))
    return [clean(re.sub(r"\s*<[^>]*>", "", str(i))) for i in items if str(i).strip() and "@" not in str(i)]


def _dedupe(items: list[str], limit: int = 20) -> list[str]:
    seen: set[str] = set()
    out = []
    for it in items:
        if it and it.lower() not in seen:
            seen.add(it.lower())
            out.append(it)
    return out[:limit]


# -- organisations and projects -------------------------------------------------------------------------
_ORG_KEYWORDS = {
    "department", "agency", "administration", "office", "service", "services", "bureau", "commission", "court",
    "council", "corporation", "corp", "inc", "llc", "ltd", "board", "institute", "foundation", "university",
    "ministry", "authority", "center", "centre", "company", "bank", "hospital", "association", "trust",
    "committee", "fund", "reserve", "navy", "army", "corps", "force", "county", "city", "state", "government",
}
_GENERIC_ORGS = {"federal government", "u.s. government", "us government", "american people", "general public"}
_W = r"[A-Z](?:[\w&'’-]|\.(?=\w))*"  # a capitalised word; a period only inside (U.S), never a sentence end
_ORG = _W + r"(?:(?:\s+(?:of|and|for|on|&)(?:\s+the)?)?\s+" + _W + r")*"
_FOR_THE = re.compile(r"\bfor the (" + _ORG + r")")
# 'Client: X' only where a label starts a line (a paragraph, list item or key/value table row), naming something.
_LABEL = re.compile(r"(?m)^(?:- )?((?i:client|customer|agency|partner|project(?:\s+name)?))\s*:\s*([A-Z0-9\"“'][^\n;]*)")
_GENERIC_DIRS = {
    "posts", "post", "projects", "project", "docs", "doc", "documents", "document", "pdf", "pdfs", "files", "pages",
    "offerings", "blog", "misc", "archive", "archives", "shared", "reports", "templates", "drafts", "email", "emails",
    "mail", "other", "general", "notes", "decks", "slides", "presentations", "proposals", "case-studies",
    "case studies", "casestudies", "sows", "status", "retros", "retrospectives", "uploads", "inbox", "work", "clients",
    "customers", "accounts", "agencies", "partners", "data", "spreadsheets", "sheets", "html", "md", "txt", "eml",
    "docx", "pptx", "xlsx", "csv", "old", "new", "final", "current", "public", "private", "internal", "external",
    "news", "updates", "announcements", "press", "events", "newsletters", "team", "people", "hr", "marketing",
    "sales", "admin", "library", "resources", "knowledge", "wiki",
}
_CLIENT_DIRS = {"clients", "customers", "accounts", "agencies", "partners"}
_WORK_DIRS = {"projects", "project", "case-studies", "casestudies", "case-study", "portfolio", "engagements", "clients",
              "customers", "work"}


def _org(candidate: str) -> str | None:
    """A multi-word name with an organisation word in it ('Department of Labor'); else None."""
    candidate = re.sub(r"['’]s?$", "", candidate.strip())  # "for the Interior Department's team"
    words = candidate.split()
    if not 2 <= len(words) <= 12:
        return None
    if candidate.lower() in _GENERIC_ORGS:
        return None
    head_first = words[0].lower() in _ORG_KEYWORDS and len(words) > 2 and words[1] == "of"  # "City of Boston"
    if words[-1].lower().strip(".,") in _ORG_KEYWORDS or head_first:  # "Interior Department", "Peace Corps"
        return candidate
    return None


def _label_value(text: str) -> str:
    """'Acme Corp. Project: X' -> 'Acme Corp': stop at punctuation or at the next 'Label:'."""
    text = re.split(r"[;|(\[]|\.\s|\s\w+(?:\s\w+)?:\s", text, maxsplit=1)[0]
    return " ".join(text.split()[:8]).strip(" .,:-–—")


def _labels(blocks: list[Block]) -> dict[str, str]:
    out: dict[str, str] = {}
    for b in blocks[:SCAN_BLOCKS]:
        for m in _LABEL.finditer(b.text):
            key = "project" if m.group(1).lower().startswith("project") else "client"
            value = _label_value(m.group(2))
            if value and key not in out:
                out[key] = value
    return out


def pretty(name: str) -> str:
    """A file or folder name as words: '2016-03-01-acme_portal-SOW' -> 'Acme portal SOW'."""
    stem = re.sub(r"^\d{4}[-_.]?\d\d[-_.]?\d\d[-_ ]*", "", name)
    words = re.sub(r"[-_]+", " ", stem).split()
    text = " ".join(words) or name
    return text[:1].upper() + text[1:]


def _folders(source: str) -> list[str]:
    return list(PurePosixPath(source.replace("\\", "/")).parts[:-1])


def folder_client(source: str) -> str | None:
    parts = _folders(source)
    for i, p in enumerate(parts):
        if p.lower() in _CLIENT_DIRS and i + 1 < len(parts):
            return pretty(parts[i + 1])
        if m := re.match(r"(?i)^(?:client|customer)\s*[-_:=]\s*(.+)$", p):
            return pretty(m.group(1))
    return None


def folder_project(source: str, client: str | None) -> str | None:
    """The innermost folder that names something: not a kind of file, a year, or the client's own folder."""
    for p in reversed(_folders(source)):
        name = pretty(p)
        if p.lower() in _GENERIC_DIRS or re.fullmatch(r"\d{2,4}", p) or p.startswith("."):
            continue
        if client and name.lower() == client.lower():
            continue
        if re.match(r"(?i)^(?:client|customer)\s*[-_:=]", p):
            continue
        return name
    return None


# -- the description -----------------------------------------------------------------------------------
def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "", [], {})), None)


def _scalar(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return clean(str(value)) if value not in (None, "") else None


def _tags(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else re.split(r"\s*[,;]\s*", str(value or ""))
    return _dedupe([clean(str(t)) for t in items if clean(str(t))], limit=50)


_NOT_SUMMARY = re.compile(r"(?i)^(by|tags?|keywords?|date|authors?|posted|published|updated)\b")


def summary_of(blocks: list[Block], title: str) -> str:
    body = [b for b in blocks if not b.heading]
    prose = [b for b in body if not b.table and len(b.text.split()) >= 5 and not _NOT_SUMMARY.match(b.text)
             and not b.text.startswith("- ")]
    block = _first(prose[:1], body[:1])  # a spreadsheet's "opening sentence" is its first row
    text = split_sentences(block[0].text.split("\n")[0])[0] if block else title
    if len(text) > SUMMARY_CHARS:
        text = text[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text


def _doc_type(front: dict, email: dict | None, fmt: str, title: str, source: str) -> str:
    if front.get("doc_type"):
        return clean(str(front["doc_type"])).lower().replace(" ", "_")
    if email is not None:
        return "status_update" if re.search(r"(?i)\b(status|update)\b", email.get("subject", "")) else "email"
    if fmt == "pptx":
        return "deck"
    if fmt in ("xlsx", "csv"):
        return "spreadsheet"
    name = PurePosixPath(source).name
    stem = pretty(PurePosixPath(source).stem).lower()
    # The file name says what a file is; a title only for the unmistakable kinds. A post titled "lessons
    # learned from ..." is still a post, and a product called "... status" is not a status update.
    for pattern, kind, by_title in (
        (r"case[\s_-]?stud(y|ies)", "case_study", True),
        (r"\bproposal\b|\bsow\b|statement of work", "proposal", True),
        (r"retrospective|\bretro\b|lessons learned|post[\s-]?mortem", "retrospective", False),
        (r"^status\b|\bstatus (?:report|update|e ?mail)\b|\bweekly (?:report|update)\b", "status_update", False),
        (r"\bstaffing\b|\broster\b", "staffing", False),
    ):
        dated = bool(_FILE_DATE.match(name))  # "2015-03-06-lessons-learned-from-x.md" is a post
        if (not dated and re.search(pattern, stem)) or (by_title and re.search(pattern, f"{stem} {title.lower()}")):
            return kind
    # A folder that holds client work ("projects/", "case-studies/") says what its undated pages are.
    if any(part.lower().replace("_", "-") in _WORK_DIRS for part in _folders(source)):
        return "post" if _FILE_DATE.match(name) else "project_page"
    return "post" if _FILE_DATE.match(name) else "document"


def describe(parsed: Parsed, fmt: str, source: str) -> Meta:
    front, email, props, blocks = parsed.front, parsed.email, parsed.props, parsed.blocks
    email = email if email is not None else None
    opening = blocks[:3]

    heading = next((b.text for b in opening if b.heading), None) if fmt not in ("xlsx", "csv") else None
    title = _scalar(_first(front.get("title"), email and email.get("subject"), heading, props.get("title")))
    title = title or pretty(PurePosixPath(source).stem)

    text_scan = "\n".join(b.text for b in blocks[:SCAN_BLOCKS] if not b.table)
    date = _first(
        to_iso(front.get("date")), to_iso(email.get("date")) if email else None, file_date(source),
        # A date written in the text beats file properties, which converters stamp with the conversion day.
        # Never a file's "created" property: converters stamp it with the day of conversion.
        first_date(text_scan),
    )

    labels = _labels(blocks)
    client = _scalar(_first(
        front.get("client"), front.get("agency"), front.get("customer"), props.get("custom:client"),
        folder_client(source), labels.get("client"),
        next((o for m in _FOR_THE.finditer(text_scan) if (o := _org(m.group(1)))), None),
    ))

    bracket = re.match(r"^(?:(?:re|fwd?|aw)\s*:\s*)*\[([^\]]{1,60})\]", email.get("subject", ""), re.I) if email else None
    project = _scalar(_first(
        front.get("project"), props.get("custom:project"), bracket and bracket.group(1), labels.get("project"),
        folder_project(source, client),
    ))

    # A byline is the publishing name for the authors line ("byline", or a site's own "byline_…" field).
    byline = next((v for k, v in front.items() if str(k).lower().startswith("byline") and v), None)
    authors = _author_values(_first(front.get("authors"), front.get("author"), front.get("people"), byline))
    authors += _author_values(props.get("authors"))
    for b in opening:
        if (m := _BYLINE.match(b.text)) and not b.heading:
            authors += re.split(r"\s*(?:,|;|&|\band\b)\s*", m.group(1))
    # An e-mail's sender wrote it; its recipients are addressed by it.
    authors += [n for n, _ in email.get("from", []) if n] if email else []
    addressed = [n for n, _ in email.get("to", []) if n] if email else []
    found, things = read_names([b.text for b in blocks if not b.table], authors, addressed, orgs=[client or ""])

    tags = _tags(_first(front.get("tags"), front.get("tag"), email and email.get("keywords"), props.get("keywords")))
    return Meta(
        title=title[:300],
        date=date,
        project=project,
        client=client,
        # Only people the document ties to its work are its people; the others it merely names.
        people=[p.name for p in found if p.tie][:30],
        authors=[p.name for p in found if p.tie == "wrote"][:30],
        mentioned=[p.name for p in found if not p.tie][:30],
        roles={p.name: p.role for p in found if p.role and p.tie},
        evidence={p.name: p.evidence for p in found if p.evidence and p.tie},
        things=things,
        claims=work_claims([b.text for b in blocks if not b.table and not b.heading]),
        tags=tags,
        doc_type=_doc_type(front, email, fmt, title, source),
        summary=summary_of(blocks, title),
    )
