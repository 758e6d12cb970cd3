"""Follow-up questions: how they resolve against the conversation (table-driven), and that they are judged."""

from __future__ import annotations

import pytest

from assistant.conversation import resolve
from assistant.models import Answer, ProjectMatch, Turn

PREV = Turn(question="Have we built a permit system for a parks department?",
            answer=Answer(question="Have we built a permit system for a parks department?",
                          standalone_question="Have we built a permit system for a parks department?",
                          verdict="yes",
                          projects=[ProjectMatch(name="ParkPass", document_ids=["d1", "d2"]),
                                    ProjectMatch(name="HarborPass", document_ids=["d3"])]))


@pytest.mark.parametrize("question, followup, focus, new_topic", [
    ("Who led that one?", True, ["ParkPass", "HarborPass"], False),
    ("Tell me more about the second one", True, ["HarborPass"], False),
    ("And the first project?", True, ["ParkPass"], False),
    ("What about the FAFSA?", True, [], True),  # a topic of its own: searched and judged afresh
    ("And for Kafka pipelines, who did it?", True, [], True),  # a new name
    ("Have we built a mobile banking app for a credit union?", False, [], False),  # not a follow-up at all
])
def test_resolve(question, followup, focus, new_topic):
    r = resolve(question, [PREV])
    assert r.is_followup is followup
    assert r.focus_projects == focus
    assert (r.topic is not None) is new_topic
    if followup:
        assert PREV.question in r.standalone  # retrieval sees the conversation


def test_no_history_is_never_a_followup():
    r = resolve("Who led that one?", [])
    assert not r.is_followup and r.focus_doc_ids is None


def test_the_second_one_beyond_the_list_keeps_every_project():
    r = resolve("What about the fifth one?", [PREV])
    assert r.focus_projects == ["ParkPass", "HarborPass"]  # conservative: no guess
