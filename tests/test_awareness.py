"""The awareness loop end to end through the command line, on a real embedded store and a real SMTP server on
loopback: updates in (CLI, mbox, Maildir), knowledge gaps logged, clustered, routed and answered by a later
ingest, and the digest mailed to each member with only what they may read."""

from __future__ import annotations

import json
import os
import time

import pytest
from typer.testing import CliRunner

from awareness_helpers import (ANSWER_DOC, CORPUS, NO_RECORD, RESTRICTED_WORDS, THREAD_TEXT, html_part,
                               smtp_server, thread_messages, write_maildir, write_mbox)

PASSWORD = "pw-not-used-here-1"


@pytest.fixture(scope="module")
def smtp():
    with smtp_server() as inbox:
        yield inbox


@pytest.fixture(scope="module")
def world(tmp_path_factory, embeddings, smtp):
    """A data dir with a small corpus (one document finance-only), four accounts, SMTP on loopback, and the
    process-wide engine pointed at it, so `precedent ...` runs in this process as it would on the shell."""
    from assistant import engine as core
    from assistant.access import User, save_user
    from assistant.settings import get_settings, reset_settings

    base = tmp_path_factory.mktemp("awareness")
    corpus, data = base / "corpus", base / "data"
    for rel, text in CORPUS.items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text(text, encoding="utf-8")
    env = {"PRECEDENT_DATA_DIR": str(data), "PRECEDENT_SMTP_URL": smtp.url, "PRECEDENT_SMTP_TIMEOUT": "5",
           "PRECEDENT_SMTP_SENDER": "precedent@example.com", "PRECEDENT_DIGEST_GROUP": "everyone",
           "PRECEDENT_GROUP_RULES": json.dumps({"finance/": ["finance"]}),
           "PRECEDENT_PEOPLE_EMAILS": json.dumps({"Anika Solberg": "anika@example.com"})}
    mp = pytest.MonkeyPatch()
    for k in list(os.environ):
        if k.startswith(("PRECEDENT_", "OPENAI_")):
            mp.delenv(k)
    for k, v in env.items():
        mp.setenv(k, v)
    reset_settings()
    users = data / "users.yaml"
    save_user(User(username="alice", name="Alice Ward", role="admin", groups=["everyone", "finance"],
                   email="alice@example.com"), PASSWORD, users)
    save_user(User(username="bob", name="Bob", role="member", groups=["everyone"], email="bob@example.com"),
              PASSWORD, users)
    save_user(User(username="carol", name="Carol", role="member", groups=["everyone"]), PASSWORD, users)
    save_user(User(username="dave", name="Dave", role="member", groups=["everyone"]), PASSWORD, users)
    saved = core._engine
    core._engine = core.Engine(settings=get_settings(), embeddings=embeddings)
    res = cli("ingest", str(corpus))
    assert "added 3" in res.stderr, res.output
    try:
        yield {"base": base, "corpus": corpus, "data": data, "engine": core._engine}
    finally:
        core._engine = saved
        mp.undo()
        reset_settings()


def cli(*args: str, code: int = 0):
    """`precedent ARGS` in this process; checks the exit code."""
    from assistant.cli import app

    res = CliRunner().invoke(app, list(args))
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    assert res.exit_code == code, f"precedent {' '.join(args)} -> {res.exit_code}\n{res.output}"
    return res


def as_json(res):
    return json.loads(res.stdout)


def timeline(project_key: str, as_user: str | None = None) -> list[dict]:
    cards = as_json(cli("projects", "--json", *(["--as", as_user] if as_user else [])))
    card = next((c for c in cards if c["key"] == project_key), None)
    assert card is not None, [c["key"] for c in cards]
    return card["timeline"]


