"""Duplicate matching on blind keys: canonical names, calibrated scores, nothing readable.

The calibration cases are the promises registrars rely on: a re-registration spelled another
way is flagged, two different Mohammeds are not. The privacy cases are the promise erasure
relies on: nothing in what the index stores can be read back.
"""

from __future__ import annotations

import itertools
import json
import unicodedata
from dataclasses import asdict

import pytest

from services.registry.matching import (
    BLOCKING_FLOOR,
    TRANSLITERATIONS,
    WEIGHTS,
    BlindIndexer,
    PersonKeys,
    bare_initials,
    blind_index_key,
    canonical_tokens,
    initials,
    score,
)
from services.registry.people import index_document

INDEXER = BlindIndexer(blind_index_key(b"unit-test master key of 32 bytes"))


def person(
    name: str,
    *,
    migrant_id: str | None = None,
    other_names: tuple[str, ...] = (),
    born: int | None = None,
    nationality: str | None = None,
    phone: str | None = None,
    document: str | None = None,
    indexer: BlindIndexer = INDEXER,
) -> PersonKeys:
    return indexer.keys_for(
        migrant_id=migrant_id or name,
        names=[name, *other_names],
        birth_year=born,
        nationality=nationality,
        phone=phone,
        document_number=document,
    )


def name_keys(keys: PersonKeys) -> tuple[frozenset[str], ...]:
    return (keys.name_tokens, keys.name_initials, keys.initials_only, keys.common_tokens)


def findable(query: PersonKeys, other: PersonKeys) -> bool:
    """Would a lookup for ``query`` reach ``other`` by name, within birth years?"""
    wanted = query.blocks.pairs | query.blocks.alone | query.blocks.one_word
    stored = other.blocks.stored | other.blocks.stored_in_year
    return bool(wanted & stored)


# --- canonical names -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spellings", "canonical"),
    [
        (
            ["Mohammed", "Muhammad", "Mohamed", "Mohammad", "Muhammed", "Mohd", "Mohd.", "Md",
             "Md.", "MD", "Mohammod"],
            "muhammad",
        ),
        (["Abdul", "Abdool", "Abdur", "Abdus"], "abdul"),
        (["Hossain", "Hussain", "Hosain", "Husain", "Hussein", "Hossen"], "hussain"),
        (["Rahman", "Rehman", "Rahaman"], "rahman"),
        (["Islam", "Eslam", "Islaam"], "islam"),
        (["Begum", "Begom", "Begam"], "begum"),
        (["Akter", "Akhter", "Akhtar", "Aktar"], "akter"),
        (["Khatun", "Khatoon"], "khatun"),
        (["Chowdhury", "Choudhury", "Chaudhary", "Chowdhuri"], "chowdhury"),
        (["Kumar", "Kumara", "Kumaar"], "kumar"),
        (["Karim", "Kareem", "KARIM", "Karím"], "karim"),
        (["Yusuf", "Yousuf", "Yousef"], "yusuf"),
    ],
)  # fmt: skip
def test_transliteration_variants_collapse_to_one_canonical_token(
    spellings: list[str], canonical: str
) -> None:
    # given the ways registrars spell one name, then each canonicalises alike
    assert {tuple(canonical_tokens(s)) for s in spellings} == {(canonical,)}


def test_the_transliteration_table_is_consistent() -> None:
    # every canonical form is its own canonical form, and no spelling belongs to two names
    for canonical in TRANSLITERATIONS:
        assert canonical_tokens(canonical) == [canonical]
    spellings = [v for variants in TRANSLITERATIONS.values() for v in variants]
    owners = {v: c for c, variants in TRANSLITERATIONS.items() for v in variants}
    for spelling in spellings:
        assert canonical_tokens(spelling) == [owners[spelling]], spelling


