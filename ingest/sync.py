"""Sync files into the store: hash, skip what is unchanged, parse in worker processes, embed, commit.

Parsing runs in a pool of worker processes (pebble) so that a file that hangs is stopped by a
per-file time limit and a file that balloons is stopped by a memory cap, without taking the run
down. The main process embeds in batches while the workers parse the next files.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import re
import shutil
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Callable, Iterable

from pydantic import BaseModel, Field

from assistant.models import Chunk, Document, stable_id
from assistant.settings import EVERYONE, Settings
from assistant.registry import REGISTRY_FILES, RegistryError, load_registry
from ingest.metadata import DESCRIBER

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str, str], None]  # done, total, source, status


class Failure(BaseModel):
    source: str
    error: str


class IngestReport(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[Failure] = Field(default_factory=list)
    documents: int = 0  # documents in the store after the run
    chunks: int = 0
    seconds: float = 0.0
    new_chunks: int = 0  # chunks written in this run
    results: list[dict] = Field(default_factory=list)  # per file: source, status, chunks/error
    answered_gaps: int = 0  # open questions that the new documents now answer

    @property
    def ok(self) -> bool:
        return not self.failed


class Item(BaseModel):
    path: Path
    source: str
    origin: str


def _hidden(p: Path) -> bool:
    return any(part.startswith(".") for part in p.parts)


def _ignored(rel: Path, patterns: Iterable[str]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatch(rel.name, p) or fnmatch.fnmatch(rel.as_posix(), p) for p in patterns)


def discover(paths: Iterable[Path], ignore: Iterable[str] = ()) -> list[Item]:
    """Files under the given paths; a file's source is its path relative to the folder named.

    Inside folders, hidden files and files matching `ignore` (licence notes, editor litter) are skipped;
    a file named explicitly is always taken."""
    items: list[Item] = []
    ignore = list(ignore)
    for root in paths:
        root = Path(root)
        if root.is_dir():
            for f in sorted(root.rglob("*")):
                rel = f.relative_to(root)
                if f.is_file() and not _hidden(rel) and not _ignored(rel, ignore):
                    items.append(Item(path=f, source=rel.as_posix(), origin=str(root.resolve())))
        elif root.exists():
            items.append(Item(path=root, source=root.name, origin=str(root.resolve().parent)))
        else:
            raise FileNotFoundError(f"No such file or folder: {root}")
    return items


def groups_for(source: str, explicit: list[str] | None, settings: Settings) -> list[str]:
    """Access groups: given on the command line or upload, else by folder rules, else the default."""
    if explicit:
        return sorted(set(explicit))
    for prefix, groups in sorted(settings.group_rules.items(), key=lambda kv: -len(kv[0])):
        if source.startswith(prefix):
            return sorted(set(groups))
    return sorted(set(settings.default_groups or [EVERYONE]))


def file_hash(path: Path, limit_bytes: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        read = 0
        while block := f.read(1 << 20):
            read += len(block)
            if read > limit_bytes:
                break
            h.update(block)
    return h.hexdigest()


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
UPLOAD_PREFIX = "upload:"  # uploads' sources; a folder file's relative path never starts like this


def safe_name(name: str) -> str:
    """A file name that cannot escape its folder."""
    base = _SAFE.sub("_", Path(name.replace("\\", "/")).name).strip("._") or "file"
    return base[:120]


def _worker_init(mem_mb: int) -> None:
    """Bound a parser process's memory, so a hostile file fails instead of exhausting the machine."""
    try:
        import resource

        import psutil

        # On top of what the fresh worker already maps, so the cap bounds what parsing adds.
        limit = psutil.Process().memory_info().vms + mem_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except Exception:  # not available on every platform
        pass
    from ingest.offline import prepare

    prepare()


def _parse(path: str, source: str, settings_json: str) -> tuple[Document, list[Chunk]]:
    from ingest.parse import parse_file

    return parse_file(Path(path), source, Settings.model_validate_json(settings_json))


