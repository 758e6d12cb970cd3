"""End to end in a real browser: `streamlit run ui/app.py` on loopback, driven by Playwright in Debian's Chromium.

A person asks a question and sees a cited answer, follows up, uploads a file on the Library page, sees
it listed, gets it cited back on the chat page, downloads a capability brief, and follows an answer's
links to its project's timeline and to a person who worked on it. With sign-in on, a member never sees a
document of a group they are not in (chat, Library, Projects, People, Status, nor after an admin signs out on the
same screen), while an admin in that group gets it cited. Screenshots of each step go to test-artifacts/.
Playwright never downloads a browser here: it drives /usr/bin/chromium (`make browser` installs it)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
WAIT_MS = 90_000

DOCS = {
    "harbor-permits.md": """---
title: "Case study: HarborPass boat mooring permits"
client: Port of Wexley Harbor Authority
project: HarborPass
date: 2022-05-10
people: [Anika Solberg, Tomas Reyes]
doc_type: case_study
---
# HarborPass: online mooring permits for the Port of Wexley

We built HarborPass, an online permit system that lets boat owners apply for seasonal mooring permits,
upload insurance documents and pay fees by card. Harbor staff review applications in a queue and approve
permits in minutes instead of weeks.

## Results
Permit processing time fell from twelve days to two days. Ninety percent of mooring permit applications
now arrive online.
""",
    "grain-forecast.md": """---
title: "Retrospective: GrainCast yield forecasting"
client: Prairie Growers Cooperative
project: GrainCast
date: 2021-09-01
people: [Lucia Fernandez, Omar Haddad]
doc_type: retrospective
---
# GrainCast retrospective

GrainCast forecasts wheat and barley yields for cooperative members from satellite imagery and soil
sensor readings. Farmers used the weekly yield forecast to plan storage and trucking.
""",
    "shelfhelp-status.md": """---
title: "Status update: ShelfHelp library catalogue search"
client: Eastvale Public Library
project: ShelfHelp
date: 2023-03-15
people: [Grace Okafor]
doc_type: status_update
---
# ShelfHelp status update, March 2023

ShelfHelp is a catalogue search for the Eastvale Public Library that lets patrons find books, reserve
copies and renew loans from their phones.
""",
}

UPLOAD_NAME = "orbittrack-dashboard.md"
UPLOAD = """---
title: "OrbitTrack debris dashboard"
client: Lunaris Space Agency
project: OrbitTrack
date: 2024-02-20
people: [Wanjiru Kamau]
doc_type: case_study
---
# OrbitTrack

We designed OrbitTrack, a satellite tracking dashboard for the Lunaris Space Agency that warns mission
controllers about orbital debris conjunctions hours before a close approach.
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (install it with `make browser` or `apt-get install -y chromium`)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy within {timeout:g} s:\n{log.read_text()[-3000:]}")


def _app_env(base: Path, data: Path, **extra: str) -> dict[str, str]:
    """A clean environment for the app and the command line: this data dir, no config file, no telemetry."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PRECEDENT_", "OPENAI_", "STREAMLIT_"))}
    return env | {"PRECEDENT_DATA_DIR": str(data), "PRECEDENT_CONFIG": str(base / "none.env"),
                  "ANONYMIZED_TELEMETRY": "False", "DO_NOT_TRACK": "1", "PYTHONPATH": str(ROOT)} | extra


@contextmanager
def running_app(base: Path, env: dict[str, str]) -> Iterator[str]:
    """`streamlit run ui/app.py` on a free loopback port (started in `base`); yields its URL, stops it after."""
    port = _free_port()
    log = base / f"streamlit-{port}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "ui" / "app.py"), "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.address", "127.0.0.1", "--server.port", str(port),
             "--server.fileWatcherType", "none"],
            cwd=base, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app on a free loopback port, over a data dir with a few small documents ingested."""
    _require_chromium()
    base = tmp_path_factory.mktemp("browser")
    docs = base / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    env = _app_env(base, base / "data")
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(docs)], cwd=base, env=env, check=True,
                   capture_output=True, timeout=300)
    with running_app(base, env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("playwright is not installed; CI must run the browser tests")
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def screenshot(page, name: str, whole: bool = True) -> Path:
    """The whole page (the viewport grows to the height of Streamlit's scrolling main area first), or what
    is in view (a chat scrolls to its latest answer)."""
    ARTIFACTS.mkdir(exist_ok=True)
    if not whole:
        path = ARTIFACTS / name
        page.screenshot(path=str(path))
        return path
    extra = page.evaluate("""() => { const m = document.querySelector('[data-testid="stAppScrollToBottomContainer"]')
        || document.querySelector('[data-testid="stMain"]'); return m ? m.scrollHeight - m.clientHeight : 0; }""")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(size["height"] + int(extra) + 20, 8000)})
    page.wait_for_timeout(700)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    page.set_viewport_size(size)
    return path