def test_punctuation_case_whitespace_titles_and_particles_do_not_change_a_name() -> None:
    same = [
        "Md. Abdul Karim",
        "MD ABDUL KARIM",
        "  md.abdul   karim ",
        "Mr. Mohammed Abdul-Karim",
        "Mohammad Abd-ul Karim",
    ]
    assert {tuple(canonical_tokens(s)) for s in same} == {("muhammad", "abdul", "karim")}
    assert canonical_tokens("Salah-ud-Din") == canonical_tokens("Salah Uddin")
    assert canonical_tokens("Nimal de Silva") == canonical_tokens("Nimal Silva")


def test_bare_initials_are_told_apart_from_words() -> None:
    assert canonical_tokens("M. Karim") == ["karim"]
    assert bare_initials("M. Karim") == ["m"]
    assert bare_initials("M.Karim") == ["m"]
    assert bare_initials("Md. Karim") == []  # "Md." is Muhammad, not an initial
    assert initials("Eslam Uddin") == {"e", "i", "u"}  # as written and as canonicalised
    assert initials("M. Karim") == {"m", "k"}


def test_word_order_case_and_spelling_give_the_same_name_keys() -> None:
    # given one person's name written four ways
    spellings = ["Mohammed Karim Hossain", "HOSSAIN, Md. Karim", "Karim Hussain Muhammad"]
    keys = [person(s) for s in spellings]
    # then the blind name keys are identical
    assert len({name_keys(k) for k in keys}) == 1


@pytest.mark.parametrize(
    "name",
    [
        "মোহাম্মদ করিম",  # Bengali
        "राम बहादुर थापा",  # Devanagari (Nepali)
        "முருகன் செல்வம்",  # Tamil
        "නිමල් පෙරේරා",  # Sinhala
        "އަޙްމަދު ރަޝީދު",  # Thaana (Dhivehi)
    ],
)
def test_names_in_other_scripts_match_themselves_however_encoded(name: str) -> None:
    # given a name typed in another script, then the same name decomposed, or with a
    # zero-width joiner a different keyboard inserted
    original = person(name, migrant_id="a", born=1990, nationality="BD")
    decomposed = person(
        unicodedata.normalize("NFD", name), migrant_id="b", born=1990, nationality="BD"
    )
    joined = person(name.replace(" ", "\u200d "), migrant_id="c", born=1990, nationality="BD")
    # then all three carry the same name keys, score as the same person and find each other
    assert name_keys(original) == name_keys(decomposed) == name_keys(joined)
    assert original.name_tokens  # the script's letters and vowel signs were kept
    assert score(original, decomposed).score >= 0.7
    assert findable(original, decomposed)


def test_a_different_name_in_the_same_script_is_not_a_match() -> None:
    karim = person("মোহাম্মদ করিম", born=1990, nationality="BD")
    rahim = person("মোহাম্মদ রহিম", born=1990, nationality="BD")
    assert score(karim, rahim).score < 0.5


def test_fullwidth_latin_is_the_same_name() -> None:
    fullwidth = "\uff2b\uff21\uff32\uff29\uff2d"  # KARIM as some phone keyboards type it
    assert canonical_tokens(fullwidth) == ["karim"]


# --- calibration ---------------------------------------------------------------------------


def test_same_phone_alone_is_a_likely_duplicate() -> None:
    match = score(person("Rina Akter", phone="+9607771234"), person("Shirin", phone="+9607771234"))
    assert match.score >= 0.6
    assert match.matched == ("phone",)


def test_same_document_alone_is_a_strong_duplicate() -> None:
    match = score(person("A B", document="BN0123456"), person("C D", document="BN0123456"))
    assert match.score >= 0.8
    assert match.matched == ("document",)


def test_md_karim_is_mohammed_karim_born_the_same_year_in_the_same_country() -> None:
    match = score(
        person("Mohammed Karim", born=1990, nationality="BD"),
        person("Md. Karim", born=1990, nationality="BD"),
    )
    assert match.score >= 0.7
    assert match.matched == ("name", "birth_year", "nationality")


