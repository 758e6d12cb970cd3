"""Shared fixtures: the embedder, a real Chroma server on loopback, and Settings for either store kind."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from assistant.settings import Settings

BIN = Path(sys.executable).parent  # the venv's bin: chroma, precedent

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


# -- Chroma server ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ChromaServer:
    url: str
    path: Path
    proc: subprocess.Popen

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@contextmanager
def chroma_server_at(path: Path, timeout: float = 30.0) -> Iterator[ChromaServer]:
    """`chroma run` on a free loopback port, serving `path`; stopped on exit."""
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    log = open(path.parent / f"chroma-{port}.log", "wb")
    env = os.environ | {"ANONYMIZED_TELEMETRY": "False"}
    proc = subprocess.Popen([str(BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    server = ChromaServer(url=f"http://127.0.0.1:{port}", path=path, proc=proc)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{server.url}/api/v2/heartbeat", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not answer within {timeout:g} s; see {log.name}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()
        log.close()


@pytest.fixture(scope="session")
def start_chroma():
    """For tests that need a server of their own (to stop it, say): `with start_chroma(path) as server:`."""
    return chroma_server_at


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> Iterator[ChromaServer]:
    """One Chroma server for the session; tests keep apart by using their own collection names."""
    with chroma_server_at(tmp_path_factory.mktemp("chroma-server") / "db") as server:
        yield server


# -- embedder and settings -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def embeddings():
    from assistant.embeddings import MiniLMEmbeddings

    return MiniLMEmbeddings()


_collections = itertools.count()


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def store_kind(request) -> str:
    """Runs a test once against embedded Chroma and once against a Chroma server."""
    return request.param


@pytest.fixture
def settings_factory(store_kind, tmp_path, request):
    """`make(**overrides) -> Settings` for this test's store kind (embedded, or the session's server).

    Every call gets a fresh data dir (its own lexical index and state) unless `data_dir` is given; all
    calls in one test share one collection name, so on a server several instances see the same content."""
    url = request.getfixturevalue("chroma_server").url if store_kind == "server" else None
    collection = f"t{os.getpid()}_{next(_collections)}"
    calls = itertools.count()

    def make(**overrides) -> Settings:
        kw = dict(data_dir=tmp_path / f"instance{next(calls)}", chroma_url=url, collection=collection,
                  lexical_refresh_seconds=0.0)
        kw.update(overrides)
        return Settings(**kw)

    return make
