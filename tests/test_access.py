"""Who may see what: restricted documents never leak to a user without their group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.access import User, save_user
from assistant.engine import Engine
from assistant.models import Filters
from assistant.settings import Settings

PRECEDENT = Path(sys.executable).parent / "precedent"

PUBLIC = {
    "public/harbor.md": "---\ntitle: HarborPass case study\nclient: Port of Wexley\nproject: HarborPass\n---\n"
    "# HarborPass\n\nWe built HarborPass, an online mooring permit system for the Port of Wexley harbour.\n",
    "public/library.md": "---\ntitle: Library search\nclient: Lakeside Library\nproject: ShelfFinder\n---\n"
    "# ShelfFinder\n\nWe rebuilt the catalogue search for the Lakeside public library in 2022.\n",
}
SECRET = {
    "finance/falcon.md": "---\ntitle: Project Falcon pricing\nclient: Zentara Bank\nproject: Falcon\npeople: [Quincy Marlowe]\n---\n"
    "# Falcon\n\nWe built a fraud scoring engine for Zentara Bank with a fixed fee of 1.2 million.\n"
    "Quincy Marlowe led the anomaly detection work on the card transactions.\n",
}
SECRET_WORDS = ["Falcon", "Zentara", "Quincy", "Marlowe", "fraud scoring", "finance/falcon.md"]


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


@pytest.fixture(scope="module")
def world(tmp_path_factory, embeddings):
    root = tmp_path_factory.mktemp("access")
    corpus = root / "corpus"
    write_tree(corpus, PUBLIC | SECRET)
    data = root / "data"
    s = Settings(data_dir=data, group_rules={"finance/": ["finance"]})
    eng = Engine(settings=s, embeddings=embeddings)
    report = eng.ingestor().ingest_paths([corpus])
    assert report.failed == [] and report.added == 3
    users = data / "users.yaml"
    save_user(User(username="alice", role="admin", groups=["everyone", "finance"]), "pw-alice", users)
    save_user(User(username="bob", role="member", groups=["everyone"]), "pw-bob", users)
    return eng, data, corpus


def leaks(text: str, question: str = "") -> list[str]:
    """Restricted words in the output that the asker did not type themselves."""
    return [w for w in SECRET_WORDS if w.lower() in text.lower() and w.lower() not in question.lower()]


QUESTIONS = ["Have we built a fraud scoring engine for a bank?", "Who has done anomaly detection on card transactions?",
             "What did we do for Zentara Bank?", "Tell me about Project Falcon"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_member_without_group_sees_nothing_restricted_via_api(world, question):
    eng, _, _ = world
    a = eng.ask(question, filters=Filters(groups=["everyone"]))
    dump = a.model_dump_json(exclude={"question", "standalone_question"})
    assert leaks(dump, question) == [], dump[:500]
    assert all(not c.source.startswith("finance/") for c in a.citations)


def test_member_with_group_gets_the_restricted_answer(world):
    eng, _, _ = world
    a = eng.ask(QUESTIONS[0], filters=Filters(groups=["everyone", "finance"]))
    assert not a.abstained and any(c.source == "finance/falcon.md" for c in a.citations)


def test_listings_respect_groups(world):
    eng, _, _ = world
    assert {d.source for d in eng.store.documents(groups=["everyone"])} == set(PUBLIC)
    cards = eng.projects(["everyone"]).cards(groups=["everyone"])
    assert leaks(json.dumps([c.model_dump() for c in cards])) == []
    assert "Quincy Marlowe" not in eng.projects(["everyone"]).people(groups=["everyone"])
    assert "Quincy Marlowe" in eng.projects(["everyone", "finance"]).people(groups=["everyone", "finance"])


def run_cli(data: Path, *args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PRECEDENT_DATA_DIR": str(data)}
    return subprocess.run([str(PRECEDENT), *args], capture_output=True, text=True, env=env, timeout=300)


def test_cli_as_member_does_not_leak(world):
    _, data, _ = world
    for q in QUESTIONS[:2]:
        p = run_cli(data, "ask", q, "--json", "--as", "bob")
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
        out.pop("question"), out.pop("standalone_question")
        assert leaks(json.dumps(out), q) == [], p.stdout[:500]
        assert out["abstained"] is True
    for cmd in (["docs", "--json"], ["projects", "--json"], ["people", "--json"]):
        p = run_cli(data, *cmd, "--as", "bob")
        assert p.returncode == 0, p.stderr
        assert leaks(p.stdout) == [], (cmd, p.stdout[:300])
    p = run_cli(data, "ask", QUESTIONS[0], "--json", "--as", "alice")
    assert "finance/falcon.md" in p.stdout


def test_unknown_user_is_refused_clearly(world):
    _, data, _ = world
    p = run_cli(data, "ask", "anything", "--as", "mallory")
    assert p.returncode != 0
    assert "Unknown user" in (p.stderr + p.stdout) and "Traceback" not in p.stderr


def test_upload_without_admin_role_is_refused(world, embeddings, tmp_path):
    eng, _, _ = world
    s = eng.settings.model_copy(update={"auth": "local"})
    from ingest.sync import Ingestor

    ing = Ingestor(eng.store, s)
    r = ing.ingest_upload("x.md", b"# X\n\nSome text about a project.\n", user=None)
    assert r.failed and "admin" in r.failed[0].error
    r = ing.ingest_upload("x.md", b"# X\n\nSome text about a project.\n",
                          user=User(username="bob", role="member"))
    assert r.failed and "admin" in r.failed[0].error


@pytest.mark.parametrize("name,data,reason", [
    ("../../etc/passwd.md", b"# Notes\n\nWe ran a usability study for the Orchard museum in 2021.\n", None),
    ("report.pdf", b"MZ\x90\x00 this is an executable, not a PDF" * 20, "not a"),
    ("huge.md", b"a" * (2 * 1024 * 1024), "larger than"),
])
def test_hostile_uploads(world, name, data, reason, tmp_path):
    eng, _, _ = world
    s = eng.settings.model_copy(update={"max_file_mb": 1.0})
    from ingest.sync import Ingestor

    r = Ingestor(eng.store, s).ingest_upload(name, data)
    if reason is None:  # path traversal: stored under a safe name inside the originals folder
        assert r.failed == []
        doc = eng.store.document_by_source("upload:passwd.md")
        assert doc is not None and ".." not in doc.source and "/" not in doc.source
        assert Path(doc.original).resolve().is_relative_to(s.originals_dir.resolve())
    else:
        assert r.failed and reason in r.failed[0].error.lower(), r.failed


def test_zip_bomb_upload_is_refused(world):
    from shared_corpora import BAD

    bomb = BAD / "zip-bomb.docx"
    if not bomb.exists():
        pytest.skip("shared corpora not present")
    eng, _, _ = world
    r = eng.ingestor().ingest_upload("innocent.docx", bomb.read_bytes())
    assert r.failed and "bomb" in r.failed[0].error.lower()