def wait_idle(page) -> None:
    """Until the app has finished its run (the status widget that says 'Running' is gone)."""
    page.wait_for_timeout(300)
    page.get_by_test_id("stStatusWidget").wait_for(state="detached", timeout=WAIT_MS)


def ask(page, question: str):
    """Type a question, wait for its answer; returns the answer's chat message."""
    messages = page.get_by_test_id("stChatMessage")
    before = messages.count()
    for _ in range(20):  # after a page switch the conversation re-renders: count once it has settled
        page.wait_for_timeout(250)
        if (now := messages.count()) == before:
            break
        before = now
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    messages.nth(before).get_by_text(question).wait_for(timeout=WAIT_MS)  # the question is where we expect it
    answer = messages.nth(before + 1)
    answer.get_by_test_id("stAlert").first.wait_for(timeout=WAIT_MS)  # the verdict banner comes last
    wait_idle(page)
    return answer


def goto_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title if title != "Chat" else "Have we done work like this?").first.wait_for(timeout=WAIT_MS)
    wait_idle(page)


def test_ask_follow_up_upload_and_cite(browser, app_url, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(WAIT_MS)
    page.goto(app_url)
    page.get_by_test_id("stChatInputTextArea").wait_for()

    # 1. A question with an answer: verdict, text, and numbered source cards naming the file.
    a1 = ask(page, "Have we built an online permit system for boat moorings?")
    assert "Yes —" in a1.inner_text()
    assert a1.get_by_text(re.compile(r"^Source \[1\]")).count() >= 1
    assert "harbor-permits.md" in a1.inner_text()
    screenshot(page, "chat-yes.png")

    # 2. A follow-up that only makes sense with the conversation.
    a2 = ask(page, "Who worked on that one?")
    assert "Anika Solberg" in a2.inner_text()

    # 3. No record: unmistakable.
    a3 = ask(page, "Have we built a hospital operating-room scheduling system?")
    assert "No record" in a3.inner_text()
    assert "Yes —" not in a3.inner_text()
    screenshot(page, "chat-no-record.png", whole=False)

    # 4. Upload a new document on the Library page and see it listed.
    goto_page(page, "Library")
    upload = tmp_path / UPLOAD_NAME
    upload.write_text(UPLOAD, encoding="utf-8")
    page.locator("input[type=file]").set_input_files(str(upload))
    page.get_by_text(re.compile(re.escape(UPLOAD_NAME) + r" — added")).wait_for(timeout=WAIT_MS)
    wait_idle(page)
    page.get_by_role("textbox", name="Search").fill("OrbitTrack")
    page.keyboard.press("Enter")
    page.get_by_text("Showing 1 of 4.").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    # The table is drawn on a canvas; its accessible copy in the DOM carries the cell text.
    assert "OrbitTrack debris dashboard" in page.get_by_test_id("stDataFrame").text_content()
    assert "Source: upload:" + UPLOAD_NAME in page.get_by_test_id("stMain").inner_text()  # the selected document's card (namespaced)
    page.get_by_role("textbox", name="Search").fill("")
    page.keyboard.press("Enter")
    page.get_by_text("Showing 4 of 4.").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    screenshot(page, "library.png")

    # 5. Back on the chat page, the conversation is still there and the new document is cited.
    goto_page(page, "Chat")
    page.get_by_test_id("stChatMessage").nth(5).wait_for(timeout=WAIT_MS)
    assert page.get_by_test_id("stChatMessage").count() == 6
    a4 = ask(page, "Have we built a satellite tracking dashboard for orbital debris?")
    text = a4.inner_text()
    assert "Yes —" in text and UPLOAD_NAME in text and "OrbitTrack" in text

    # 6. The evaluation page: a short run of a dataset against this library.
    goto_page(page, "Evaluation")
    page.get_by_test_id("stNumberInput").locator("input").fill("3")
    page.keyboard.press("Enter")
    wait_idle(page)
    for _ in range(2):  # two runs: the page then charts them and compares them
        page.get_by_role("button", name="Run evaluation").click()
        page.get_by_text("Done.").wait_for(timeout=WAIT_MS)
        wait_idle(page)
    page.get_by_test_id("stMetric").first.wait_for(timeout=WAIT_MS)
    page.get_by_text("B − A").first.wait_for(state="attached", timeout=WAIT_MS)  # the comparison table
    screenshot(page, "evaluation.png")

    goto_page(page, "Status")
    assert "reachable" in page.get_by_test_id("stMetric").nth(2).inner_text()
    screenshot(page, "status.png")

    # 7. From the first answer to its project's timeline, and on to a person who worked on it.
    goto_page(page, "Chat")
    first = page.get_by_test_id("stChatMessage").nth(1)
    # the conversation re-renders after the page switch: wait for it rather than count at once
    first.get_by_role("button", name="Capability brief (DOCX)").wait_for(timeout=WAIT_MS)
    assert first.get_by_role("button", name="Capability brief (DOCX)").count() == 1
    with page.expect_download() as download:
        first.get_by_role("button", name="Capability brief (Markdown)").click()
    assert "HarborPass" in Path(download.value.path()).read_text(encoding="utf-8")
    first.get_by_role("link", name="HarborPass").click()
    page.get_by_role("heading", name="Projects").first.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    assert page.url.endswith("/projects?project=harborpass")
    page.get_by_text("Timeline", exact=True).first.wait_for(timeout=WAIT_MS)
    # the timeline table: drawn on a canvas, its accessible copy in the DOM carries the cell text
    page.get_by_test_id("stDataFrame").filter(has_text="harbor-permits.md").wait_for(state="attached", timeout=WAIT_MS)
    screenshot(page, "projects-from-chat.png")
    page.get_by_role("link", name="Anika Solberg").first.click()
    page.get_by_role("heading", name="Anika Solberg").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    page.get_by_role("link", name="HarborPass").first.wait_for(timeout=WAIT_MS)

    # 8. "Who has done X?": people with the project and a cited sentence.
    goto_page(page, "Chat")
    who = ask(page, "Who has worked on boat mooring permits?")
    text = who.inner_text()
    assert "Anika Solberg" in text and "[" in text, text
    screenshot(page, "who-has-done.png", whole=False)
    page.close()


# -- who may see what ---------------------------------------------------------------------------------
RESTRICTED = {
    "finance/falcon.md": "---\ntitle: Project Falcon pricing\nclient: Zentara Bank\nproject: Falcon\npeople: [Quincy Marlowe]\n"
    "---\n# Falcon\n\nWe built a fraud scoring engine for Zentara Bank with a fixed fee of 1.2 million.\n"
    "Quincy Marlowe led the anomaly detection work on the card transactions.\n",
}
RESTRICTED_WORDS = ["Zentara", "Falcon", "Quincy", "Marlowe", "finance/"]
MEMBER_QUESTIONS = ["Have we built a fraud scoring engine for a bank?",
                    "Who has done anomaly detection on card transactions?"]
PASSWORDS = {"alice": "pw-alice-7Q", "bob": "pw-bob-3K"}


@pytest.fixture(scope="module")
def secured_app(tmp_path_factory, embeddings):
    """The app with sign-in on (auth = local) over public documents and one finance-only document;
    alice (admin, finance) and bob (member, everyone) have accounts in DATA_DIR/users.yaml."""
    _require_chromium()
    from assistant.access import User, save_user
    from assistant.engine import Engine
    from assistant.settings import Settings

    base = tmp_path_factory.mktemp("browser-access")
    corpus, data = base / "corpus", base / "data"
    for rel, text in {**{f"public/{n}": t for n, t in DOCS.items()}, **RESTRICTED}.items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text(text, encoding="utf-8")
    eng = Engine(settings=Settings(data_dir=data, group_rules={"finance/": ["finance"]}), embeddings=embeddings)
    report = eng.ingestor().ingest_paths([corpus])
    assert report.failed == [] and report.added == len(DOCS) + len(RESTRICTED)
    restricted = {d.source: d.groups for d in eng.store.documents() if d.source in RESTRICTED}
    assert restricted == {"finance/falcon.md": ["finance"]}, restricted
    save_user(User(username="alice", name="Alice", role="admin", groups=["everyone", "finance"]), PASSWORDS["alice"],
              data / "users.yaml")
    save_user(User(username="bob", name="Bob", role="member", groups=["everyone"]), PASSWORDS["bob"],
              data / "users.yaml")
    del eng
    with running_app(base, _app_env(base, data, PRECEDENT_AUTH="local")) as url:
        yield url


def leaked(text: str, typed: list[str] = ()) -> list[str]:
    """Restricted words in what the page shows, other than inside what the user typed themselves."""
    for t in typed:
        text = text.replace(t, " ")
    return [w for w in RESTRICTED_WORDS if w.lower() in text.lower()]


def page_text(page) -> str:
    """What the page shows (`inner_text`) plus the DOM copies of canvas tables (`text_content`)."""
    tables = " ".join(t.text_content() or "" for t in page.get_by_test_id("stDataFrame").all())
    return page.inner_text("body") + "\n" + tables


def wait_table(page, text: str) -> None:
    """Until a canvas table's DOM copy (drawn a moment after the page) carries `text`. The copy holds the rows
    and the columns in view only, so the selectboxes' choices are checked too (they name every document)."""
    page.get_by_test_id("stDataFrame").filter(has_text=text).first.wait_for(state="attached", timeout=WAIT_MS)


def select_options(page, label: str, within=None) -> list[str]:
    """The choices a selectbox offers (opened, read, closed again)."""
    box = (within or page).get_by_test_id("stSelectbox").filter(has_text=label).first
    box.locator("input").click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=WAIT_MS)
    texts = options.all_inner_texts()
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    return texts


