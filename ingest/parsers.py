"""Per-format parsers: bytes in, ordered text Blocks (+ whatever metadata the format carries) out.

PDFs go through pypdf (unstructured's PDF path drags in torch). Everything else goes through unstructured's
partitioners, made offline by ingest.offline, except e-mail headers and MIME structure, which the stdlib
`email` package parses more predictably; the e-mail bodies still go through partition_html/partition_text.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any
from xml.etree import ElementTree

import yaml

from ingest.errors import IngestError
from ingest.offline import ensure_offline
from ingest.safety import Checked, decode_text

# pypdf logs a warning for every recoverable oddity; the reasons that matter reach the user as IngestError.
logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass
class Block:
    """One paragraph, list item, table or heading, in reading order."""

    text: str
    heading: bool = False
    page: int | None = None  # PDF page, 1-based
    slide: int | None = None  # PPTX slide, 1-based
    table: bool = False  # rows are lines: split at line ends before sentences


@dataclass
class Parsed:
    blocks: list[Block]
    front: dict[str, Any] = field(default_factory=dict)  # explicit metadata: YAML front matter or a front-matter table
    email: dict[str, Any] | None = None  # subject, from/to/cc [(name, address)], date, keywords
    props: dict[str, Any] = field(default_factory=dict)  # document properties: title, authors, created, keywords


# -- text helpers ------------------------------------------------------------------------------------
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_ALNUM = re.compile(r"\w")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")  # markdown residue in converted documents ("### Approach")
_BULLET = re.compile(r"^\s*(?:[•●▪◦‣∙\x7f\uf0b7\u2022]|[-–*](?=\s))\s*")
MAX_HEADING_CHARS = 150


def clean(text: str) -> str:
    """One paragraph on one line: invisible characters gone, whitespace collapsed."""
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text)).translate(_LIGATURES)  # PDFs keep "ﬁ" as one glyph
    return re.sub(r"\s+", " ", text).strip()


def _has_words(text: str) -> bool:
    return bool(_ALNUM.search(text))


# -- tables ------------------------------------------------------------------------------------------
FRONT_KEYS = {
    "title", "subtitle", "client", "agency", "customer", "project", "date", "authors", "author", "people",
    "tags", "tag", "doc_type", "permalink", "layout", "excerpt", "description", "summary", "image", "image_alt",
}


def table_rows(html: str) -> list[list[str]]:
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except Exception:  # lxml raises several types on odd markup; the element text is the fallback
        return []
    rows = [[clean(c.text_content()) for c in tr if c.tag in ("td", "th")] for tr in root.iter("tr")]
    return [r for r in rows if any(r)]


def rows_text(rows: list[list[str]]) -> str:
    """A table as one line per row: 'col: val; col: val' when the first row is a usable header."""
    if not rows:
        return ""
    header = rows[0]
    usable = len(rows) >= 2 and len(header) >= 2 and all(header) and len(set(header)) == len(header)
    if not usable:
        return "\n".join(" | ".join(c for c in r if c) for r in rows)
    if len(header) == 2 and header[1].lower() == "value":  # key/value sheet: 'agency: GSA'
        return "\n".join(": ".join(c for c in r if c) for r in rows[1:])
    lines = []
    for r in rows[1:]:
        pairs = [f"{h}: {v}" for h, v in zip(header, r) if v]
        pairs += [v for v in r[len(header):] if v]  # ragged rows: never drop a cell
        lines.append("; ".join(pairs))
    return "\n".join(line for line in lines if line)


def front_matter_table(rows: list[list[str]]) -> dict[str, str] | None:
    """A 2-column Field/Value table of front-matter keys (how converters carry YAML into Word) -> dict."""
    if len(rows) < 2 or any(len(r) != 2 for r in rows) or rows[0][1].lower() != "value":
        return None
    data = {r[0].strip().lower(): r[1] for r in rows[1:] if r[0]}
    return data if sum(k in FRONT_KEYS for k in data) >= max(2, len(data) // 2) else None


# -- unstructured elements -> blocks -------------------------------------------------------------------
_SKIP = {"PageBreak", "Header", "Footer", "PageNumber", "Image"}


def blocks_from_elements(elements: list, *, slides: bool = False, sheets: bool = False) -> tuple[list[Block], dict]:
    """Map unstructured elements to Blocks. Returns (blocks, front) where front is a front-matter table, if any."""
    blocks: list[Block] = []
    front: dict[str, str] = {}
    titled: set[int] = set()
    sheet = None
    for el in elements:
        cat = el.category
        if cat in _SKIP:
            continue
        md = el.metadata
        number = md.page_number
        if sheets and md.page_name and md.page_name != sheet:  # one heading per worksheet
            sheet = md.page_name
            blocks.append(Block(clean(sheet), heading=True))
        if cat == "Table":
            rows = table_rows(md.text_as_html) if md.text_as_html else []
            fm = front_matter_table(rows) if not front else None
            if fm:
                front = fm
                continue
            text = rows_text(rows) or clean(el.text)
            if _has_words(text):
                blocks.append(Block(text, table=True, slide=number if slides else None))
            continue
        text = clean(el.text)
        if not _has_words(text):
            continue
        heading = cat == "Title"
        m = _MD_HEADING.match(text)
        if m and len(m.group(2)) <= MAX_HEADING_CHARS and cat != "ListItem":
            heading, text = True, m.group(2)
        if heading and len(text) > MAX_HEADING_CHARS:
            heading = False
        if slides:
            # The slide title is the heading; other short lines unstructured calls Title are body text.
            if heading and number in titled:
                heading = False
            elif heading:
                titled.add(number)
        if cat == "ListItem":
            text = f"- {text}"
        blocks.append(Block(text, heading=heading, slide=number if slides else None))
    return blocks, front


# -- OOXML document properties -------------------------------------------------------------------------
_TEMPLATE_DATES = {"2013-01-27T09:14:16", "2013-12-23T23:15:00"}  # python-pptx / python-docx template defaults


def ooxml_props(data: bytes) -> dict[str, Any]:
    """title, authors, created, keywords, subject from docProps/core.xml; custom properties as-is."""
    props: dict[str, Any] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            core = zf.read("docProps/core.xml") if "docProps/core.xml" in names else b""
            custom = zf.read("docProps/custom.xml") if "docProps/custom.xml" in names else b""
    except (zipfile.BadZipFile, KeyError, OSError):
        return props
    if core and len(core) < 1_000_000:
        try:
            for el in ElementTree.fromstring(core):
                tag, value = el.tag.rsplit("}", 1)[-1], (el.text or "").strip()
                if not value:
                    continue
                if tag in ("title", "subject", "keywords", "category", "description"):
                    props[tag] = value
                elif tag == "creator":
                    props["authors"] = value
                elif tag == "created" and value[:19] not in _TEMPLATE_DATES:
                    props["created"] = value
        except ElementTree.ParseError:
            pass
    if custom and len(custom) < 1_000_000:
        try:
            for el in ElementTree.fromstring(custom):
                name = (el.get("name") or "").strip().lower()
                value = "".join(el.itertext()).strip()
                if name and value:
                    props.setdefault(f"custom:{name}", value)
        except ElementTree.ParseError:
            pass
    return props


# -- formats -------------------------------------------------------------------------------------------
def parse_docx(c: Checked) -> Parsed:
    ensure_offline()
    from unstructured.partition.docx import partition_docx

    blocks, front = blocks_from_elements(partition_docx(file=io.BytesIO(c.data)))
    return Parsed(blocks, front=front, props=ooxml_props(c.data))


def parse_pptx(c: Checked) -> Parsed:
    ensure_offline()
    from unstructured.partition.pptx import partition_pptx

    blocks, front = blocks_from_elements(partition_pptx(file=io.BytesIO(c.data), include_page_breaks=False), slides=True)
    return Parsed(blocks, front=front, props=ooxml_props(c.data))


def parse_xlsx(c: Checked) -> Parsed:
    ensure_offline()
    from unstructured.partition.xlsx import partition_xlsx

    blocks, _ = blocks_from_elements(partition_xlsx(file=io.BytesIO(c.data)), sheets=True)
    return Parsed(blocks, props=ooxml_props(c.data))


def parse_csv(c: Checked) -> Parsed:
    ensure_offline()
    from unstructured.partition.csv import partition_csv

    assert c.text is not None
    # Re-encode the text we already decoded (and validated) so a cp1252 file reaches pandas as UTF-8.
    blocks, _ = blocks_from_elements(partition_csv(file=io.BytesIO(c.text.encode("utf-8")), encoding="utf-8"))
    return Parsed(blocks)


def html_blocks(html: str) -> tuple[list[Block], dict]:
    ensure_offline()
    from unstructured.partition.html import partition_html

    if not html.strip():
        return [], {}
    return blocks_from_elements(partition_html(text=html))


def html_props(html: str) -> dict[str, Any]:
    """<title> and <meta> author/date/keywords/description from the head."""
    import lxml.html

    props: dict[str, Any] = {}
    try:
        root = lxml.html.fromstring(html)
    except Exception:  # odd markup: the body still parses through unstructured
        return props
    title = root.find(".//title")
    if title is not None and clean(title.text_content()):
        props["title"] = clean(title.text_content())
    authors: list[str] = []
    for meta in root.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        value = clean(meta.get("content") or "")
        if not value:
            continue
        if key in ("author", "article:author", "dc.creator"):
            authors.append(value)
        elif key in ("date", "dc.date", "dcterms.date", "article:published_time", "citation_date"):
            props.setdefault("created", value)
        elif key in ("keywords", "news_keywords"):
            props.setdefault("keywords", value)
        elif key in ("description", "og:description"):
            props.setdefault("description", value)
    if authors:
        props["authors"] = authors
    return props


def parse_html(c: Checked) -> Parsed:
    assert c.text is not None
    front, body = split_front_matter(c.text)
    if front:
        # A Jekyll/Hugo template: Markdown and HTML mixed under front matter; the Markdown parser handles both.
        return _parse_markdown(body, front)
    blocks, table_front = html_blocks(c.text)
    return Parsed(blocks, front=table_front, props=html_props(c.text))


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML between leading '---' lines -> (dict, body without it). Malformed YAML still gets removed."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text
    for j in range(1, min(len(lines), 500)):
        if lines[j].strip() in ("---", "..."):
            raw, body = "".join(lines[1:j]), "".join(lines[j + 1 :])
            try:
                data = yaml.safe_load(raw)
            except yaml.YAMLError:
                data = dict(m.groups() for m in re.finditer(r"^(\w[\w-]*):\s*(.+?)\s*$", raw, re.M))
            return (data if isinstance(data, dict) else {}), body
    return {}, text


# Jekyll/Liquid template tags and kramdown attribute lists ("[link](url){:target="_blank"}"): markup, not content.
_LIQUID = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{:[^}\n]*\}", re.S)


def parse_md(c: Checked) -> Parsed:
    assert c.text is not None
    return _parse_markdown(*reversed(split_front_matter(c.text)))


def _parse_markdown(body: str, front: dict[str, Any]) -> Parsed:
    ensure_offline()
    from unstructured.partition.md import partition_md

    body = _LIQUID.sub("", body)
    blocks, _ = blocks_from_elements(partition_md(text=body)) if body.strip() else ([], {})
    return Parsed(blocks, front={str(k).lower(): v for k, v in front.items()})


def text_blocks(text: str) -> list[Block]:
    ensure_offline()
    from unstructured.partition.text import partition_text

    return blocks_from_elements(partition_text(text=text))[0] if text.strip() else []


def parse_txt(c: Checked) -> Parsed:
    assert c.text is not None
    return Parsed(text_blocks(c.text))


# -- e-mail --------------------------------------------------------------------------------------------
_TEXT_ATTACHMENT = {"text/plain": "txt", "text/markdown": "md", "text/html": "html", "text/csv": "csv"}


def _part_text(part: EmailMessage) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AssertionError):  # unknown charset or bad transfer encoding
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def _addresses(msg: EmailMessage, name: str) -> list[tuple[str, str]]:
    return [(clean(n), a) for n, a in getaddresses([str(v) for v in msg.get_all(name, [])]) if n or a]


def parse_eml(c: Checked) -> Parsed:
    try:
        msg = BytesParser(policy=policy.default).parsebytes(c.data)
    except Exception as e:  # the stdlib parser is lenient; anything it raises means a broken message
        raise IngestError(f"not a readable e-mail message: {e}") from e
    if not any(msg.get(h) for h in ("from", "subject", "date", "to")):
        raise IngestError("not an e-mail message (no From/To/Subject/Date headers)")
    header: dict[str, Any] = {
        "subject": clean(str(msg.get("subject", "") or "")),
        "from": _addresses(msg, "from"),
        "to": _addresses(msg, "to") + _addresses(msg, "cc"),
        "date": str(msg.get("date", "") or ""),
        "keywords": str(msg.get("keywords", "") or ""),
    }
    blocks: list[Block] = []
    body = msg.get_body(preferencelist=("html", "plain"))  # HTML keeps the heading structure
    if body is not None:
        text = _part_text(body)
        blocks = html_blocks(text)[0] if body.get_content_type() == "text/html" else text_blocks(text)
    for part in msg.iter_attachments():
        name = part.get_filename() or ""
        kind = _TEXT_ATTACHMENT.get(part.get_content_type()) or {
            ".txt": "txt", ".md": "md", ".markdown": "md", ".csv": "csv", ".html": "html", ".htm": "html"
        }.get(name.lower()[name.rfind(".") :] if "." in name else "")
        if not kind:
            continue  # binary attachments (PDF, images) are not indexed from inside a message
        raw = part.get_payload(decode=True) or b""
        try:
            text = decode_text(raw)
        except IngestError:
            continue
        sub = Checked(c.path, kind, raw, c.sha256, text=text)
        inner = {"txt": parse_txt, "md": parse_md, "html": parse_html, "csv": parse_csv}[kind](sub).blocks
        if inner:
            blocks.append(Block(f"Attachment: {name or kind}", heading=True))
            blocks.extend(inner)
    return Parsed(blocks, email=header)


# -- PDF -----------------------------------------------------------------------------------------------
_PAGE_NO = re.compile(r"^(?:page\s*)?\d+(?:\s*(?:of|/)\s*\d+)?$", re.I)


@dataclass
class _Line:
    text: str
    size: float
    y: float | None
    page: int


def _page_lines(page: Any, number: int) -> list[_Line]:
    """Text lines as pypdf extracts them, each with its dominant font size and baseline height."""
    frags: list[tuple[str, float, float]] = []

    def visit(text: str, cm: list, tm: list, font: Any, size: float) -> None:
        # Effective size and position: the text matrix composed with the current transformation matrix.
        c = tm[2] * cm[1] + tm[3] * cm[3]
        d = tm[2] * cm[0] + tm[3] * cm[2]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        frags.append((text, abs(size) * (c * c + d * d) ** 0.5, y))

    page.extract_text(visitor_text=visit)
    lines: list[_Line] = []
    parts: list[str] = []
    sizes: Counter[float] = Counter()
    y0: float | None = None

    def flush() -> None:
        nonlocal parts, sizes, y0
        text = clean("".join(parts).replace("\x7f", "•"))  # ReportLab's bullet glyph extracts as DEL
        if text:
            lines.append(_Line(text, sizes.most_common(1)[0][0] if sizes else 0.0, y0, number))
        parts, sizes, y0 = [], Counter(), None

    for text, size, y in frags:
        for i, piece in enumerate(text.split("\n")):
            if i:
                flush()
            if piece:
                parts.append(piece)
                if piece.strip():
                    sizes[round(size * 2) / 2] += len(piece.strip())
                    y0 = y if y0 is None else y0
    flush()
    return lines


def _drop_running_lines(lines: list[_Line], heights: dict[int, tuple[float, float]], pages: int) -> list[_Line]:
    """Remove page numbers and headers/footers that repeat in the page margins."""

    def in_margin(line: _Line) -> bool:
        bottom, top = heights.get(line.page, (0.0, 0.0))
        h = top - bottom
        return line.y is not None and h > 0 and (line.y > top - 0.08 * h or line.y < bottom + 0.08 * h)

    def key(line: _Line) -> str:
        return re.sub(r"\d+", "#", line.text.lower())

    seen: Counter[str] = Counter()
    for k in {(key(line), line.page) for line in lines if in_margin(line)}:
        seen[k[0]] += 1
    repeated = {k for k, n in seen.items() if pages >= 2 and n >= max(2, pages // 2)}
    return [
        line for line in lines
        if not (in_margin(line) and (key(line) in repeated or _PAGE_NO.match(line.text)))
    ]


def _pdf_blocks(lines: list[_Line]) -> list[Block]:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    gaps = [a.y - b.y for a, b in zip(lines, lines[1:]) if a.page == b.page and a.y is not None and b.y is not None
            and a.size == body and b.size == body and 0 < a.y - b.y < 3 * body]
    leading = statistics.median(gaps) if gaps else body * 1.2
    blocks: list[Block] = []
    prev: _Line | None = None
    for line in lines:
        heading = body > 0 and line.size >= body * 1.15 and len(line.text) <= MAX_HEADING_CHARS
        text, bullet = line.text, bool(_BULLET.match(line.text))
        if bullet:
            text = "- " + _BULLET.sub("", text)
        gap = prev.y - line.y if prev and prev.y is not None and line.y is not None else None
        same_para = (
            prev is not None and blocks and prev.page == line.page and blocks[-1].heading == heading
            and not bullet and (gap is None or 0 < gap <= (1.9 * line.size if heading else 1.45 * leading))
        )
        if same_para:
            last = blocks[-1]
            glue = "" if re.search(r"\w-$", last.text) and text[:1].islower() else " "
            last.text = f"{last.text}{glue}{text}"
            if heading and len(last.text) > MAX_HEADING_CHARS:
                last.heading = False
        else:
            blocks.append(Block(text, heading=heading, page=line.page))
        prev = line
    return blocks


def _pdf_props(reader: Any) -> dict[str, Any]:
    try:
        meta = reader.metadata or {}
        props = {
            "title": meta.get("/Title"), "authors": meta.get("/Author"), "subject": meta.get("/Subject"),
            "keywords": meta.get("/Keywords"), "created": meta.get("/CreationDate"),
        }
        return {k: clean(str(v)) for k, v in props.items() if v and clean(str(v))}
    except Exception:  # broken info dictionaries are common and never worth failing a file over
        return {}


def parse_pdf(c: Checked) -> Parsed:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, EmptyFileError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(c.data))
    except EmptyFileError as e:
        raise IngestError("file is empty") from e
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise IngestError(f"PDF is damaged ({e})") from e
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")  # many 'protected' PDFs only restrict printing/copying: empty user password
        except DependencyError as e:
            raise IngestError(f"PDF is encrypted and cannot be decrypted here ({e})") from e
        except Exception:  # any failure to decrypt is a password problem from the user's point of view
            ok = 0
        if not ok:
            raise IngestError("PDF is encrypted (password required)")
    try:
        pages = list(reader.pages)
    except FileNotDecryptedError as e:
        raise IngestError("PDF is encrypted (password required)") from e
    except Exception as e:  # a damaged page tree: there is nothing to read
        raise IngestError(f"PDF is damaged ({type(e).__name__}: {e})") from e
    if not pages:
        raise IngestError("PDF has no pages")
    lines: list[_Line] = []
    heights: dict[int, tuple[float, float]] = {}
    failures: list[str] = []
    for number, page in enumerate(pages, start=1):
        try:
            box = page.mediabox
            heights[number] = (float(box.bottom), float(box.top))
            lines.extend(_page_lines(page, number))
        except Exception as e:  # one damaged page should not cost the rest of the document
            failures.append(f"page {number}: {type(e).__name__}: {e}")
    if failures and len(failures) == len(pages):
        raise IngestError(f"PDF is damaged (no page could be read; {failures[0]})")
    if not any(_has_words(line.text) for line in lines):
        raise IngestError("PDF has no text layer (scanned?)")
    blocks = _pdf_blocks(_drop_running_lines(lines, heights, len(pages)))
    return Parsed(blocks, props=_pdf_props(reader))


PARSERS = {
    "pdf": parse_pdf, "docx": parse_docx, "pptx": parse_pptx, "xlsx": parse_xlsx, "csv": parse_csv,
    "html": parse_html, "md": parse_md, "txt": parse_txt, "eml": parse_eml,
}


def parse(c: Checked) -> Parsed:
    return PARSERS[c.format](c)
