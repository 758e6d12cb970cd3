"""Work claims: which sentences say what we did. Table-driven checks of ingest/claims.py, and that an answer
leads with the claim of the project's main document."""

from __future__ import annotations

import pytest

from ingest.claims import work_claims


@pytest.mark.parametrize("sentence, claims", [
    ("We worked with the Department of Labor to build a new claims portal.", True),  # governed verb
    ("Our team redesigned the intake form for veterans in six weeks.", True),  # "our" subject noun
    ("In 2019, we helped the court modernize its case management system.", True),
    ("Internal retrospective for the permits system we built for the city between February and October.", True),
    ("Our designers interviewed forty tenants about repair requests.", True),
    ("We think agile contracting is a good idea for most agencies.", False),  # not a verb of delivery
    ("The agency built its own scheduling tool on top of our API.", False),  # someone else's work
    ("We did not migrate the billing database during this phase.", False),  # negated
    ("A state agency asked whether we had built campground reservations before.", False),  # reported
    ("Have we ever built a permit system for a county government?", False),  # a question
    ("I visited the team at the regional office last spring to learn.", False),  # no first-person plural
])
def test_is_a_work_claim(sentence, claims):
    assert (work_claims([sentence]) == [sentence]) is claims


def test_claims_are_verbatim_in_order_and_capped():
    text = ("Some context about the client comes first. We built the eligibility screener for the state. "
            "It was used widely across many counties. Our engineers migrated the records to the cloud platform.")
    got = work_claims([text], limit=5)
    assert got == ["We built the eligibility screener for the state.",
                   "Our engineers migrated the records to the cloud platform."]
    assert all(c in text for c in got)
    assert work_claims([text], limit=1) == got[:1]