def sign_in(page, username: str) -> None:
    page.get_by_role("heading", name="Sign in").wait_for(timeout=WAIT_MS)
    page.get_by_role("textbox", name="User name").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebar").get_by_text(f"Signed in as {username.title()}").wait_for(timeout=WAIT_MS)
    wait_idle(page)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for(timeout=WAIT_MS)
    wait_idle(page)


def test_member_never_sees_restricted_documents(browser, secured_app):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(WAIT_MS)
    page.goto(secured_app)

    # 1. Nothing before signing in: the sign-in form, no documents.
    page.get_by_role("heading", name="Sign in").wait_for()
    wait_idle(page)
    assert page.get_by_test_id("stChatInputTextArea").count() == 0
    assert leaked(page_text(page)) == []

    # 2. bob, a member without the finance group: the chat searches the public documents only.
    sign_in(page, "bob")
    page.get_by_test_id("stChatInputTextArea").wait_for()
    assert f"Searching {len(DOCS)} documents." in page.inner_text("body")
    clients = select_options(page, "Client", within=page.get_by_test_id("stSidebar"))
    assert not leaked(" ".join(clients)) and len(clients) == 1 + len(DOCS), clients
    for q in MEMBER_QUESTIONS:
        a = ask(page, q)
        assert "No record" in a.inner_text() and "Yes —" not in a.inner_text(), a.inner_text()
        assert leaked(page_text(page), MEMBER_QUESTIONS) == [], page_text(page)
    screenshot(page, "member-no-leak.png")

    # 3. The Library, Projects and People pages list the public documents only; a member cannot upload.
    goto_page(page, "Library")
    wait_table(page, "Case study: HarborPass")
    text = page_text(page)
    assert leaked(text) == [], text
    assert f"{len(DOCS)} documents" in text and f"Showing {len(DOCS)} of {len(DOCS)}." in text
    assert page.get_by_test_id("stFileUploader").count() == 0 and page.locator("input[type=file]").count() == 0
    docs = select_options(page, "Document")
    assert len(docs) == len(DOCS) and not leaked(" ".join(docs)), docs

    goto_page(page, "Projects")
    text = page_text(page)
    assert leaked(text) == [], text
    assert f"{len(DOCS)} projects · {len(DOCS)} clients · 5 people" in text
    projects = select_options(page, "Project")
    assert len(projects) == len(DOCS) and not leaked(" ".join(projects)), projects

    goto_page(page, "People")
    wait_table(page, "Anika Solberg")
    text = page_text(page)
    assert leaked(text) == [], text
    assert "5 people named in the project documents" in text
    people = select_options(page, "Person")
    assert len(people) == 5 and not leaked(" ".join(people)), people

    # a link to the restricted project, typed by hand, finds nothing either
    page.goto(f"{secured_app}/projects?project=falcon")
    sign_in(page, "bob")  # a new page load is a new session
    page.get_by_text("There is no project").wait_for(timeout=WAIT_MS)
    assert leaked(page_text(page), ["falcon"]) == []

    goto_page(page, "Status")
    assert leaked(page_text(page)) == []
    documents = page.get_by_test_id("stMetric").first.inner_text()
    assert documents.split() == ["Documents", str(len(DOCS))], documents  # not the documents bob may not read

    # 4. alice, an admin in the finance group, after bob signs out: the same question cites the restricted document.
    goto_page(page, "Chat")
    sign_out(page)
    sign_in(page, "alice")
    page.get_by_test_id("stChatInputTextArea").wait_for()
    assert f"Searching {len(DOCS) + 1} documents." in page.inner_text("body")
    a = ask(page, MEMBER_QUESTIONS[0])
    text = a.inner_text()
    assert "Yes —" in text and "finance/falcon.md" in text and "Zentara Bank" in text, text
    screenshot(page, "admin-sees-restricted.png")
    goto_page(page, "People")
    wait_table(page, "Quincy Marlowe")  # the listings are not vacuous either
    goto_page(page, "Library")
    wait_table(page, "Project Falcon pricing")

    # 5. alice signs out and bob signs in on the same screen: nothing of alice's session is left to see.
    goto_page(page, "Chat")
    sign_out(page)
    assert leaked(page_text(page)) == []
    sign_in(page, "bob")
    page.get_by_test_id("stChatInputTextArea").wait_for()
    assert leaked(page_text(page)) == [], page_text(page)
    assert page.get_by_test_id("stChatMessage").count() == 0  # a fresh conversation
    for title, row in (("Library", "Case study: HarborPass"), ("Projects", None), ("People", "Anika Solberg")):
        goto_page(page, title)
        if row:
            wait_table(page, row)
        assert leaked(page_text(page)) == [], (title, page_text(page))
    page.close()
