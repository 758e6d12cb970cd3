"""Refuse bad input before any parser touches it: size caps, content sniffing, zip bombs, binary 'text'.

Everything here is cheap and bounded: the file is stat-ed before it is read, and ZIP packages are judged
from their central directory (declared sizes) without inflating anything. Python's zipfile never
inflates a member past its declared size (it raises on CRC/size mismatch), so the declared sizes we
check here also bound what python-docx/openpyxl will later allocate.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from assistant.settings import Settings
from ingest.errors import IngestError

TEXT_FORMATS = {"csv", "html", "md", "txt", "eml"}
OOXML_MAIN_PART = {  # the part that makes a ZIP a Word / PowerPoint / Excel package
    "docx": ("word/document.xml", "Word document"),
    "pptx": ("ppt/presentation.xml", "PowerPoint presentation"),
    "xlsx": ("xl/workbook.xml", "Excel workbook"),
}
FORMAT_OF = {
    ".pdf": "pdf", ".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".csv": "csv", ".html": "html",
    ".htm": "html", ".md": "md", ".markdown": "md", ".txt": "txt", ".eml": "eml",
}
MAX_RATIO = 100  # normal OOXML compresses 3-20x; hundreds to one means repeated filler
RATIO_FLOOR_MB = 20.0  # below this much inflated data a high ratio is harmless (tiny repetitive files)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.ppt/.xls, and password-protected OOXML
MB = 1024 * 1024


@dataclass(frozen=True)
class Checked:
    """A file that passed the checks, read once: its bytes, hash and (for text formats) decoded text."""

    path: Path
    format: str
    data: bytes
    sha256: str
    text: str | None = None


def format_for(name: str) -> str:
    ext = Path(name).suffix.lower()
    if ext not in FORMAT_OF:
        raise IngestError(f"unsupported file type {ext or '(no extension)'}")
    return FORMAT_OF[ext]


def check_file(path: Path, fmt: str, settings: Settings) -> Checked:
    """Read `path` as format `fmt` (from format_for) or raise IngestError saying why not."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise IngestError(f"cannot read file: {e.strerror or e}") from e
    if not path.is_file():
        raise IngestError("not a regular file")
    if size == 0:
        raise IngestError("file is empty")
    if size > settings.max_file_mb * MB:
        raise IngestError(f"file is too large ({size / MB:.1f} MB; the limit is {settings.max_file_mb:g} MB)")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(f"cannot read file: {e.strerror or e}") from e
    if not data.strip():
        raise IngestError("file is empty")
    digest = hashlib.sha256(data).hexdigest()
    if fmt == "pdf":
        _check_pdf(data)
        return Checked(path, fmt, data, digest)
    if fmt in OOXML_MAIN_PART:
        _check_ooxml(path, data, fmt, settings)
        return Checked(path, fmt, data, digest)
    return Checked(path, fmt, data, digest, text=decode_text(data))


def _describe(data: bytes) -> str:
    """What the bytes look like, for error messages about a wrong extension."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF"):
        return "a PDF"
    if data.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if data.startswith(OLE_MAGIC):
        return "a legacy Office (OLE) file"
    if head[:1] == b"<":
        return "HTML/XML text"
    if b"\x00" in data[:4096]:
        return "binary data"
    return "text"


def _check_pdf(data: bytes) -> None:
    if b"%PDF-" not in data[:1024]:  # the spec allows junk before the header, within the first 1 KB
        raise IngestError(f"not a PDF (content is {_describe(data)}, not %PDF)")
    if b"%%EOF" not in data[-4096:]:
        # A PDF is read from its end (xref table + trailer); without the marker the file was cut short.
        raise IngestError("PDF is truncated or damaged (no %%EOF end marker)")


def _check_ooxml(path: Path, data: bytes, fmt: str, settings: Settings) -> None:
    main_part, kind = OOXML_MAIN_PART[fmt]
    if data.startswith(OLE_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in data:
            raise IngestError(f"{kind} is encrypted (password required)")
        raise IngestError(f"not a .{fmt} file (legacy Office format; save it as .{fmt})")
    if not data.startswith(b"PK\x03\x04"):
        raise IngestError(f"not a valid {kind} (content is {_describe(data)}, not a ZIP package)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise IngestError(f"not a valid {kind} (damaged ZIP package: {e})") from e
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names:
        raise IngestError(f"not a valid {kind} (ZIP archive without [Content_Types].xml)")
    if main_part not in names:
        raise IngestError(f"not a valid {kind} (package has no {main_part})")
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    biggest = max(infos, key=lambda i: i.file_size)
    if total > settings.max_unzipped_mb * MB:
        raise IngestError(
            f"decompression bomb: {biggest.filename} would inflate to {biggest.file_size / MB:.0f} MB "
            f"({total / MB:.0f} MB in all; the limit is {settings.max_unzipped_mb:g} MB)"
        )
    if total > RATIO_FLOOR_MB * MB and total / packed > MAX_RATIO:
        raise IngestError(
            f"decompression bomb: {biggest.filename} would inflate to {biggest.file_size / MB:.0f} MB "
            f"(compression ratio {total / packed:.0f}:1)"
        )


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM, or UTF-16 with BOM); else cp1252/latin-1. Either way it must read as text:
    no NUL bytes and almost all printable (control bytes are valid UTF-8, so decoding alone proves nothing)."""
    text: str | None = None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if text is None:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            if b"\x00" in data:
                raise IngestError("not a text file (binary data)") from None
            try:
                text = data.decode("cp1252")  # latin-1's printable range plus Windows smart quotes
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    sample = text[:100_000]  # enough to judge; keeps the check cheap on big files
    printable = sum(1 for c in sample if c.isprintable() or c.isspace())
    if "\x00" in text or printable < 0.95 * len(sample):
        raise IngestError("not a text file (binary data)")
    return text
