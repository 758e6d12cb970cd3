"""People by full name, with the role the text states: table-driven checks of ingest/people.py."""

from __future__ import annotations

import pytest

from ingest.people import full_name, people_in, read_names, resolve_handle


@pytest.mark.parametrize("span, lower, want", [
    ("Jessica Marine", set(), "Jessica Marine"),
    ("Dr. Alan Whitcombe", set(), "Alan Whitcombe"),
    ("Uchenna Moka-Solana", set(), "Uchenna Moka-Solana"),
    ("Jessica", set(), None),  # a first name alone is not a person entry
    ("Vendor Info", {"vendor", "info"}, None),  # ordinary words of the same document
    ("The Department", set(), None),
    ("Jane D.", set(), None),
    ("Nora Fitzgerald\nHalvorsen", set(), "Nora Fitzgerald"),  # a slide's next line is not her surname
    ("dir=\"ltr\">We're", set(), None),
])
def test_full_name(span, lower, want):
    assert full_name(span, lower) == want


@pytest.mark.parametrize("handle, names, want", [
    ("Jane Doe", [], "Jane Doe"),  # written as a name
    ("jane-doe", [], "Jane Doe"),  # the first-last slug convention
    ("janedoe", ["Jane Doe"], "Jane Doe"),  # squashed, and spelled out in the text
    ("jane", ["Jane Doe", "Sam Roe"], "Jane Doe"),
    ("jane", ["Jane Doe", "Jane Roe"], None),  # two Janes: not guessed
    ("vdavez", ["Jane Doe"], None),  # a handle the text never spells out
    ("bill-smith-guest-doj", [], None),  # a long slug is not trusted
    ("jdoe", ["Jane Doe"], "Jane Doe"),
])
def test_resolve_handle(handle, names, want):
    assert resolve_handle(handle, names) == want


def test_people_in_joins_first_names_and_reads_roles():
    texts = [
        "Jessica Marine, the product owner at the court, set the priorities.",
        "Later Jessica asked for a second release. The tech lead was Omar Haddad.",
        "We met with Priya Raman (designer) and with the Vendor Info desk.",
        "The vendor sent its info pack.",
    ]
    found = {p.name: p for p in people_in(texts, authors=["omar-haddad", "vdavez"], addressed=["Lee Chan"])}
    assert set(found) == {"Jessica Marine", "Omar Haddad", "Priya Raman", "Lee Chan"}
    assert found["Jessica Marine"].role == "product owner"
    assert found["Jessica Marine"].evidence.startswith("Jessica Marine, the product owner")
    assert found["Omar Haddad"].role == "tech lead"
    assert found["Priya Raman"].role == "designer"


def test_each_person_carries_how_the_document_ties_them_to_the_work():
    """An author, an addressee and a stated role tie a person to the work; a name the text only mentions (an
    official quoted, a product the recogniser takes for a name) does not."""
    texts = [
        "Omar Haddad, tech lead, moved the permit forms online in March.",
        "Omar Haddad and Sam Roe ran the training for clerks.",  # listed beside a colleague
        "“It saves families a trip,” said Governor Maria Ortez at the launch.",
        "The old form requires Adobe Acrobat to open.",
    ]
    found = {p.name: p for p in people_in(texts, authors=["Jessica Marine"], addressed=["Lee Chan"])}
    assert found["Jessica Marine"].tie == "wrote" and found["Lee Chan"].tie == "addressed"
    assert found["Omar Haddad"].tie == "role" and found["Sam Roe"].tie == "listed"
    assert all(p.tie == "" for name, p in found.items() if name not in ("Jessica Marine", "Lee Chan", "Omar Haddad", "Sam Roe"))
    assert found["Maria Ortez"].tie == ""


def test_names_inside_an_organisation_are_not_people():
    """"Maple Falls" of the client "City of Maple Falls"; a name spelled out before its initials; but a thing
    named after a person ("the Andrew Hyder award") leaves the person a person."""
    texts = [
        "Maple Falls is a city of 180,000 people, and its parks office asked us for online permits.",
        "Files arrive as Comma Separated Values (CSV) every night, said Andrew Hyder.",
        "The Andrew Hyder Government Service Improvement Award went to the team.",
    ]
    people, _things = read_names(texts, orgs=["City of Maple Falls Parks Department"])
    found = {p.name for p in people}
    assert "Maple Falls" not in found and "Comma Separated Values" not in found
    assert "Andrew Hyder" in found


@pytest.mark.parametrize("text, thing", [
    ("We built the Contract-Awarded Labor Category tool (CALC), a website for rates. Cities use it too.", "CALC"),
    ("The agency asked us to develop an approval tool, formerly called Communicart, for card holders.", "Communicart"),
    ("Our team launched what users know as the Benefit Finder, also known as Benefit Finder Plus today.",
     "Benefit Finder Plus"),
])
def test_a_name_the_document_defines_is_what_it_is_known_by(text, thing):
    assert thing in read_names([text])[1]


@pytest.mark.parametrize("before, inside", [
    ("The outcome will be a ", True),  # "a Starter Kit"
    ("An ", True),
    ("read the ", True),
    ("Theodore ", False),
    ("Post-9/11 GI ", True),  # "GI Bill Statement of Benefits"
    ("We asked ", False),
    ("Administrator ", False),  # a title before a name is a title
    ("USDS’s ", False),
    ("Data ", False),
])
def test_a_capitalised_pair_after_an_article_or_an_acronym_is_a_thing(before, inside):
    from ingest.people import _inside_a_phrase

    assert _inside_a_phrase(before) is inside


def test_initials_of_ordinary_words_in_brackets_are_not_names():
    assert "pdf" not in [t.lower() for t in read_names(["Send the form (pdf) to the office by Friday."])[1]]


@pytest.mark.parametrize("short, name, want", [
    ("CSV", "Comma Separated Values", True),
    ("LOGWORLD", "Logistics Worldwide", True),
    ("MOBIS", "Mission Oriented Business Integrated Services", True),
    ("CV", "Comma Separated Values", False),  # every word gives a letter
    ("USDS", "Jane Doe", False),
    ("JD", "Jane Doe", True),
    ("JANEDOES", "Jane Doe", False),
])
def test_abbreviates(short, name, want):
    from ingest.people import abbreviates

    assert abbreviates(short, name) is want


def test_a_person_followed_by_an_organisation_abbreviation_stays_a_person():
    people, _ = read_names(["Schedules include Logistics Worldwide (LOGWORLD) and others, said Andrew Hyder (USDS)."])
    found = {p.name for p in people}
    assert "Logistics Worldwide" not in found and "Andrew Hyder" in found
