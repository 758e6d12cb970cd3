"""Build the bundled demo corpus from its readable sources.

    python -m ingest.sample_corpus.build            # regenerate docs/ from src/*.yaml
    python -m ingest.sample_corpus.build --check    # also verify the eval dataset against docs/

Every document of the fictional company "Brightfield Digital" is described in
``src/*.yaml`` (one file per project, plus ``company.yaml``). This script renders
them into ``docs/`` as PDF, DOCX, PPTX, XLSX, HTML, Markdown and EML files.

Output is deterministic: fixed document properties, fixed ZIP timestamps for the
Office formats, ReportLab's ``invariant`` mode for PDF, fixed MIME boundaries and
Message-IDs for e-mail. Rebuilding without changing the sources gives the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import html
import io
import re
import shutil
import sys
import zipfile
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
DOCS = HERE / "docs"

COMPANY = "Brightfield Digital"
FIXED_ZIP_TIME = (2025, 1, 1, 0, 0, 0)
FORMATS = ("pdf", "docx", "pptx", "xlsx", "html", "md", "eml")


# --------------------------------------------------------------------------- sources


def load_sources(src: Path = SRC) -> list[dict[str, Any]]:
    """All document specs from src/*.yaml, in a stable order, validated."""
    docs: list[dict[str, Any]] = []
    for f in sorted(src.glob("*.yaml")):
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        for d in data.get("documents", []):
            d["_source_file"] = f.name
            docs.append(d)
    seen: set[str] = set()
    for d in docs:
        for key in ("file", "format", "title", "client", "project", "date", "doc_type"):
            if not d.get(key):
                raise ValueError(f"{d.get('file', '?')} ({d['_source_file']}): missing {key!r}")
        if d["file"] in seen:
            raise ValueError(f"duplicate file {d['file']}")
        seen.add(d["file"])
        if d["format"] not in FORMATS or not d["file"].endswith("." + d["format"]):
            raise ValueError(f"{d['file']}: format {d['format']!r} does not match the file name")
        d["date"] = str(d["date"])
        d.setdefault("people", [])
        d.setdefault("tags", [])
    return docs


def iso_date(d: dict) -> dt.date:
    return dt.date.fromisoformat(d["date"])


def fixed_datetime(d: dict) -> dt.datetime:
    day = iso_date(d)
    return dt.datetime(day.year, day.month, day.day, 9, 0, 0)


def plain_text(d: dict) -> str:
    """Every word a document carries, as plain text (used by the dataset check)."""
    out: list[str] = [d["title"], d.get("subtitle", ""), d["client"], d["project"]]
    for s in d.get("sections", []):
        out.append(s.get("heading", ""))
        out.extend(s.get("paragraphs", []))
        out.extend(_flatten_bullets(s.get("bullets", [])))
        if s.get("table"):
            out.extend(s["table"]["columns"])
            out.extend(" | ".join(map(str, r)) for r in s["table"]["rows"])
        out.extend(s.get("after", []))
    for sl in d.get("slides", []):
        out.append(sl.get("title", ""))
        out.append(sl.get("subtitle", ""))
        out.extend(_flatten_bullets(sl.get("bullets", [])))
        out.append(sl.get("notes", ""))
    for sh in d.get("sheets", []):
        out.extend(sh["columns"])
        out.extend(" | ".join(map(str, r)) for r in sh["rows"])
    if d.get("email"):
        e = d["email"]
        out.extend([e["from"], e["subject"], eml_body(d)])
        for a in e.get("attachments", []):
            out.append(a["content"])
    return "\n".join(x for x in out if x)


def _flatten_bullets(items: list) -> list[str]:
    flat: list[str] = []
    for it in items:
        if isinstance(it, dict):
            flat.append(it["text"])
            flat.extend(_flatten_bullets(it.get("sub", [])))
        else:
            flat.append(str(it))
    return flat


def _bullet_levels(items: list, level: int = 0) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for it in items:
        if isinstance(it, dict):
            out.append((level, it["text"]))
            out.extend(_bullet_levels(it.get("sub", []), level + 1))
        else:
            out.append((level, str(it)))
    return out


# --------------------------------------------------------------------------- zip normalisation

_CORE_DATE = re.compile(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")
_CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
_VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
_CUSTOM_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
_CUSTOM_CT = "application/vnd.openxmlformats-officedocument.custom-properties+xml"


def custom_properties(d: dict) -> dict[str, str]:
    """The document's metadata as Office custom properties (what SharePoint columns would hold)."""
    return {
        "Client": d["client"],
        "Project": d["project"],
        "DocType": d["doc_type"],
        "DocDate": d["date"],
        "People": "; ".join(d["people"]),
    }


def _custom_xml(props: dict[str, str]) -> bytes:
    items = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{i}" name="{html.escape(k)}">'
        f"<vt:lpwstr>{html.escape(v, quote=False)}</vt:lpwstr></property>"
        for i, (k, v) in enumerate(props.items(), start=2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<Properties xmlns="{_CUSTOM_NS}" xmlns:vt="{_VT_NS}">{items}</Properties>'
    ).encode("utf-8")


def normalize_zip(path: Path, stamp: dt.datetime, custom: dict[str, str] | None = None) -> None:
    """Rewrite an OOXML package with fixed timestamps (so rebuilds are byte-stable) and custom properties."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(path) as zin:
        entries = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    names = {n for n, _ in entries}
    if custom and "docProps/custom.xml" not in names:
        fixed = []
        for name, data in entries:
            if name == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    f'<Override PartName="/docProps/custom.xml" ContentType="{_CUSTOM_CT}"/></Types>'.encode(),
                )
            elif name == "_rels/.rels":
                data = data.replace(
                    b"</Relationships>",
                    f'<Relationship Id="rIdCustomProps" Type="{_CUSTOM_REL}" Target="docProps/custom.xml"/>'
                    "</Relationships>".encode(),
                )
            fixed.append((name, data))
            if name == "docProps/core.xml":
                fixed.append(("docProps/custom.xml", _custom_xml(custom)))
        entries = fixed
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            if name == "docProps/core.xml":
                data = _CORE_DATE.sub(lambda m: m.group(1) + iso + m.group(3), data.decode("utf-8")).encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zout.writestr(info, data, compresslevel=9)
    path.write_bytes(buf.getvalue())


def authors(d: dict) -> str:
    """Who wrote it: an explicit author, else the Brightfield people the document names."""
    return d.get("author") or "; ".join(d["people"]) or COMPANY


# --------------------------------------------------------------------------- writers


def write_markdown(d: dict, out: Path) -> None:
    front = {
        "title": d["title"],
        "client": d["client"],
        "project": d["project"],
        "date": iso_date(d),
        "people": list(d["people"]),
        "tags": list(d["tags"]),
        "doc_type": d["doc_type"],
    }
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000).rstrip(), "---", ""]
    lines += [f"# {d['title']}", ""]
    if d.get("subtitle"):
        lines += [f"*{d['subtitle']}*", ""]
    for s in d.get("sections", []):
        level = s.get("level", 1) + 1
        if s.get("heading"):
            lines += ["#" * level + " " + s["heading"], ""]
        for p in s.get("paragraphs", []):
            lines += [p.strip(), ""]
        if s.get("bullets"):
            for lvl, b in _bullet_levels(s["bullets"]):
                lines.append("  " * lvl + "- " + b.strip())
            lines.append("")
        if s.get("table"):
            t = s["table"]
            lines.append("| " + " | ".join(t["columns"]) + " |")
            lines.append("|" + "|".join("---" for _ in t["columns"]) + "|")
            for r in t["rows"]:
                lines.append("| " + " | ".join(str(c) for c in r) + " |")
            lines.append("")
        for p in s.get("after", []):
            lines += [p.strip(), ""]
    out.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def write_html(d: dict, out: Path) -> None:
    e = html.escape
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(d['title'])}</title>",
        f'<meta name="client" content="{e(d["client"])}">',
        f'<meta name="project" content="{e(d["project"])}">',
        f'<meta name="date" content="{e(d["date"])}">',
        f'<meta name="doc_type" content="{e(d["doc_type"])}">',
        f'<meta name="people" content="{e(", ".join(d["people"]))}">',
        f'<meta name="keywords" content="{e(", ".join(d["tags"]))}">',
        *[f'<meta name="author" content="{e(a)}">' for a in (d["people"] or [COMPANY])],
        "</head>",
        "<body>",
        "<header>",
        f"<p>{e(COMPANY)} &middot; Case studies</p>",
        "</header>",
        "<main>",
        "<article>",
        f"<h1>{e(d['title'])}</h1>",
    ]
    body: list[str] = []
    if d.get("subtitle"):
        body.append(f'<p class="subtitle">{e(d["subtitle"])}</p>')
    body.append('<div class="meta">')
    body.append(f"<p>Client: {e(d['client'])}</p>")
    body.append(f"<p>Project: {e(d['project'])}</p>")
    body.append(f"<p>Published: {e(d['date'])}</p>")
    body.append("</div>")
    for s in d.get("sections", []):
        lvl = s.get("level", 1) + 1
        if s.get("heading"):
            body.append(f"<h{lvl}>{e(s['heading'])}</h{lvl}>")
        for p in s.get("paragraphs", []):
            body.append(f"<p>{e(p.strip())}</p>")
        if s.get("bullets"):
            body.append(_html_list(s["bullets"]))
        if s.get("table"):
            t = s["table"]
            body.append("<table>")
            body.append("<thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in t["columns"]) + "</tr></thead>")
            body.append("<tbody>")
            for r in t["rows"]:
                body.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>")
            body.append("</tbody>")
            body.append("</table>")
        for p in s.get("after", []):
            body.append(f"<p>{e(p.strip())}</p>")
    tail = [
        "</article>",
        "</main>",
        "<footer>",
        f"<p>&copy; {iso_date(d).year} {e(COMPANY)}. Client names used with permission.</p>",
        "</footer>",
        "</body>",
        "</html>",
    ]
    out.write_text("\n".join(head + body + tail) + "\n", encoding="utf-8")


def _html_list(items: list) -> str:
    parts = ["<ul>"]
    for it in items:
        if isinstance(it, dict):
            parts.append(f"<li>{html.escape(it['text'])}")
            if it.get("sub"):
                parts.append(_html_list(it["sub"]))
            parts.append("</li>")
        else:
            parts.append(f"<li>{html.escape(str(it))}</li>")
    parts.append("</ul>")
    return "\n".join(parts)


def eml_body(d: dict) -> str:
    """The plain-text body; status e-mails open with the status template's header block."""
    body = d["body"].strip() + "\n"
    if d["doc_type"] == "status_update":
        header = f"Client: {d['client']}\nStatus date: {d['date']}\nProject: {d['project']}\n\n"
        body = header + body
    return body


def write_eml(d: dict, out: Path) -> None:
    em = d["email"]
    msg = EmailMessage(policy=default_policy)
    msg["From"] = em["from"]
    msg["To"] = ", ".join(em["to"])
    if em.get("cc"):
        msg["Cc"] = ", ".join(em["cc"])
    msg["Date"] = em["date"]
    msg["Subject"] = em["subject"]
    digest = hashlib.sha1(d["file"].encode()).hexdigest()[:16]
    msg["Message-ID"] = f"<{digest}.{d['date']}@brightfield.example>"
    msg["X-Project"] = d["project"]
    msg.set_content(eml_body(d), cte="8bit")
    for a in em.get("attachments", []):
        msg.add_attachment(a["content"].strip() + "\n", subtype="plain", filename=a["filename"], cte="8bit")
    if msg.is_multipart():
        msg.set_boundary(f"=_brightfield_{digest}")
    out.write_bytes(msg.as_bytes(policy=default_policy.clone(linesep="\n")))


def write_docx(d: dict, out: Path) -> None:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(11)
    doc.add_heading(d["title"], level=0)
    if d.get("subtitle"):
        p = doc.add_paragraph(d["subtitle"])
        p.runs[0].italic = True
    for label, value in (("Client", d["client"]), ("Project", d["project"]), ("Date", d["date"])):
        meta = doc.add_paragraph(f"{label}: {value}")
        meta.runs[0].font.size = Pt(9)
        meta.paragraph_format.space_after = Pt(0)
    for s in d.get("sections", []):
        if s.get("heading"):
            doc.add_heading(s["heading"], level=s.get("level", 1))
        for p in s.get("paragraphs", []):
            doc.add_paragraph(p.strip())
        if s.get("bullets"):
            for lvl, b in _bullet_levels(s["bullets"]):
                doc.add_paragraph(b.strip(), style="List Bullet" if lvl == 0 else "List Bullet 2")
        if s.get("table"):
            t = s["table"]
            table = doc.add_table(rows=1, cols=len(t["columns"]))
            table.style = "Light Grid Accent 1"
            for cell, text in zip(table.rows[0].cells, t["columns"]):
                cell.text = str(text)
            for r in t["rows"]:
                cells = table.add_row().cells
                for cell, text in zip(cells, r):
                    cell.text = str(text)
            doc.add_paragraph()
        for p in s.get("after", []):
            doc.add_paragraph(p.strip())
    cp = doc.core_properties
    stamp = fixed_datetime(d)
    cp.title = d["title"]
    cp.author = authors(d)
    cp.last_modified_by = COMPANY
    cp.subject = f"{d['project']} - {d['client']}"
    cp.keywords = ", ".join(d["tags"])
    cp.category = d["doc_type"]
    cp.comments = "People: " + ", ".join(d["people"])
    cp.created = stamp
    cp.modified = stamp
    cp.last_printed = stamp
    cp.revision = 1
    doc.save(str(out))
    normalize_zip(out, stamp, custom_properties(d))


def write_pptx(d: dict, out: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches, Pt

    prs = Presentation()
    prs.slide_width = Inches(13.333)
    prs.slide_height = Inches(7.5)
    title_layout, content_layout = prs.slide_layouts[0], prs.slide_layouts[1]
    for i, sl in enumerate(d["slides"]):
        if i == 0:
            slide = prs.slides.add_slide(title_layout)
            slide.shapes.title.text = sl["title"]
            slide.placeholders[1].text = sl.get("subtitle", "")
        else:
            slide = prs.slides.add_slide(content_layout)
            slide.shapes.title.text = sl["title"]
            body = slide.placeholders[1]
            body.left, body.top, body.width, body.height = Inches(0.7), Inches(1.6), Inches(11.9), Inches(5.4)
            tf = body.text_frame
            items = _bullet_levels(sl.get("bullets", []))
            for j, (lvl, text) in enumerate(items):
                para = tf.paragraphs[0] if j == 0 else tf.add_paragraph()
                para.text = text
                para.level = lvl
                para.font.size = Pt(20 if lvl == 0 else 17)
        slide.shapes.title.left = Inches(0.7)
        slide.shapes.title.width = Inches(11.9)
        if sl.get("notes"):
            slide.notes_slide.notes_text_frame.text = sl["notes"].strip()
    cp = prs.core_properties
    stamp = fixed_datetime(d)
    cp.title = d["title"]
    cp.author = authors(d)
    cp.last_modified_by = COMPANY
    cp.subject = f"{d['project']} - {d['client']}"
    cp.keywords = ", ".join(d["tags"])
    cp.category = d["doc_type"]
    cp.comments = "People: " + ", ".join(d["people"])
    cp.created = stamp
    cp.modified = stamp
    cp.last_printed = stamp
    cp.revision = 1
    prs.save(str(out))
    normalize_zip(out, stamp, custom_properties(d))


def write_xlsx(d: dict, out: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    for sh in d["sheets"]:
        ws = wb.create_sheet(sh["name"])
        ws.append(sh["columns"])
        for c in ws[1]:
            c.font = Font(bold=True)
            c.fill = PatternFill("solid", fgColor="DDE7F0")
        for r in sh["rows"]:
            ws.append([_cell(v) for v in r])
        for i, col in enumerate(sh["columns"], start=1):
            values = [str(col)] + [str(r[i - 1]) for r in sh["rows"]]
            ws.column_dimensions[get_column_letter(i)].width = min(60, max(10, max(len(v) for v in values) + 2))
            for row in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                for c in row:
                    if isinstance(c.value, dt.date):
                        c.number_format = "yyyy-mm-dd"
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
    stamp = fixed_datetime(d)
    wb.properties.title = d["title"]
    wb.properties.creator = authors(d)
    wb.properties.lastModifiedBy = COMPANY
    wb.properties.subject = f"{d['project']} - {d['client']}"
    wb.properties.keywords = ", ".join(d["tags"])
    wb.properties.category = d["doc_type"]
    wb.properties.created = stamp
    wb.save(str(out))
    normalize_zip(out, stamp, custom_properties(d))


def _cell(v: Any) -> Any:
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return dt.date.fromisoformat(v)
    return v


def write_pdf(d: dict, out: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import (
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    for chunk in plain_text(d).splitlines():
        chunk.encode("cp1252")  # the standard PDF fonts only cover WinAnsi

    ss = getSampleStyleSheet()
    body = ParagraphStyle("Body", parent=ss["BodyText"], fontSize=10.5, leading=14.5, alignment=TA_LEFT, spaceAfter=6)
    cell = ParagraphStyle("Cell", parent=body, fontSize=9, leading=11.5, spaceAfter=0)
    h = {1: ss["Heading1"], 2: ss["Heading2"]}
    esc = lambda s: html.escape(str(s).strip(), quote=False)  # noqa: E731

    story: list = [Paragraph(esc(d["title"]), ss["Title"])]
    if d.get("subtitle"):
        story.append(Paragraph(f"<i>{esc(d['subtitle'])}</i>", ParagraphStyle("Sub", parent=body, spaceAfter=20)))
    meta = ParagraphStyle("Meta", parent=body, fontSize=9, leading=12, spaceAfter=22)
    for label, value in (("Client", d["client"]), ("Project", d["project"]), ("Date", d["date"])):
        story.append(Paragraph(f"{label}: {esc(value)}", meta))
    story.append(Spacer(1, 8))
    for s in d.get("sections", []):
        if s.get("page_break"):
            story.append(PageBreak())
        if s.get("heading"):
            story.append(Paragraph(esc(s["heading"]), h[s.get("level", 1)]))
        for p in s.get("paragraphs", []):
            story.append(Paragraph(esc(p), body))
        if s.get("bullets"):
            for lvl, b in _bullet_levels(s["bullets"]):
                style = ParagraphStyle(f"Bullet{lvl}", parent=body, leftIndent=14 + 14 * lvl, firstLineIndent=-10, spaceAfter=3)
                story.append(Paragraph("\u2022 " + esc(b), style))
            story.append(Spacer(1, 4))
        if s.get("table"):
            t = s["table"]
            data = [[Paragraph(f"<b>{esc(c)}</b>", cell) for c in t["columns"]]]
            data += [[Paragraph(esc(c), cell) for c in r] for r in t["rows"]]
            width = 6.5 * inch
            tbl = Table(data, colWidths=[width / len(t["columns"])] * len(t["columns"]), repeatRows=1)
            tbl.setStyle(
                TableStyle(
                    [
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE7F0")),
                        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#8899AA")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story += [tbl, Spacer(1, 8)]
        for p in s.get("after", []):
            story.append(Paragraph(esc(p), body))

    footer = f"{COMPANY} | {d['project']} | {d['client']}"

    def on_page(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(colors.HexColor("#556677"))
        canvas.drawString(inch, 0.6 * inch, footer)
        canvas.drawRightString(LETTER[0] - inch, 0.6 * inch, f"Page {doc.page}")
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=LETTER,
        leftMargin=inch,
        rightMargin=inch,
        topMargin=inch,
        bottomMargin=inch,
        title=d["title"],
        author=authors(d),
        subject=f"{d['project']} - {d['client']}",
        keywords=", ".join(d["tags"]),
        creator=COMPANY,
        producer="ReportLab",
        invariant=1,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    # invariant mode stamps 2000-01-01; put the document's own date there instead (same byte length).
    pdf_date = fixed_datetime(d).strftime("D:%Y%m%d%H%M%S+00'00'").encode()
    data = buf.getvalue().replace(b"D:20000101000000+00'00'", pdf_date)
    out.write_bytes(data)


WRITERS = {
    "md": write_markdown,
    "html": write_html,
    "eml": write_eml,
    "docx": write_docx,
    "pptx": write_pptx,
    "xlsx": write_xlsx,
    "pdf": write_pdf,
}


# --------------------------------------------------------------------------- main


def build(docs_dir: Path = DOCS, src: Path = SRC) -> list[Path]:
    from reportlab import rl_config

    rl_config.invariant = 1
    docs = load_sources(src)
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    written: list[Path] = []
    for d in docs:
        out = docs_dir / d["file"]
        out.parent.mkdir(parents=True, exist_ok=True)
        WRITERS[d["format"]](d, out)
        written.append(out)
    return written


def summary(paths: list[Path]) -> str:
    by_fmt: dict[str, int] = {}
    for p in paths:
        by_fmt[p.suffix.lstrip(".")] = by_fmt.get(p.suffix.lstrip("."), 0) + 1
    total = sum(p.stat().st_size for p in paths)
    parts = ", ".join(f"{k}: {by_fmt[k]}" for k in FORMATS if k in by_fmt)
    return f"{len(paths)} documents ({parts}); {total / 1024:.0f} KiB total"


def write_registry(out: Path) -> Path:
    """docs/projects.yaml: the project registry a PSA would export, from the staffing workbook's sheets."""
    company = yaml.safe_load((SRC / "company.yaml").read_text(encoding="utf-8"))
    sheets = {s["name"]: s for d in company["documents"] for s in d.get("sheets", [])}
    team: dict[str, list[dict]] = {}
    techs: dict[str, list[str]] = {}
    for person, role, code, *_rest, skills in sheets["Assignments"]["rows"]:
        team.setdefault(code, []).append({"name": person, "role": role})
        for t in re.split(r",\s*(?![^()]*\))", str(skills)):
            t = t.strip()
            if t and t not in techs.setdefault(code, []):
                techs[code].append(t)
    projects = []
    for code, client, industry, start, end, status, *_ in sheets["Projects"]["rows"]:
        projects.append({
            "name": code, "aliases": [], "client": client, "start": start, "end": end,
            "status": "active" if str(status).lower().startswith("active") else "completed",
            "team": team.get(code, []), "industry": industry, "technologies": techs.get(code, []),
            "folder": code.lower(),
        })
    path = out / "projects.yaml"
    header = "# Project registry (as exported from a PSA): read by `precedent ingest` from a folder's root.\n"
    path.write_text(header + yaml.safe_dump({"projects": projects}, sort_keys=False, allow_unicode=True, width=1000),
                    encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DOCS, help="output folder (default: %(default)s)")
    ap.add_argument("--check", action="store_true", help="also verify evals/datasets/sample.jsonl")
    args = ap.parse_args(argv)
    paths = build(args.out)
    write_registry(args.out)
    print(f"Built {args.out}: {summary(paths)}")
    if args.check:
        from ingest.sample_corpus import check_dataset

        return check_dataset.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
