"""The project registry: the list a services company keeps in its PSA or CRM, imported from CSV, XLSX or YAML.

Each row is a project: name, aliases, client, start, end, status, team (person + role), industry,
technologies and the folder that holds its documents. A registry is validated row by row (every error
names its row and field) and stored in the store beside the documents, so every instance sees it.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

REGISTRY_FILES = ("projects.csv", "projects.yaml", "projects.yml", "projects.xlsx")  # read from an ingested folder's root
_LIST_SPLIT = re.compile(r"\s*[;|\n]\s*")


class RegistryError(ValueError):
    """A registry file that cannot be used; `errors` lists one message per bad row or field."""

    def __init__(self, source: str, errors: list[str]):
        self.errors = errors
        super().__init__(f"{source}: " + "; ".join(errors[:10]) + (f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""))


class Member(BaseModel):
    name: str
    role: str | None = None


def _iso(value: Any) -> str | None:
    from ingest.metadata import to_iso

    if value in (None, ""):
        return None
    if isinstance(value, int) or re.fullmatch(r"\d{4}", str(value).strip()):
        return f"{int(value):04d}-01-01"
    if re.fullmatch(r"\d{4}-\d\d", str(value).strip()):
        return f"{str(value).strip()}-01"
    iso = to_iso(value)
    if iso is None:
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD)")
    return iso


def _list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else _LIST_SPLIT.split(str(value))
    return [str(i).strip() for i in items if str(i).strip()]


class RegistryProject(BaseModel):
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    client: str | None = None
    start: str | None = None
    end: str | None = None
    status: Literal["active", "completed"] | None = None
    team: list[Member] = Field(default_factory=list)
    industry: str | None = None
    technologies: list[str] = Field(default_factory=list)
    folder: str | None = None  # documents under this folder (relative to the ingested root) belong to the project

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> str:
        return str(v or "").strip()

    @field_validator("aliases", "technologies", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> list[str]:
        return _list(v)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _dates(cls, v: Any) -> str | None:
        return _iso(v)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any) -> str | None:
        v = str(v or "").strip().lower()
        return {"": None, "done": "completed", "closed": "completed", "complete": "completed", "finished": "completed",
                "ongoing": "active", "open": "active", "in progress": "active"}.get(v, v)

    @field_validator("team", mode="before")
    @classmethod
    def _team(cls, v: Any) -> list[dict]:
        """'Jane Doe (tech lead); Sam Roe' or a YAML list of names or {name, role}."""
        out = []
        for item in v if isinstance(v, list) else _list(v):
            if isinstance(item, dict):
                out.append(item)
                continue
            m = re.fullmatch(r"\s*(.+?)\s*(?:\(([^)]*)\)|[-–—:]\s*(.+))?\s*", str(item))
            if m:
                out.append({"name": m.group(1), "role": (m.group(2) or m.group(3) or None)})
        return out

    @field_validator("folder", mode="before")
    @classmethod
    def _folder(cls, v: Any) -> str | None:
        v = str(v or "").strip().strip("/").replace("\\", "/")
        return v or None


class Registry(BaseModel):
    projects: list[RegistryProject] = Field(default_factory=list)
    source: str = ""  # the file it was imported from


def _rows(path: Path) -> list[dict]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        return [{(k or "").strip().lower(): v for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]
    if suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = data.get("projects", [])
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise RegistryError(path.name, ["expected a list of projects (or a 'projects:' key holding one)"])
        return [{str(k).strip().lower(): v for k, v in r.items()} for r in data]
    if suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        if not rows:
            return []
        head = [str(h or "").strip().lower() for h in rows[0]]
        return [{h: v for h, v in zip(head, r) if h} for r in rows[1:] if any(c not in (None, "") for c in r)]
    raise RegistryError(path.name, [f"unsupported registry format {suffix!r}; use .csv, .xlsx or .yaml"])


def load_registry(path: Path | str) -> Registry:
    """Read and validate a registry file. Raises RegistryError listing every bad row (row 1 is the first project)."""
    path = Path(path)
    try:
        rows = _rows(path)
    except RegistryError:
        raise
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise RegistryError(path.name, [f"cannot read: {e}"]) from e
    except Exception as e:  # openpyxl and yaml raise their own types on broken files
        raise RegistryError(path.name, [f"cannot read: {type(e).__name__}: {e}"]) from e
    projects, errors, seen = [], [], {}
    for i, row in enumerate(rows, start=1):
        row = {k: v for k, v in row.items() if k}
        try:
            p = RegistryProject.model_validate(row)
        except ValidationError as e:
            errors += [f"row {i}: {'.'.join(str(x) for x in err['loc']) or 'row'}: {err['msg']}" for err in e.errors()]
            continue
        key = p.name.lower()
        if key in seen:
            errors.append(f"row {i}: name: {p.name!r} is already row {seen[key]}")
            continue
        seen[key] = i
        projects.append(p)
    if errors:
        raise RegistryError(path.name, errors)
    return Registry(projects=projects, source=path.name)