# -- updates in -----------------------------------------------------------------------------------------
def test_update_from_cli_is_cited_within_seconds_and_on_the_timeline(world):
    text = "We launched a berth waiting list for the Port of Wexley, so boat owners queue online for a free mooring."
    t0 = time.monotonic()
    res = cli("updates", "add", "--project", "HarborPass", "--text", text, "--outcome", "Forty boat owners joined "
              "the waiting list in its first week.", "--tech", "Django, Redis", "--people", "Tomas Reyes",
              "--author", "alice", "--date", "2024-06-10", "--json")
    added = time.monotonic()
    source = as_json(res)["source"]
    assert source.startswith("update:harborpass/") and as_json(res)["added"] == 1
    a = as_json(cli("ask", "Have we built an online waiting list for boat moorings?", "--json"))
    cited = time.monotonic()
    assert a["verdict"] == "yes", a["answer"]
    assert source in [c["source"] for c in a["citations"]], a["citations"]
    # The add returns once the update is committed: it is cited by the very next question.
    assert cited - added < 5.0, f"cited {cited - added:.1f} s after the add returned"
    assert cited - t0 < 30.0, f"add and ask took {cited - t0:.1f} s"

    entries = timeline("harborpass")
    entry = next(e for e in entries if e["source"] == source)
    assert entry["doc_type"] == "update" and entry["date"] == "2024-06-10"
    doc = next(d for d in as_json(cli("docs", "--json")) if d["source"] == source)
    assert doc["origin"] == "update" and doc["project"] == "HarborPass"
    assert doc["groups"] == ["everyone", "finance"]  # alice's groups
    assert {"Tomas Reyes", "Alice Ward"} <= set(doc["people"]) and doc["tags"] == ["Django", "Redis"]
    assert doc["client"] == "Port of Wexley Harbor Authority"  # taken from the project


def test_update_groups_are_the_authors_at_most(world):
    res = cli("updates", "add", "--project", "Falcon", "--text", "Falcon fraud rules now retrain nightly on card "
              "chargebacks.", "--author", "alice", "--groups", "finance", "--json")
    source = as_json(res)["source"]
    doc = next(d for d in as_json(cli("docs", "--json")) if d["source"] == source)
    assert doc["groups"] == ["finance"]
    assert source not in [d["source"] for d in as_json(cli("docs", "--json", "--as", "bob"))]
    assert any(e["source"] == source for e in timeline("falcon", "alice"))
    # bob may not publish into a group he is not in
    res = cli("updates", "add", "--project", "Falcon", "--text", "x y z", "--author", "bob", "--groups", "finance",
              code=2)
    assert "groups: bob is not in finance" in res.output


@pytest.mark.parametrize("args, message", [
    (["--project", " ", "--text", "something happened"], "--project: Value error, project is empty"),
    (["--project", "HarborPass", "--text", ""], "--text: Value error, text is empty"),
    (["--project", "HarborPass", "--text", "ok", "--date", "10/06/2024"], "--date: expected a date as YYYY-MM-DD"),
])
def test_update_bad_input_names_the_field(world, args, message):
    res = cli("updates", "add", *args, code=2)
    assert message in " ".join(res.output.split()), res.output


def _chunks_containing(engine, sentence: str) -> list[str]:
    found = []
    for d in engine.store.documents():
        for c in engine.store.chunks_of(d.id):
            if sentence in " ".join(c.text.split()):
                found.append(d.source)
    return found


def test_mbox_thread_becomes_three_updates_without_quoted_text(world, tmp_path):
    eng = world["engine"]
    messages = thread_messages()
    before = {d.source for d in eng.store.documents()}
    mbox = write_mbox(tmp_path / "harbor.mbox", [*messages, messages[1]])  # the reply twice (sent + received)
    res = cli("ingest", str(mbox))
    assert "4 messages, 3 updates (added 3" in " ".join(res.stderr.split()), res.output
    new = [d for d in eng.store.documents() if d.source not in before]
    assert len(new) == 3 and all(d.origin == "update" and d.doc_type == "update" for d in new)
    assert {d.project for d in new} == {"HarborPass"}
    for sentence in THREAD_TEXT:  # each message's own words once, in its own update; never as a quote
        assert len(_chunks_containing(eng, sentence)) == 1, sentence
    texts = [" ".join(c.text for c in eng.store.chunks_of(d.id)) for d in new]
    assert not any("wrote:" in t or "> " in t or "Harbor team" in t for t in texts), texts
    assert {p for d in new for p in d.people} == {"Anika Solberg", "Tomas Reyes"}
    on_timeline = {e["source"] for e in timeline("harborpass")}
    assert {d.source for d in new} <= on_timeline
    assert sorted(d.date for d in new) == ["2024-06-03", "2024-06-04", "2024-06-05"]

    # The same messages again, from a Maildir this time: the same three updates, nothing new.
    maildir = write_maildir(tmp_path / "Maildir", messages)
    res = cli("ingest", str(maildir))
    assert "3 messages, 3 updates (added 0, updated 0, unchanged 3)" in " ".join(res.stderr.split()), res.output
    assert len(eng.store.documents()) == len(before) + 3