def test_word_order_does_not_matter() -> None:
    match = score(person("Karim Mohammed"), person("Mohammed Karim"))
    assert match.score >= 0.7
    assert "name" in match.matched


def test_an_initial_matches_the_full_word_it_stands_for() -> None:
    initial = person("M. Karim", born=1990)
    full = person("Mohammed Karim", born=1990)
    match = score(initial, full)
    assert match.score >= 0.5
    assert {"name", "initials", "birth_year"} <= set(match.matched)
    # and the lookup finds them both ways
    assert findable(initial, full)
    assert findable(full, initial)


def test_an_initial_that_fits_no_word_counts_against_the_match() -> None:
    fits = score(person("M. Karim", born=1990), person("Mohammed Karim", born=1990))
    misfit = score(person("A. Karim", born=1990), person("Mohammed Karim", born=1990))
    assert misfit.score < 0.5 < fits.score


def test_sharing_only_muhammad_and_a_nationality_is_not_a_duplicate() -> None:
    for born in ((None, None), (1985, 1992), (1990, 1990)):
        match = score(
            person("Mohammed Karim", born=born[0], nationality="BD"),
            person("Muhammad Rahim", born=born[1], nationality="BD"),
        )
        assert match.score < 0.4, born
        assert "name" not in match.matched


def test_birth_year_exact_beats_one_year_off_beats_unknown_beats_far_apart() -> None:
    def with_year(year: int | None) -> float:
        return score(person("Jamal Biswas", born=1990), person("Jamal Biswas", born=year)).score

    assert with_year(1990) > with_year(1991) > with_year(None) > with_year(1995)
    assert with_year(1989) == with_year(1991)


def test_another_nationality_lowers_the_score() -> None:
    same = score(person("Ram Thapa", nationality="NP"), person("Ram Thapa", nationality="NP"))
    other = score(person("Ram Thapa", nationality="NP"), person("Ram Thapa", nationality="IN"))
    assert other.score < same.score
    assert "nationality" not in other.matched


def test_year_and_nationality_alone_identify_no_one() -> None:
    anil = person("Anil Das", born=1990, nationality="IN")
    bishnu = person("Bishnu Rai", born=1990, nationality="IN")
    match = score(anil, bishnu)
    assert match.score < 0.1


def test_a_very_common_name_needs_more_than_the_name() -> None:
    # "Md. Hossain" is thousands of people: the name alone is weak, with year and country it
    # is worth a look
    bare = score(person("Mohammed Hossain"), person("Md. Hussain"))
    placed = score(
        person("Mohammed Hossain", born=1990, nationality="BD"),
        person("Md. Hussain", born=1990, nationality="BD"),
    )
    distinctive = score(person("Jahangir Matubbar"), person("Jahangir Matubbar"))
    assert bare.score < 0.5 <= placed.score
    assert distinctive.score > bare.score


SAMPLES = [
    ("Mohammed Karim", 1990, "BD", "+9607770001", "A1"),
    ("Md. Karim", 1991, "BD", None, None),
    ("M. Karim Hossain", None, "BD", "+9607770001", None),
    ("Karim", 1970, "IN", None, "A1"),
    ("Mst. Rina Begum", 1990, None, None, None),
    ("Ram Bahadur Thapa", 1985, "NP", None, None),
    ("", None, None, None, None),
    ("M. K.", 1990, "BD", None, None),
]


def test_every_score_is_between_0_and_1_and_symmetric() -> None:
    people = [
        person(n, migrant_id=str(i), born=y, nationality=c, phone=p, document=d)
        for i, (n, y, c, p, d) in enumerate(SAMPLES)
    ]
    for a, b in itertools.product(people, repeat=2):
        forward, backward = score(a, b), score(b, a)
        assert 0.0 <= forward.score <= 1.0
        assert forward.score == pytest.approx(backward.score)
        assert forward.migrant_id == b.migrant_id