class Ingestor:
    """Sync folders or uploads into a Store. Used by the CLI, the app and the evals."""

    def __init__(self, store, settings: Settings, after: Callable[[IngestReport], None] | None = None):
        self.store = store
        self.settings = settings
        self.after = after  # called once a run has added or changed documents (the engine re-asks open gaps)

    # -- public API -----------------------------------------------------------------------------
    def ingest_paths(self, paths: Iterable[Path], groups: list[str] | None = None, prune: bool = False,
                     progress: Progress | None = None) -> IngestReport:
        paths = [Path(p) for p in paths]
        items = discover(paths, self.settings.ignore)
        registry_failures: list[Failure] = []
        # A projects.csv / projects.yaml at a folder's root is the project registry, not a document.
        for root in (p for p in paths if p.is_dir()):
            found = next((root / n for n in REGISTRY_FILES if (root / n).is_file()), None)
            if found is None:
                continue
            items = [i for i in items if i.path != found]
            try:
                self.store.put_registry(load_registry(found))
            except RegistryError as e:
                registry_failures.append(Failure(source=found.name, error=f"project registry not imported: {e}"))
        report = self._run(items, groups, progress)
        report.failed[:0] = registry_failures
        if prune:
            present = {(i.origin, i.source) for i in items}
            roots = {str(p.resolve()) for p in paths if p.is_dir()}
            for doc in self.store.documents():
                if doc.origin in roots and (doc.origin, doc.source) not in present:
                    self.store.delete(doc.id)
                    self._forget_original(doc)
                    report.deleted += 1
                    report.results.append({"source": doc.source, "status": "deleted"})
        return self._finish(report)

    def ingest_upload(self, name: str, data: bytes, groups: list[str] | None = None, user=None) -> IngestReport:
        """One uploaded file: checked, stored under a safe name, then ingested like any other.

        `user` (an assistant.access.User) is required when sign-in is on; only admins may upload."""
        t0 = time.perf_counter()
        report = IngestReport()
        # Namespaced by origin: an upload never replaces a folder file of the same name (or its groups).
        source = UPLOAD_PREFIX + safe_name(name)
        if self.settings.auth != "none" and (user is None or not getattr(user, "is_admin", False)):
            report.failed.append(Failure(source=source, error="uploading needs the admin role; ask an administrator"))
            return self._finish(report)
        cap = int(self.settings.max_file_mb * 1024 * 1024)
        if len(data) > cap:
            report.failed.append(Failure(source=source, error=f"file is larger than the {self.settings.max_file_mb:g} MB limit"))
            report.seconds = time.perf_counter() - t0
            return self._finish(report)
        inbox = self.settings.state_dir / "uploads"
        inbox.mkdir(parents=True, exist_ok=True)
        tmp = inbox / f"{os.getpid()}-{time.time_ns()}-{safe_name(name)}"
        tmp.write_bytes(data)
        try:
            report = self._run([Item(path=tmp, source=source, origin="upload")], groups, None)
        finally:
            tmp.unlink(missing_ok=True)
        return self._finish(report)

    def ingest_items(self, items: list[Item], groups: list[str] | None = None) -> IngestReport:
        """Files written by Precedent itself (project updates), each with its own source and origin."""
        return self._finish(self._run(items, groups, None))

    def delete(self, doc_id: str) -> bool:
        doc = self.store.document(doc_id)
        ok = self.store.delete(doc_id)
        if ok and doc:
            self._forget_original(doc)
        return ok

    def reingest(self, doc_id: str) -> IngestReport:
        """Parse a document again from its stored original (after a parser upgrade, say)."""
        doc = self.store.document(doc_id)
        if not doc or not doc.original or not Path(doc.original).exists():
            r = IngestReport()
            r.failed.append(Failure(source=doc.source if doc else doc_id, error="the original file is not available"))
            return r
        item = Item(path=Path(doc.original), source=doc.source, origin=doc.origin or "upload")
        return self._finish(self._run([item], doc.groups, None, force=True))

    # -- the pipeline ---------------------------------------------------------------------------
    def _run(self, items: list[Item], groups: list[str] | None, progress: Progress | None,
             force: bool = False) -> IngestReport:
        """The whole run holds the store's writer lease: what it finds unchanged stays so until it commits,
        and another writer on the same store (any process, any host) waits its turn."""
        with self.store.writer():
            return self._run_locked(items, groups, progress, force)

    def _run_locked(self, items: list[Item], groups: list[str] | None, progress: Progress | None,
                    force: bool = False) -> IngestReport:
        from pebble import ProcessPool

        t0 = time.perf_counter()
        report = IngestReport()
        self.store.recover()  # finish anything a writer whose lease expired left half-written
        items = self._one_per_source(items, report)
        cap = int(self.settings.max_file_mb * 1024 * 1024)
        todo: list[tuple[Item, str, list[str], bool]] = []
        total, done = len(items), 0

        def tick(source: str, status: str) -> None:
            nonlocal done
            done += 1
            if progress:
                progress(done, total, source, status)

        for it in items:
            g = groups_for(it.source, groups, self.settings)
            try:
                size = it.path.stat().st_size
                if size > cap:
                    raise ValueError(f"file is larger than the {self.settings.max_file_mb:g} MB limit ({size / 1e6:.1f} MB)")
                digest = file_hash(it.path, cap)
            except (OSError, ValueError) as e:
                msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
                self._fail(report, it.source, f"cannot read file: {msg}" if isinstance(e, OSError) else msg, g)
                tick(it.source, "failed")
                continue
            old = self.store.document(stable_id("doc", it.source))
            if old and not force and old.content_hash == digest and sorted(old.groups) == g \
                    and old.describer == DESCRIBER:
                report.unchanged += 1
                report.results.append({"source": it.source, "status": "unchanged", "chunks": old.chunk_count})
                tick(it.source, "unchanged")
                continue
            todo.append((it, digest, g, old is not None))

        if todo:
            settings_json = self.settings.model_dump_json()
            workers = max(1, min(self.settings.workers, len(todo)))
            pending: list[tuple[Document, list[Chunk], Item, bool]] = []
            # "spawn": a worker must not inherit this process's address space (models, servers, threads),
            # which would count against its memory cap and share state a fork cannot copy safely.
            with ProcessPool(max_workers=workers, max_tasks=200, initializer=_worker_init,
                             initargs=(self.settings.worker_memory_mb,),
                             context=multiprocessing.get_context("spawn")) as pool:
                futures = [(pool.schedule(_parse, args=(str(it.path), it.source, settings_json),
                                          timeout=self.settings.parse_timeout), it, digest, g, existed)
                           for it, digest, g, existed in todo]
                for fut, it, digest, g, existed in futures:
                    try:
                        doc, chunks = fut.result()
                    except FutureTimeout:
                        self._fail(report, it.source, f"parsing took longer than {self.settings.parse_timeout:g} s", g)
                        tick(it.source, "failed")
                        continue
                    except MemoryError:
                        self._fail(report, it.source, "parsing ran out of its memory allowance", g)
                        tick(it.source, "failed")
                        continue
                    except Exception as e:
                        self._fail(report, it.source, _reason(e), g)
                        tick(it.source, "failed")
                        continue
                    if not chunks:
                        self._fail(report, it.source, "no text found in the file", g)
                        tick(it.source, "failed")
                        continue
                    doc.groups, doc.origin, doc.content_hash = g, it.origin, digest
                    for c in chunks:
                        c.version = digest
                    pending.append((doc, chunks, it, existed))
                    # Embed in batches while the workers keep parsing.
                    if sum(len(p[1]) for p in pending) >= 64:
                        self._flush(pending, report, tick)
                self._flush(pending, report, tick)
        report.seconds = time.perf_counter() - t0
        return report

    def _one_per_source(self, items: list[Item], report: IngestReport) -> list[Item]:
        """Two folders with a file at the same relative path would be one document: the first named wins,
        the other is reported (never two ids in one store write)."""
        seen: dict[str, Item] = {}
        for it in items:
            if it.source in seen:
                first = seen[it.source]
                report.failed.append(Failure(source=it.source, error=(
                    f"same path as {Path(first.origin) / first.source} in this run; ingest the folders separately "
                    "or rename one")))
                report.results.append({"source": it.source, "status": "failed", "error": report.failed[-1].error})
                continue
            seen[it.source] = it
        return list(seen.values())

    def _flush(self, pending: list, report: IngestReport, tick) -> None:
        if not pending:
            return
        texts = [c.embed_text for _, chunks, _, _ in pending for c in chunks]
        vectors = self.store.embeddings.embed_documents(texts)
        batch, at = [], 0
        for doc, chunks, it, _existed in pending:
            batch.append((doc, chunks, vectors[at : at + len(chunks)]))
            at += len(chunks)
            doc.original = self._keep_original(doc, it.path)
        self.store.commit_many(batch)
        for doc, chunks, it, existed in pending:
            report.new_chunks += len(chunks)
            status = "updated" if existed else "added"
            if existed:
                report.updated += 1
            else:
                report.added += 1
            report.results.append({"source": doc.source, "status": status, "chunks": len(chunks), "title": doc.title})
            self._clear_failure(doc.source)
            tick(doc.source, status)
        pending.clear()

    def _fail(self, report: IngestReport, source: str, error: str, groups: list[str]) -> None:
        report.failed.append(Failure(source=source, error=error))
        report.results.append({"source": source, "status": "failed", "error": error})
        self._record_failure(source, error, groups)

    def _finish(self, report: IngestReport) -> IngestReport:
        st = self.store.stats()
        report.documents, report.chunks = st["documents"], st["chunks"]
        if self.after is not None and (report.added or report.updated):
            try:
                self.after(report)
            except Exception as e:  # the documents are committed; a failing follow-up must not undo that
                log.warning("after-ingest step failed: %s: %s", type(e).__name__, e)
        return report

    # -- originals and failure log (per instance, under the data dir) ------------------------------
    def _keep_original(self, doc: Document, path: Path) -> str:
        dest_dir = self.settings.originals_dir / doc.id
        dest = dest_dir / safe_name(doc.source)
        if Path(path).resolve() == dest.resolve():  # re-ingest from the kept copy itself
            return str(dest)
        try:
            if dest_dir.exists():
                shutil.rmtree(dest_dir)
            dest_dir.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            return str(dest)
        except OSError as e:  # the store is the source of truth; a missing copy only disables download
            log.warning("could not keep a copy of %s: %s", doc.source, e)
            return str(path)

    def _forget_original(self, doc: Document) -> None:
        shutil.rmtree(self.settings.originals_dir / doc.id, ignore_errors=True)

    def _failures_path(self) -> Path:
        return self.settings.state_dir / "failures.json"

    def failures(self, groups: list[str] | None = None) -> dict[str, dict]:
        """Files that failed to ingest, with the reason; only those the groups would have read (None: all)."""
        import json

        p = self._failures_path()
        try:
            found = json.loads(p.read_text()) if p.exists() else {}
        except (OSError, ValueError):
            return {}
        if groups is None:
            return found
        default = self.settings.default_groups or [EVERYONE]
        return {k: v for k, v in found.items() if set(v.get("groups") or default) & set(groups)}

    def _record_failure(self, source: str, error: str, groups: list[str]) -> None:
        import json

        f = self.failures()
        f[source] = {"error": error, "at": time.strftime("%Y-%m-%dT%H:%M:%S"), "groups": groups}
        self._failures_path().parent.mkdir(parents=True, exist_ok=True)
        self._failures_path().write_text(json.dumps(f, indent=1))

    def _clear_failure(self, source: str) -> None:
        import json

        f = self.failures()
        if f.pop(source, None) is not None:
            self._failures_path().write_text(json.dumps(f, indent=1))


def _reason(e: BaseException) -> str:
    from ingest.errors import IngestError

    if isinstance(e, IngestError):
        return str(e)
    name = type(e).__name__
    if "ProcessExpired" in name or "BrokenProcessPool" in name:
        return "the parser process died (file too large or malformed)"
    return f"could not parse: {name}: {e}"