def test_not_a_mailbox_is_a_clear_error(world, tmp_path):
    from ingest.mailbox import MailboxError, read_updates

    bad = tmp_path / "notes.mbox"
    bad.write_text("just some notes, not mail\n")
    with pytest.raises(MailboxError, match="plain-folder: not an mbox file or a Maildir folder"):
        read_updates(tmp_path / "plain-folder")  # neither an mbox nor a Maildir
    assert read_updates(bad).updates == []  # an .mbox without messages yields none (and no crash)
    from ingest.mailbox import mailbox_kind

    note = tmp_path / "notes.txt"
    note.write_text("From the harbor team: sensors are in.\n")
    assert mailbox_kind(note) is None  # a document, not a mailbox
    plain = write_mbox(tmp_path / "export", thread_messages()[:1])  # an mbox without the .mbox suffix
    assert mailbox_kind(plain) == "mbox" and len(read_updates(plain).updates) == 1


# -- knowledge gaps -------------------------------------------------------------------------------------
def test_gap_from_two_askers_is_one_cluster_then_answered_by_an_ingest(world, smtp):
    answers = [as_json(cli("ask", NO_RECORD, "--json", "--as", who)) for who in ("bob", "carol")]
    assert [a["verdict"] for a in answers] == ["no", "no"]
    closest = answers[0]["closest"][0]
    assert closest["people"], closest

    gaps = [c for c in as_json(cli("gaps", "--json", "--as", "alice")) if NO_RECORD in c["questions"]]
    assert len(gaps) == 1, gaps
    gap = gaps[0]
    assert gap["count"] == 2 and gap["askers"] == 2 and gap["status"] == "open"
    who = {e["name"]: e for e in gap["who_might_know"]}
    assert set(closest["people"]) <= set(who), (closest, who)
    ev = who[closest["people"][0]]
    assert closest["name"] in ev["projects"] and ev["evidence"] and ev["evidence"][0]["source"] in closest["sources"]

    # Access: the asker and admins read the question; another member sees the count only.
    mine = next(c for c in as_json(cli("gaps", "--json", "--as", "bob")) if c["id"] == gap["id"])
    assert mine["visible"] and mine["questions"] == [NO_RECORD]
    theirs = next(c for c in as_json(cli("gaps", "--json", "--as", "dave")) if c["id"] == gap["id"])
    assert not theirs["visible"] and theirs["questions"] == [] and theirs["who_might_know"] == []
    assert theirs["count"] == 2
    res = cli("gaps", "ask", str(gap["id"]), "--people", "Anika Solberg", "--as", "dave", code=2)
    assert "only an admin or the asker" in res.output

    # Ask them: a knowledge request, e-mailed to the person whose address is known.
    smtp.clear()
    res = cli("gaps", "ask", str(gap["id"]), "--people", "Anika Solberg, Tomas Reyes", "--as", "bob")
    assert "E-mailed anika@example.com" in res.stderr and "No e-mail address known for Tomas Reyes" in res.stderr
    mail = smtp.to("anika@example.com")
    assert len(mail) == 1 and NO_RECORD in mail[0].get_body(("plain",)).get_content()
    from assistant.gaps import GapLog

    req = GapLog(world["engine"].settings).requests()[0]
    assert req.requester == "bob" and req.people == ["Anika Solberg", "Tomas Reyes"] and req.gap_ids == gap["gap_ids"]

    # A document that answers it arrives: the ingest asks again and marks the gap answered, with citations.
    name, text = ANSWER_DOC
    (world["corpus"] / name).write_text(text, encoding="utf-8")
    res = cli("ingest", str(world["corpus"]))
    assert "2 open question(s) now have an answer" in res.stderr, res.stderr
    assert not any(NO_RECORD in c["questions"] for c in as_json(cli("gaps", "--json", "--as", "alice")))
    done = next(c for c in as_json(cli("gaps", "--json", "--answered", "--as", "alice")) if c["id"] == gap["id"])
    assert done["status"] == "answered"
    answered = [g for g in GapLog(world["engine"].settings).gaps("answered") if g.question == NO_RECORD]
    assert len(answered) == 2
    assert all(name in [c.source for c in g.answer.citations] and g.answer.verdict == "yes" for g in answered)

    # The asker is told in the next digest.
    md = cli("digest", "--since", "7d", "--as", "bob").stdout
    assert "now has an answer" in md and NO_RECORD in md and name in md