def test_a_person_with_everything_matching_scores_near_1_but_not_over() -> None:
    a = person("Md. Karim", born=1990, nationality="BD", phone="+9607770001", document="A1")
    match = score(a, a)
    assert 0.99 < match.score <= 1.0
    assert match.matched == ("name", "birth_year", "nationality", "phone", "document")


def test_the_blocking_floor_is_the_best_a_name_can_do_with_years_far_apart() -> None:
    # the index only looks within a year either side: this is why that loses nothing
    best = score(
        person("Jahangir Matubbar", born=1980, nationality="BD", other_names=("J. Matubbar",)),
        person("Jahangir Matubbar", born=1990, nationality="BD", other_names=("J. Matubbar",)),
    )
    assert best.score <= BLOCKING_FLOOR < 0.5
    assert WEIGHTS.birth_year_far < 1


# --- lookups (blocking) --------------------------------------------------------------------


def test_re_registrations_are_reachable_by_lookup() -> None:
    pairs = [
        ("Mohammed Karim Sarkar", "Karim Sarkar Md."),
        ("Mohammed Karim", "Md. Karim"),
        ("Mst. Nazma Khatun", "Nazma Khatoon"),
        ("Kannan Murugan", "K. Murugan"),
        ("Murugan", "Murugan Selvam"),
        ("Md. Hossain", "Mohammed Hussain"),
    ]
    for a, b in pairs:
        assert findable(person(a), person(b)), (a, b)
        assert findable(person(b), person(a)), (b, a)


def test_namesakes_sharing_only_common_words_are_not_looked_up() -> None:
    # two different Mohammed Hossains with different given names: no shared lookup key, so
    # a registry full of Hossains costs nothing per check
    assert not findable(person("Md. Karim Hossain"), person("Md. Rahim Hossain"))
    assert not findable(person("Md. Karim Sarkar"), person("Md. Jamal Sarkar"))


# --- privacy -------------------------------------------------------------------------------


def test_no_plaintext_reaches_the_keys_or_the_stored_document() -> None:
    # given a person whose details are unusual canary strings
    keys = person(
        "Zzyzxcanary Quuxworth",
        migrant_id="m-1",
        other_names=("Q. Zzyzxcanary",),
        born=1990,
        nationality="BD",
        phone="+9607654321",
        document="CANARY-998877",
    )
    stored = json.dumps(index_document(keys))
    everything = json.dumps(asdict(keys), default=sorted) + stored
    # then none of it is readable in what is computed or stored, canonicalised or not
    for canary in ("zzyzxcanary", "quuxworth", "7654321", "998877", "canary", "initial:q"):
        assert canary not in everything.casefold()
    # and every stored string is a hex digest but the nationality
    for field in ("name_tokens", "name_initials", "initials_only", "block", "near"):
        for value in index_document(keys)[field]:
            assert len(value) == 64
            int(value, 16)


def test_different_index_keys_give_unrelated_hashes() -> None:
    one = person("Mohammed Karim", phone="+9607770001", document="A1")
    other_key = BlindIndexer(blind_index_key(b"another deployment's master key!"))
    two = person("Mohammed Karim", phone="+9607770001", document="A1", indexer=other_key)
    assert one.name_tokens.isdisjoint(two.name_tokens)
    assert one.blocks.stored.isdisjoint(two.blocks.stored)
    assert one.phone != two.phone
    assert one.document != two.document
    assert score(one, two).score == 0.0


def test_the_index_key_is_derived_not_the_master_key() -> None:
    master = b"m" * 32
    key = blind_index_key(master)
    assert len(key) == 32
    assert key != master
    assert blind_index_key(master) == key  # deterministic: the index survives restarts
    assert blind_index_key(b"n" * 32) != key


def test_a_short_index_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        BlindIndexer(b"short")
