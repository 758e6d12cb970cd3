"""The citation check: invalid numbers are removed, uncited claims are flagged, verdict lines are not."""

from __future__ import annotations

from assistant.citations import check, cited_numbers, split_sentences
from assistant.models import Citation


def cites(*numbers: int) -> list[Citation]:
    return [Citation(n=n, source=f"doc{n}.md") for n in numbers]


def test_invalid_number_inside_a_list_is_removed_and_the_valid_one_kept():
    text, removed, _ = check("We built a permit portal for the City of Riverton [2, 9].", cites(1, 2))
    assert text == "We built a permit portal for the City of Riverton [2]."
    assert removed == [9]


def test_a_mark_with_only_invalid_numbers_disappears_without_leaving_a_gap():
    text, removed, uncited = check("We redesigned the museum website [7]. It runs on Drupal and has a ticket shop [1].",
                                   cites(1, 2))
    assert text == "We redesigned the museum website. It runs on Drupal and has a ticket shop [1]."
    assert removed == [7]
    assert uncited == ["We redesigned the museum website."]  # its only citation was invalid: now it is uncited


def test_fabricated_model_output_citing_a_source_that_does_not_exist():
    model_output = ("Yes — 1 past project matches.\n"
                    "We built an online permit system for the Riverton parks department [1]. "
                    "It cut processing time from two weeks to two days [2]. "
                    "The team also launched a rover on Mars for the city [7].")
    text, removed, uncited = check(model_output, cites(1, 2))
    assert removed == [7]
    assert "[7]" not in text
    assert set(cited_numbers(text)) <= {1, 2}
    assert uncited == ["The team also launched a rover on Mars for the city."]


def test_removed_numbers_are_sorted_and_unique_and_valid_text_is_untouched():
    original = "We delivered the screener [1]. We trained the staff on it [2]."
    assert check(original, cites(1, 2)) == (original, [], [])
    _, removed, _ = check("A claim with many words here [5, 3]. Another claim with many words [5].", cites(1))
    assert removed == [3, 5]


def test_ranges_are_checked_number_by_number():
    text, removed, _ = check("We ran three discovery sprints with the agency [1-3].", cites(1, 2))
    assert text == "We ran three discovery sprints with the agency [1, 2]."
    assert removed == [3]
    assert cited_numbers("Shown in several documents [2–4].") == [2, 3, 4]


def test_uncited_claim_sentences_are_flagged():
    text = ("Yes — 2 past projects match.\n"
            "We built an online permit system for the City of Riverton [1]. "
            "Ana Lopez led the project and Ben Okafor built the payments. "
            "The system replaced paper forms and cut processing time [2].")
    _, _, uncited = check(text, cites(1, 2))
    assert uncited == ["Ana Lopez led the project and Ben Okafor built the payments."]


def test_verdict_lines_labels_and_headings_are_not_flagged():
    text = ("Yes — 2 past projects match.\n"
            "No record of a Mars rover in our documents.\n"
            "No, we have no record of that (nothing in our documents mentions: mars, rover).\n"
            "Closest work, not a match:\n"
            "**Riverton Parks Permits** — City of Riverton (2024-05)\n"
            "## Riverton parks permits for the City of Riverton\n"
            "People: Ana Lopez, Ben Okafor, Chloe Martin, Dev Patel\n"
            "Would you like to know more about these projects?\n"
            "- We built an online permit system for the City of Riverton parks department. [1]")
    _, removed, uncited = check(text, cites(1))
    assert removed == []
    assert uncited == []


def test_a_citation_after_the_full_stop_belongs_to_the_sentence_before_it():
    assert split_sentences("We built the portal for the parks department. [1] It cut processing time in half. [2]") == [
        "We built the portal for the parks department. [1]", "It cut processing time in half. [2]"]
    _, _, uncited = check("- We built an online permit system for the parks department. [1]", cites(1))
    assert uncited == []


def test_markdown_links_and_short_fragments_are_not_citations():
    text = "See the [case study](https://example.org/case) for the whole story of the project [1]."
    assert check(text, cites(1)) == (text, [], [])
    assert cited_numbers(text) == [1]


def test_cited_numbers_in_order_of_first_use():
    assert cited_numbers("First [3]. Then [1, 3]. Then [2] and [1].") == [3, 1, 2]
    assert cited_numbers("No citations here.") == []


def test_a_number_that_starts_with_a_point_keeps_its_space():
    text, _, _ = check("Rates fell by an average of .1 percent [1]. Savings reached $.5 million [3].", cites(1))
    assert text == "Rates fell by an average of .1 percent [1]. Savings reached $.5 million."