def test_digest_send_delivers_each_member_only_what_they_may_read(world, smtp, tmp_path):
    update_text = "We shipped mooring fee refunds by card, so boat owners are repaid within two days."
    cli("updates", "add", "--project", "HarborPass", "--text", update_text, "--people", "Anika Solberg")
    secret_question = "Have we priced a fraud scoring engine for Zentara Bank's card transactions?"
    alice_question = "Have we designed a vineyard irrigation controller?"
    cli("ask", alice_question, "--as", "alice")
    cli("ask", "Have we built a submarine sonar maintenance planner for the navy?", "--as", "bob")
    cli("ask", secret_question, "--as", "alice")  # whatever its verdict, nothing of it may reach bob

    smtp.clear()
    out_file = tmp_path / "digest.html"
    res = cli("digest", "--since", "7d", "--send", "--format", "html", "--out", str(out_file))
    assert "Sent the digest for Alice Ward to alice@example.com" in res.stderr
    assert "Sent the digest for Bob to bob@example.com" in res.stderr
    assert out_file.exists() and "<html" in out_file.read_text()

    alice = html_part(smtp.to("alice@example.com")[0])
    bob_msg = smtp.to("bob@example.com")[0]
    bob = html_part(bob_msg)
    assert bob_msg["Subject"].startswith("What's new: ") and bob_msg["From"] == "precedent@example.com"
    for html in (alice, bob):
        assert "mooring fee refunds by card" in html  # the update, with its summary
        assert "Questions that found no record" in html
        assert "<script" not in html and "src=\"http" not in html and "<link" not in html  # self-contained
    # alice (admin, finance) sees the restricted project and update, and every question's text
    assert "Falcon" in alice and "Zentara" in alice and alice_question in alice
    # bob sees his own question, a count for the others, and nothing restricted
    assert "Have we built a submarine sonar maintenance planner for the navy?" in bob
    assert alice_question not in bob and "more question" in bob
    leaked = [w for w in RESTRICTED_WORDS if w.lower() in bob.lower()]
    assert leaked == [], leaked
    plain = bob_msg.get_body(("plain",)).get_content()
    assert "mooring fee refunds by card" in plain and not [w for w in RESTRICTED_WORDS if w.lower() in plain.lower()]


def test_digest_file_is_written_when_smtp_is_down(world, tmp_path, monkeypatch):
    from assistant.settings import get_settings, reset_settings
    from awareness_helpers import free_port

    eng = world["engine"]
    monkeypatch.setattr(eng.settings, "smtp_url", f"smtp://127.0.0.1:{free_port()}")  # nobody listens there
    try:
        out_file = tmp_path / "d.md"
        t0 = time.monotonic()
        res = cli("digest", "--since", "7d", "--send", "--to", "ops@example.com", "--out", str(out_file), code=1)
        assert time.monotonic() - t0 < 30
        assert out_file.read_text().startswith("# What's new") and "Not sent" in res.stderr
        assert "could not send through 127.0.0.1" in " ".join(res.stderr.split())
    finally:
        reset_settings()
        assert get_settings() is not None


