"""Scale-out: two app processes share one Chroma server.

Process B (a long-lived engine, like a running app) starts first. Process A (`precedent ingest`)
then adds a document. After the refresh interval B cites it — B's own lexical index, kept under
B's own state dir, has caught up with the shared store — and after A deletes it, B stops citing it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.server

BIN = Path(sys.executable).parent
REFRESH = 1.0  # seconds: PRECEDENT_LEXICAL_REFRESH_SECONDS for both processes

# A long-lived engine: one JSON request per stdin line, one Answer JSON per stdout line.
SERVE = r"""
import json, sys
from assistant.engine import Engine
from assistant.models import Filters
engine = Engine()
print(json.dumps({"ready": True, "lexical": str(engine.store.lexical._db.execute("PRAGMA database_list").fetchone()[2])}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    a = engine.ask(req["question"], mode=req.get("mode", "hybrid"))
    print(a.model_dump_json(), flush=True)
"""

KELP = """# Kelp Forest Restoration Tracker

Client: Monterey Marine Sanctuary
Date: 2025-03-14

We built a kelp forest restoration tracker for the Monterey Marine Sanctuary. Divers log sea urchin
removal counts and kelp canopy density from a waterproof tablet, and the tracker maps canopy recovery
across forty underwater survey transects.

## Outcome

The sanctuary used the kelp tracker to prioritise urchin culling; kelp canopy recovered by 30 percent
within two seasons.
"""

BUS = """# Bus Arrival Signs

Client: Lakeside Transit
Date: 2024-06-02

We designed real-time bus arrival signs for Lakeside Transit. The signs read vehicle positions from the
transit agency's GPS feed and predict arrival times at each stop.
"""

QUESTION = "Have we built anything for kelp forest restoration with urchin removal?"


def env_for(data_dir: Path, url: str, collection: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRECEDENT_", "OPENAI_"))}
    env.update(PRECEDENT_DATA_DIR=str(data_dir), PRECEDENT_CHROMA_URL=url, PRECEDENT_COLLECTION=collection,
               PRECEDENT_LEXICAL_REFRESH_SECONDS=str(REFRESH), PRECEDENT_CONFIG=str(data_dir / "no.env"),
               ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1")
    return env


class Serving:
    """Process B."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.err_file = cwd / "serving.err"
        with open(self.err_file, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-c", SERVE], env=env, cwd=cwd, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        self.hello = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()  # each request answers in well under a second; pytest-timeout guards
        if not line:
            self.proc.kill()
            raise AssertionError(f"serving process ended: {self.err_file.read_text()}")
        return json.loads(line)

    def ask(self, question: str, mode: str = "hybrid") -> dict:
        self.proc.stdin.write(json.dumps({"question": question, "mode": mode}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    p = subprocess.run([str(BIN / "precedent"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"precedent {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p


def cited(answer: dict) -> set[str]:
    return {c["source"] for c in answer["citations"]}


def test_new_document_reaches_a_running_instance(tmp_path, chroma_server):
    collection = f"scaleout{os.getpid()}"
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bus-signs.md").write_text(BUS)
    a_env = env_for(tmp_path / "a", chroma_server.url, collection)
    b_env = env_for(tmp_path / "b", chroma_server.url, collection)

    cli(a_env, tmp_path, "ingest", str(docs), "--json")  # something to start from
    b = Serving(b_env, tmp_path)
    try:
        assert Path(b.hello["lexical"]).is_relative_to(tmp_path / "b" / "state"), b.hello
        before = b.ask(QUESTION)
        assert "kelp.md" not in cited(before)
        assert all(r["source"] != "kelp.md" for r in before["retrieved"])

        (docs / "kelp.md").write_text(KELP)
        report = json.loads(cli(a_env, tmp_path, "ingest", str(docs), "--json").stdout)
        assert report["added"] == 1 and report["unchanged"] == 1, report
        time.sleep(REFRESH + 0.5)

        lexical = b.ask(QUESTION, mode="lexical")  # B's own lexical index has the new chunks
        assert lexical["retrieved"] and lexical["retrieved"][0]["source"] == "kelp.md", lexical["retrieved"]
        after = b.ask(QUESTION)
        assert not after["abstained"], after["answer"]
        assert "kelp.md" in cited(after), after
        assert after["retrieved"][0]["source"] == "kelp.md"
        with sqlite3.connect(b.hello["lexical"]) as db:  # rows in B's file, not A's
            assert db.execute("SELECT count(*) FROM chunks WHERE body LIKE '%urchin%'").fetchone()[0] >= 1

        cli(a_env, tmp_path, "delete", "kelp.md")
        time.sleep(REFRESH + 0.5)
        gone = b.ask(QUESTION)
        assert "kelp.md" not in cited(gone)
        assert all(r["source"] != "kelp.md" for r in gone["retrieved"])
        assert all(r["source"] != "kelp.md" for r in b.ask(QUESTION, mode="lexical")["retrieved"])
    finally:
        b.close()
    assert "Traceback" not in b.err_file.read_text()
