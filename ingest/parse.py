"""parse_file: one file in, one Document and its Chunks out. Pure: no store access, safe in a worker process."""

from __future__ import annotations

from pathlib import Path

from assistant.models import Chunk, Document
from assistant.settings import Settings, get_settings
from ingest.errors import IngestError

SUPPORTED = {".pdf", ".docx", ".pptx", ".xlsx", ".csv", ".html", ".htm", ".md", ".markdown", ".txt", ".eml"}


def parse_file(path: Path, source: str, settings: Settings | None = None) -> tuple[Document, list[Chunk]]:
    """Parse, chunk and describe one file. Pure (no store access), safe to call in a worker process.
    Raises IngestError for any bad input (never another exception type: wrap unexpected ones as IngestError(f'could not parse: {type(e).__name__}: {e}'))."""
    try:
        return _parse(Path(path), source, settings or get_settings())
    except IngestError:
        raise
    except MemoryError as e:
        raise IngestError("could not parse: out of memory") from e
    except RecursionError as e:
        raise IngestError("could not parse: document is nested too deeply") from e
    except Exception as e:  # the contract: callers only ever see IngestError with a readable reason
        raise IngestError(f"could not parse: {type(e).__name__}: {e}") from e


def _parse(path: Path, source: str, settings: Settings) -> tuple[Document, list[Chunk]]:
    # Imported here so that importing this module stays cheap (the pool imports it in every worker).
    from ingest.chunking import chunk_blocks
    from ingest.metadata import DESCRIBER, describe
    from ingest.parsers import parse
    from ingest.safety import check_file, format_for

    # The user's file name decides the format (uploads may sit in temp files without an extension).
    fmt = format_for(source if Path(source).suffix else path.name)
    checked = check_file(path, fmt, settings)
    parsed = parse(checked)
    drafts = chunk_blocks(parsed.blocks)
    if not drafts:
        raise IngestError("no text found in file")
    meta = describe(parsed, fmt, source)
    doc = Document(
        source=source,
        title=meta.title,
        content_hash=checked.sha256,
        format=fmt,
        doc_type=meta.doc_type,
        date=meta.date,
        project=meta.project,
        client=meta.client,
        people=meta.people,
        authors=meta.authors,
        mentioned=meta.mentioned,
        roles=meta.roles,
        evidence=meta.evidence,
        things=meta.things,
        claims=meta.claims,
        describer=DESCRIBER,
        tags=meta.tags,
        summary=meta.summary,
        bytes=len(checked.data),
        chunk_count=len(drafts),
    )
    chunks = [
        Chunk(document_id=doc.id, index=i, text=d.text, heading=d.heading, page=d.page, slide=d.slide, version=doc.content_hash)
        for i, d in enumerate(drafts)
    ]
    return doc, chunks
