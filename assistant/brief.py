"""A capability brief: the matching projects of an answer, with cited outcomes and contacts, on one page.

What a salesperson sends a prospect. Markdown for pasting, DOCX for sending.
"""

from __future__ import annotations

import io
from datetime import date

from assistant.models import Answer


def _project_lines(answer: Answer):
    cites = {c.n: c for c in answer.citations}
    for pm in answer.projects:
        quotes = [cites[n] for n in pm.citations if n in cites]
        yield pm, quotes


def brief_markdown(answer: Answer, company: str = "Our team") -> str:
    lines = [f"# Capability brief: {answer.question.strip().rstrip('?')}", "",
             f"{company} — prepared {date.today().isoformat()}", ""]
    if answer.abstained or not answer.projects:
        lines += ["We have no record of this exact work in our documents.", ""]
    for pm, quotes in _project_lines(answer):
        head = pm.name + (f" — {pm.client}" if pm.client else "") + (f" ({pm.period})" if pm.period else "")
        lines += [f"## {head}", ""]
        for c in quotes:
            lines.append(f"- {c.snippet} [{c.n}]")
        if pm.people:
            lines.append(f"- Contacts: {', '.join(pm.people[:4])}")
        lines.append("")
    if answer.citations:
        lines.append("### Sources")
        for c in answer.citations:
            loc = f", {c.location}" if c.location else ""
            lines.append(f"[{c.n}] {c.title or c.source} ({c.source}{loc}{', ' + c.date if c.date else ''})")
    return "\n".join(lines).strip() + "\n"


def brief_docx(answer: Answer, company: str = "Our team") -> bytes:
    from docx import Document as Docx
    from docx.shared import Pt

    doc = Docx()
    doc.add_heading(f"Capability brief: {answer.question.strip().rstrip('?')}", level=1)
    doc.add_paragraph(f"{company} — prepared {date.today().isoformat()}")
    if answer.abstained or not answer.projects:
        doc.add_paragraph("We have no record of this exact work in our documents.")
    for pm, quotes in _project_lines(answer):
        head = pm.name + (f" — {pm.client}" if pm.client else "") + (f" ({pm.period})" if pm.period else "")
        doc.add_heading(head, level=2)
        for c in quotes:
            doc.add_paragraph(f"{c.snippet} [{c.n}]", style="List Bullet")
        if pm.people:
            doc.add_paragraph(f"Contacts: {', '.join(pm.people[:4])}", style="List Bullet")
    if answer.citations:
        doc.add_heading("Sources", level=3)
        for c in answer.citations:
            p = doc.add_paragraph(f"[{c.n}] {c.title or c.source} ({c.source}{', ' + c.location if c.location else ''})")
            for r in p.runs:
                r.font.size = Pt(8)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
