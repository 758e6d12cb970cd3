"""End to end in a real browser: `streamlit run ui/app.py` on loopback, driven by Playwright in Debian's Chromium.

A person asks a question and sees a cited answer, follows up, uploads a file on the Library page, sees
it listed, gets it cited back on the chat page, downloads a capability brief, and follows an answer's
links to its project's timeline and to a person who worked on it. Screenshots of each step go to test-artifacts/.
Playwright never downloads a browser here: it drives /usr/bin/chromium (`make browser` installs it)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

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


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app on a free loopback port, over a data dir with a few small documents ingested."""
    _require_chromium()
    base = tmp_path_factory.mktemp("browser")
    docs = base / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PRECEDENT_", "OPENAI_", "STREAMLIT_"))}
    env |= {"PRECEDENT_DATA_DIR": str(base / "data"), "PRECEDENT_CONFIG": str(base / "none.env"),
            "ANONYMIZED_TELEMETRY": "False", "DO_NOT_TRACK": "1", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(docs)], cwd=base, env=env, check=True,
                   capture_output=True, timeout=300)
    port = _free_port()
    log = base / "streamlit.log"
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
def browser(app_url):
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
    before = page.get_by_test_id("stChatMessage").count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    answer = page.get_by_test_id("stChatMessage").nth(before + 1)
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
    page.get_by_test_id("stTextInput").locator("input").fill("OrbitTrack")
    page.keyboard.press("Enter")
    page.get_by_text("Showing 1 of 4.").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    # The table is drawn on a canvas; its accessible copy in the DOM carries the cell text.
    assert "OrbitTrack debris dashboard" in page.get_by_test_id("stDataFrame").text_content()
    assert "Source: " + UPLOAD_NAME in page.get_by_test_id("stMain").inner_text()  # the selected document's card
    page.get_by_test_id("stTextInput").locator("input").fill("")
    page.keyboard.press("Enter")
    page.get_by_text("Showing 4 of 4.").wait_for(timeout=WAIT_MS)
    wait_idle(page)
    screenshot(page, "library.png")

    # 5. Back on the chat page, the conversation is still there and the new document is cited.
    goto_page(page, "Chat")
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
    assert page.get_by_role("link", name="HarborPass").count() >= 1
    page.close()
