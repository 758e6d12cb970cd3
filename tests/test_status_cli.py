"""`precedent status --json` run as the installed console script, against embedded Chroma and a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.models import Chunk, Document
from assistant.settings import Settings
from assistant.store import Store

BIN = Path(sys.executable).parent


def clean_env(data_dir, **extra) -> dict[str, str]:
    """The current environment without any Precedent or LLM settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PRECEDENT_", "OPENAI_"))}
    env.update(PRECEDENT_DATA_DIR=str(data_dir), PRECEDENT_CONFIG=str(data_dir / "no.env"), ANONYMIZED_TELEMETRY="False")
    env.update(extra)
    return env


def status(env, cwd) -> tuple[int, dict, str]:
    p = subprocess.run([str(BIN / "precedent"), "status", "--json"], env=env, cwd=cwd, capture_output=True,
                       text=True, timeout=120)
    try:
        data = json.loads(p.stdout)
    except ValueError:
        pytest.fail(f"status --json printed no JSON (exit {p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.returncode, data, p.stderr


def fill(settings: Settings, embeddings) -> None:
    """Two documents, five chunks."""
    store = Store(settings, embeddings)
    for source, n in (("projects/harbor.md", 3), ("projects/library.md", 2)):
        doc = Document(source=source, title=source, content_hash=f"hash-{source}", format="md")
        chunks = [Chunk(document_id=doc.id, index=i, text=f"{source} passage {i} about harbors and libraries",
                        version=doc.content_hash) for i in range(n)]
        store.commit(doc, chunks, embeddings.embed_documents([c.text for c in chunks]))


def test_status_embedded(tmp_path, embeddings):
    data = tmp_path / "data"
    fill(Settings(data_dir=data, chroma_url=None), embeddings)
    code, st, err = status(clean_env(data), tmp_path)
    assert code == 0, err
    assert st["store"]["kind"] == "embedded"
    assert st["store"]["reachable"] is True
    assert st["store"]["location"] == str(data / "chroma")
    assert st["documents"] == 2 and st["chunks"] == 5
    assert st["answerer"] == "extractive"
    assert st["llm"]["enabled"] is False
    assert "MiniLM" in st["embedder"]
    assert "Traceback" not in err


@pytest.mark.server
def test_status_server_then_server_down(tmp_path, embeddings, start_chroma):
    data = tmp_path / "data"
    with start_chroma(tmp_path / "chroma-db") as server:
        fill(Settings(data_dir=tmp_path / "writer", chroma_url=server.url), embeddings)
        env = clean_env(data, PRECEDENT_CHROMA_URL=server.url)
        code, st, err = status(env, tmp_path)
        assert code == 0, err
        assert st["store"] == {"kind": "server", "location": server.url, "reachable": True}
        assert st["documents"] == 2 and st["chunks"] == 5
        assert st["answerer"] == "extractive"
        assert "Traceback" not in err

    code, st, err = status(env, tmp_path)  # the server is stopped now
    assert code != 0
    assert st["store"]["kind"] == "server"
    assert st["store"]["reachable"] is False
    assert server.url in st["store"]["error"] and "unreachable" in st["store"]["error"]
    assert "documents" not in st
    assert "Traceback" not in err, err
