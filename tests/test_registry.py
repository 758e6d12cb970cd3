"""The project registry: CSV, XLSX and YAML import with per-row errors; documents join by folder, metadata or
alias; cards follow the registry; re-importing updates and removes projects; the sample corpus ships one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from assistant.engine import Engine
from assistant.projects import initialisms
from assistant.registry import RegistryError, load_registry
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "ingest" / "sample_corpus" / "docs"
PRECEDENT = Path(sys.executable).parent / "precedent"

CSV = (
    "name,aliases,client,start,end,status,team,industry,technologies,folder\n"
    "HarborPass,Harbor permits;HP,Port of Wexley,2022-01-10,2022-11-30,completed,"
    "Anika Solberg (product owner); Tomas Reyes (tech lead),Public sector,Django;PostgreSQL,harbor\n"
    "ShelfHelp,,Lakeside Library,2021,2021-12,active,Priya Raman (designer),Libraries,Elasticsearch,\n"
)


def test_csv_rows_are_validated_and_typed(tmp_path):
    f = tmp_path / "projects.csv"
    f.write_text(CSV)
    reg = load_registry(f)
    harbor, shelf = reg.projects
    assert harbor.aliases == ["Harbor permits", "HP"] and harbor.folder == "harbor"
    assert [(m.name, m.role) for m in harbor.team] == [("Anika Solberg", "product owner"), ("Tomas Reyes", "tech lead")]
    assert (shelf.start, shelf.end, shelf.status) == ("2021-01-01", "2021-12-01", "active")


def test_bad_rows_are_reported_by_row_and_field(tmp_path):
    f = tmp_path / "projects.csv"
    f.write_text("name,client,start,status\n,Acme,2020-01-01,completed\nBeta,Acme,someday,completed\n"
                 "Gamma,Acme,2020-02-02,paused\nDelta,Acme,2020-02-02,active\ndelta,Acme,2020-03-03,active\n")
    with pytest.raises(RegistryError) as e:
        load_registry(f)
    text = "\n".join(e.value.errors)
    assert "row 1: name" in text
    assert "row 2: start" in text and "someday" in text
    assert "row 3: status" in text
    assert "row 5: name: 'delta' is already row 4" in text


def test_xlsx_and_yaml_read_the_same_fields(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Name", "Client", "Start", "Team"])
    ws.append(["HarborPass", "Port of Wexley", "2022-01-10", "Anika Solberg (product owner)"])
    wb.save(tmp_path / "projects.xlsx")
    (tmp_path / "projects.yaml").write_text(yaml.safe_dump({"projects": [
        {"name": "HarborPass", "client": "Port of Wexley", "start": "2022-01-10",
         "team": [{"name": "Anika Solberg", "role": "product owner"}]}]}))
    for name in ("projects.xlsx", "projects.yaml"):
        p = load_registry(tmp_path / name).projects[0]
        assert (p.name, p.client, p.start, p.team[0].role) == ("HarborPass", "Port of Wexley", "2022-01-10",
                                                              "product owner")
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(RegistryError, match="broken.xlsx: cannot read"):
        load_registry(tmp_path / "broken.xlsx")


@pytest.fixture()
def corpus(tmp_path):
    root = tmp_path / "corpus"
    (root / "harbor").mkdir(parents=True)
    (root / "harbor" / "overview.md").write_text(
        "# Mooring permits\n\nWe built an online mooring permit system for the Port of Wexley harbour office.\n")
    (root / "news").mkdir()
    (root / "news" / "2022-06-01-launch.md").write_text(
        "---\ntitle: Harbor permits go live\ndate: 2022-06-01\n---\n\nBoat owners can now apply online.\n")
    (root / "news" / "2022-07-01-library.md").write_text(
        "---\ntitle: Catalogue update\ndate: 2022-07-01\nproject: ShelfHelp\n---\n\nCatalogue search now covers every e-book in the collection.\n")
    (root / "news" / "2022-08-01-other.md").write_text(
        "---\ntitle: Team offsite\ndate: 2022-08-01\n---\n\nWe met in Lisbon for a week of planning.\n")
    (root / "projects.csv").write_text(CSV)
    return root


def test_documents_join_by_folder_metadata_and_alias(corpus, tmp_path, embeddings):
    eng = Engine(settings=Settings(data_dir=tmp_path / "data"), embeddings=embeddings)
    report = eng.ingestor().ingest_paths([corpus])
    assert report.failed == []
    assert "projects.csv" not in {d.source for d in eng.store.documents()}, "the registry is not a document"
    cards = {c.name: c for c in eng.projects().cards()}
    assert set(cards) == {"HarborPass", "ShelfHelp"}, "the offsite post stays a document"
    harbor = cards["HarborPass"]
    assert set(harbor.documents) == {"harbor/overview.md", "news/2022-06-01-launch.md"}  # folder, then alias in title
    assert (harbor.client, harbor.start, harbor.end, harbor.status) == ("Port of Wexley", "2022-01-10", "2022-11-30",
                                                                      "completed")
    assert [(t.name, t.role) for t in harbor.team][:2] == [("Anika Solberg", "product owner"), ("Tomas Reyes", "tech lead")]
    assert cards["ShelfHelp"].documents == ["news/2022-07-01-library.md"]  # front-matter project

    # Re-importing updates cards, and a removed row removes its project.
    changed = tmp_path / "projects.yaml"
    changed.write_text(yaml.safe_dump({"projects": [{"name": "HarborPass", "client": "Port Authority of Wexley",
                                                     "folder": "harbor"}]}))
    env = os.environ | {"PRECEDENT_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([str(PRECEDENT), "projects", "import", str(changed)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    eng.store.refresh(force=True)
    cards = {c.name: c for c in eng.projects().cards()}
    assert cards["HarborPass"].client == "Port Authority of Wexley"
    assert "Port of Wexley" not in {c.client for c in cards.values()}
    # ShelfHelp is now only a front-matter project: still a project, no longer from the registry.
    assert cards["ShelfHelp"].registered is False and cards["ShelfHelp"].client is None

    bad = tmp_path / "bad.csv"
    bad.write_text("name,start\nX,never\n")
    out = subprocess.run([str(PRECEDENT), "projects", "import", str(bad)], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and "row 1: start" in out.stderr


def test_listing_questions_are_answered_from_the_index(corpus, tmp_path, embeddings):
    """Client, year, technology and "now" questions list the index's projects, each with cited evidence."""
    eng = Engine(settings=Settings(data_dir=tmp_path / "data"), embeddings=embeddings)
    assert eng.ingestor().ingest_paths([corpus]).failed == []
    for question, want in [
        ("What have we done for the Port of Wexley?", ["HarborPass"]),
        ("What work have we done for Lakeside Library?", ["ShelfHelp"]),
        ("Which projects did we run in 2022?", ["HarborPass"]),
        ("Which projects used Elasticsearch?", ["ShelfHelp"]),
        ("What are we working on right now?", ["ShelfHelp"]),  # active in the registry
    ]:
        a = eng.ask(question)
        assert a.verdict == "yes" and [p.name for p in a.projects] == want, (question, a.answer)
        assert all(p.citations for p in a.projects), (question, a.answer)
    a = eng.ask("What have we done for POW?")  # the client's initials, written in capitals
    assert a.verdict == "yes" and [p.name for p in a.projects] == ["HarborPass"], a.answer
    # Two clients in one question, with the connecting words a listing question has
    a = eng.ask("What have we done across the Port of Wexley and Lakeside Library, all of it included?")
    assert a.verdict == "yes" and sorted(p.name for p in a.projects) == ["HarborPass", "ShelfHelp"], a.answer


