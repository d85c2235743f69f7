"""BenCard numbers: random, unambiguous, and never mistaken for another card when mistyped."""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter

import pytest

from shared.bencard import (
    ALPHABET,
    InvalidCardNumber,
    format_card_number,
    new_card_number,
    normalise_card_number,
)

SEED = 7064


def check_sum(number: str) -> int:
    """The documented check, computed independently: sum of value * 3^(10 - i), modulo 31."""
    return sum(ALPHABET.index(c) * int(3 ** (10 - i)) for i, c in enumerate(number)) % 31


def refused(text: str) -> str:
    with pytest.raises(InvalidCardNumber) as refusal:
        normalise_card_number(text)
    return str(refusal.value)


def test_the_alphabet_has_thirty_characters_none_of_them_confusable() -> None:
    assert len(ALPHABET) == len(set(ALPHABET)) == 30
    assert not set(ALPHABET) & set("0O1IL U")


def test_a_new_number_is_ten_random_characters_and_a_matching_check_character() -> None:
    # when numbers are drawn
    for _ in range(1_000):
        number = new_card_number()
        # then each is eleven characters of the alphabet, valid as documented
        assert len(number) == 11
        assert set(number) <= set(ALPHABET)
        assert check_sum(number) == 1
        assert normalise_card_number(number) == number


def test_numbers_are_printed_in_groups_of_four_four_and_three() -> None:
    number = new_card_number()
    printed = format_card_number(number)
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{3}", printed)
    assert printed.replace("-", "") == number


def test_numbers_do_not_repeat_and_do_not_follow_one_another() -> None:
    # given ten thousand numbers drawn one after the other
    numbers = [new_card_number() for _ in range(10_000)]
    # then no two are equal
    assert len(set(numbers)) == len(numbers)
    # and consecutive ones share no long prefix, as a counter would
    assert not [a for a, b in itertools.pairwise(numbers) if a[:6] == b[:6]]
    # and every character turns up about equally often at every random position
    for position in range(10):
        counts = Counter(number[position] for number in numbers)
        assert set(counts) == set(ALPHABET)
        assert min(counts.values()) > 200  # 333 expected


def test_every_single_substitution_is_detected() -> None:
    # given many valid numbers
    numbers = [new_card_number() for _ in range(300)]
    tried = 0
    for number in numbers:
        for position in range(11):
            for other in ALPHABET:
                if other == number[position]:
                    continue
                # when one character is replaced by any other
                typo = number[:position] + other + number[position + 1 :]
                # then the number is refused, never read as another card
                assert "mistyped or two were swapped" in refused(typo), (number, typo)
                tried += 1
    assert tried == 300 * 11 * 29


def test_every_swap_of_two_adjacent_characters_is_detected() -> None:
    numbers = [new_card_number() for _ in range(300)]
    tried = 0
    for number in numbers:
        for position in range(10):
            a, b = number[position], number[position + 1]
            if a == b:
                continue
            swapped = number[:position] + b + a + number[position + 2 :]
            assert "mistyped or two were swapped" in refused(swapped), (number, swapped)
            tried += 1
    assert tried > 2_500


def test_every_adjacent_swap_of_every_character_pair_is_detected_wherever_it_happens() -> None:
    # given every pair of different characters at every pair of adjacent positions
    rnd = random.Random(SEED)
    for position in range(10):
        for a in ALPHABET:
            for b in ALPHABET:
                if a == b:
                    continue
                # when a valid number holds "ab" there, and a registrar types "ba"
                number = valid_number_with(rnd, position, a + b)
                swapped = number[:position] + b + a + number[position + 2 :]
                # then the typo is refused
                assert check_sum(swapped) != 1, (number, swapped)


def valid_number_with(rnd: random.Random, position: int, pair: str) -> str:
    """A valid number holding ``pair`` at ``position``; the other characters are random."""
    while True:
        chars = [rnd.choice(ALPHABET) for _ in range(11)]
        chars[position : position + 2] = pair
        free = next(i for i in range(11) if i not in (position, position + 1))
        for candidate in ALPHABET:
            chars[free] = candidate
            if check_sum("".join(chars)) == 1:
                return "".join(chars)


def test_swaps_of_characters_further_apart_are_detected_too() -> None:
    for number in (new_card_number() for _ in range(200)):
        for i in range(11):
            for j in range(i + 2, 11):
                if number[i] != number[j]:
                    swapped = list(number)
                    swapped[i], swapped[j] = swapped[j], swapped[i]
                    assert check_sum("".join(swapped)) != 1, (number, i, j)


def test_a_number_is_accepted_however_it_was_typed() -> None:
    number = new_card_number()
    printed = format_card_number(number)
    for typed in (printed, printed.lower(), f"  {number[:4]} {number[4:8]} {number[8:]} ", number):
        assert normalise_card_number(typed) == number


def test_a_number_of_the_wrong_length_says_how_many_characters_there_should_be() -> None:
    number = new_card_number()
    assert "11 characters, not 10" in refused(number[:10])
    assert "11 characters, not 12" in refused(number + number[0])
    assert "11 characters, not 0" in refused(" - ")


@pytest.mark.parametrize("character", ["0", "O", "1", "I", "L", "U", "o", "#"])
def test_a_character_never_used_on_cards_is_named_with_the_rule(character: str) -> None:
    number = new_card_number()
    message = refused(character + number[1:])
    assert repr(character.upper()) in message
    assert "O/0" in message
    assert "I/1/L" in message
    assert "U" in message


def test_a_wrong_check_character_says_a_character_was_mistyped_or_two_swapped() -> None:
    number = new_card_number()
    wrong = ALPHABET[(ALPHABET.index(number[-1]) + 1) % 30]
    message = refused(number[:-1] + wrong)
    assert message == (
        "the check character does not match: a character was mistyped or two were swapped"
    )


def test_formatting_refuses_an_invalid_number_rather_than_printing_it() -> None:
    with pytest.raises(InvalidCardNumber):
        format_card_number("ABCDEFGHJKM")
