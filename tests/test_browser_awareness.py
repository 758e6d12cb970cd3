"""The awareness loop in a real browser: add an update through the form, find it on What's new and on its project's
timeline; ask a question with no record and find it on Gaps; then mail the digest through a real SMTP server on
loopback and render the e-mail it delivered in Chromium. Screenshots go to runs/screenshots/."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from awareness_helpers import NO_RECORD, html_part, smtp_server
from test_browser import DOCS, ROOT, WAIT_MS, _app_env, ask, browser, goto_page, running_app, screenshot, wait_idle  # noqa: F401

pytestmark = pytest.mark.browser

SHOTS = ROOT / "runs" / "screenshots"
UPDATE_TEXT = "We launched a berth waiting list for the Port of Wexley; boat owners now queue online for a mooring."
UPDATE_TITLE = "HarborPass update: We launched a berth waiting list for the Port of Wexley; boat owners now queue"


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(screenshot(page, name), SHOTS / name))


def choose(page, label: str, option: str) -> None:
    box = page.get_by_test_id("stSelectbox").filter(has_text=label).first
    box.locator("input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_update_whats_new_gaps_and_the_digest_email(browser, tmp_path):  # noqa: F811
    from assistant.access import User, save_user

    docs, data = tmp_path / "docs", tmp_path / "data"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    # No sign-in in the app (the local operator); alice's account is only the digest's recipient.
    save_user(User(username="alice", name="Alice Ward", role="admin", groups=["everyone"], email="alice@example.com"),
              "pw-alice-digest", data / "users.yaml")
    env = _app_env(tmp_path, data)
    subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", str(docs)], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=300)

    with running_app(tmp_path, env) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        page.goto(url)
        page.get_by_test_id("stChatInputTextArea").wait_for()

        # 1. Add an update through the form.
        goto_page(page, "Add an update")
        choose(page, "Project", "HarborPass")
        page.get_by_role("textbox", name="What happened").fill(UPDATE_TEXT)
        page.get_by_role("textbox", name="Outcome").fill("Forty boat owners joined the list in its first week.")
        people = page.get_by_test_id("stMultiSelect").filter(has_text="People").first
        people.locator("input").fill("Tomas Reyes")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Add the update").click()
        page.get_by_text(re.compile(r"Added the update to HarborPass")).wait_for(timeout=WAIT_MS)
        wait_idle(page)
        shot(page, "add-update.png")

        # 2. It is on the project's timeline.
        page.get_by_role("link", name="Open HarborPass's timeline").click()
        page.get_by_role("heading", name="Projects").first.wait_for(timeout=WAIT_MS)
        wait_idle(page)
        assert page.url.endswith("/projects?project=harborpass")
        page.get_by_test_id("stDataFrame").filter(has_text=UPDATE_TITLE[:60]).wait_for(state="attached",
                                                                                       timeout=WAIT_MS)
        shot(page, "project-timeline-with-update.png")

        # 3. And on What's new, under its project, with its cited summary.
        goto_page(page, "What's new")
        main = page.get_by_test_id("stMain")
        main.get_by_text(UPDATE_TEXT[:60]).first.wait_for(timeout=WAIT_MS)
        text = main.inner_text()
        assert "HarborPass" in text and "Tomas Reyes" in text
        shot(page, "whats-new.png")

        # 4. A question with no record, then the Gaps page lists it with who might know.
        goto_page(page, "Chat")
        a = ask(page, NO_RECORD)
        assert "No record" in a.inner_text()
        goto_page(page, "Gaps")
        main = page.get_by_test_id("stMain")
        main.get_by_text(NO_RECORD).first.wait_for(timeout=WAIT_MS)
        text = main.inner_text()
        assert "Who might know" in text and "Asked 1× by 1 person" in text
        assert any(p in text for p in ("Anika Solberg", "Lucia Fernandez", "Grace Okafor")), text
        shot(page, "gaps.png")
        page.close()

    # 5. The digest, mailed through a real SMTP server, as alice's mail client would show it.
    with smtp_server() as inbox:
        mail_env = env | {"PRECEDENT_SMTP_URL": inbox.url, "PRECEDENT_DIGEST_GROUP": "everyone",
                          "PRECEDENT_SMTP_SENDER": "precedent@example.com"}
        res = subprocess.run([sys.executable, "-m", "assistant.cli", "digest", "--since", "7d", "--send"],
                             cwd=tmp_path, env=mail_env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        received = inbox.to("alice@example.com")
        assert len(received) == 1, res.stderr
    html = html_part(received[0])
    assert UPDATE_TEXT[:60] in html and NO_RECORD in html
    SHOTS.mkdir(parents=True, exist_ok=True)
    email_file = SHOTS / "digest-email.html"
    email_file.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": 900, "height": 1200})
    page.goto(email_file.as_uri())
    page.get_by_role("heading", name="What's new").wait_for(timeout=WAIT_MS)
    page.screenshot(path=str(SHOTS / "digest-email.png"), full_page=True)
    page.close()