def test_sample_corpus_cards_match_its_registry(tmp_path, embeddings):
    """Every registered project's card: client, period and team as the registry says."""
    reg = load_registry(SAMPLE / "projects.yaml")
    eng = Engine(settings=Settings(data_dir=tmp_path / "data"), embeddings=embeddings)
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE, docs)
    assert eng.ingestor().ingest_paths([docs]).failed == []
    cards = {c.name: c for c in eng.projects().cards()}
    for p in reg.projects:
        card = cards[p.name]
        assert card.registered and card.client == p.client, p.name
        assert (card.start, card.end) == (p.start, p.end), p.name
        assert [(t.name, t.role) for t in card.team][: len(p.team)] == [(m.name, m.role) for m in p.team], p.name
        assert card.documents and all(s.startswith(p.folder + "/") for s in card.documents), p.name


@pytest.mark.parametrize("client, initials", [
    ("Federal Bureau of Investigation", "fbi"),
    ("Department of Justice", "doj"),
    ("U.S. Geological Survey", "usgs"),
    ("Department of the Interior", "doi"),
    ("Department of Health and Human Services", "hhs"),
    ("Royal Bank of Canada", "rbc"),
])
def test_a_client_is_known_by_its_initials(client, initials):
    assert initials in initialisms(client)
    assert not initialisms("Lakeside Library")  # two letters are too few to be sure of