def test_digest_bad_period_and_format(world):
    assert "--since: expected a period" in cli("digest", "--since", "last week", code=2).output
    assert "--format: expected md or html" in cli("digest", "--format", "pdf", code=2).output


def test_own_text_drops_quotes_forwards_and_signatures():
    from ingest.mailbox import html_text, own_text

    body = ("Thanks, merged.\n\nOn Tue, 4 Jun 2024 at 09:12, Tomas Reyes <tomas@example.com>\nwrote:\n> old line\n"
            ">> older line\n")
    assert own_text(body) == "Thanks, merged."
    outlook = "See below.\n\n-----Original Message-----\nFrom: A\nSent: today\nSubject: x\n\nold text\n"
    assert own_text(outlook) == "See below."
    assert own_text("New text.\n-- \nAnika\nHarbor team\n") == "New text."
    html = ('<div>Sensors on pier C next week.</div><div class="gmail_quote">On Mon wrote:<blockquote>old</blockquote>'
            "</div>")
    assert own_text(html_text(html)) == "Sensors on pier C next week."


def test_thumbs_down_gap_needs_a_document_its_answer_did_not_cite(world):
    from assistant.gaps import GapLog, log_feedback, reask_open

    eng = world["engine"]
    a = eng.ask("Have we built an online permit system for boat moorings?")
    assert a.verdict == "yes"
    assert log_feedback(eng, a, "  ", "bob", ["everyone"]) is None  # no comment: no gap
    gid = log_feedback(eng, a, "it was the wrong harbor", "bob", ["everyone"])
    reask_open(eng)  # the same yes, citing the same documents
    gap = next(g for g in GapLog(eng.settings).gaps() if g.id == gid)
    assert gap.kind == "feedback" and gap.status == "open" and gap.comment == "it was the wrong harbor"


def test_paraphrases_cluster_and_unrelated_questions_do_not(embeddings):
    from datetime import datetime, timezone

    import numpy as np

    from assistant.gaps import Gap, cluster

    questions = ["Have we built a hospital operating-room scheduling system?",
                 "Did we ever build an operating theatre scheduling tool for a hospital?",
                 "Have we built a submarine sonar maintenance planner?",
                 "Have we done a core banking migration?",
                 "Have we migrated a bank's core ledger to the cloud?"]
    t = datetime(2024, 6, 1, tzinfo=timezone.utc)
    gaps = [Gap(id=i, question=q, topic=q, asker="bob", asked_at=t, kind="no") for i, q in enumerate(questions)]
    vectors = {i: np.asarray(v, dtype=np.float32) for i, v in enumerate(embeddings.embed_documents(questions))}
    groups = [[g.id for g in c] for c in cluster(gaps, vectors, threshold=0.6)]
    assert groups == [[0, 1], [2], [3, 4]], groups


def test_mail_from_an_accounts_address_carries_its_groups_a_display_name_does_not(world, tmp_path):
    from email.message import EmailMessage

    eng = world["engine"]
    messages = []
    for i, sender in enumerate(["Alice Ward <alice@example.com>", "alice <someone@elsewhere.example>"]):
        m = EmailMessage()
        m["From"], m["Subject"], m["Message-ID"] = sender, "[GrainCast] Harvest model refresh", f"<grain-{i}@x>"
        m["Date"] = "Tue, 04 Jun 2024 09:00:00 +0000"
        m.set_content(f"The barley yield model was retrained on the 2023 harvest, run {i}.")
        messages.append(m)
    before = {d.source for d in eng.store.documents()}
    cli("ingest", str(write_mbox(tmp_path / "grain.mbox", messages)))
    new = sorted((d for d in eng.store.documents() if d.source not in before), key=lambda d: d.summary)
    assert [d.groups for d in new] == [["everyone", "finance"], ["everyone"]]
    assert all(d.project == "GrainCast" for d in new)
