"""The "never collected" rule: legal or immigration status is refused however it is spelled."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.policy import NeverCollected, NeverCollectedPolicy
from shared.settings import DEFAULT_NEVER_COLLECTED, ServiceSettings

ORDINARY_FIELDS = (
    "full_name",
    "sex",
    "date_of_birth",
    "nationality",
    "phone",
    "site",
    "island",
    "address",
    "employer",
    "document_type",
    "document_number",
    "consent",
    "notes",
    "vulnerabilities",
    "preferred_languages",
)


def camel_case(snake: str) -> str:
    first, *rest = snake.split("_")
    return first + "".join(word.capitalize() for word in rest)


def title_case(snake: str) -> str:
    return " ".join(word.capitalize() for word in snake.split("_"))


SPELLINGS: dict[str, Callable[[str], str]] = {
    "snake_case": str,
    "camelCase": camel_case,
    "Title Case": title_case,
}


@pytest.fixture
def policy() -> NeverCollectedPolicy:
    return NeverCollectedPolicy(DEFAULT_NEVER_COLLECTED)


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("term", DEFAULT_NEVER_COLLECTED)
def test_every_default_term_is_refused_however_spelled(
    policy: NeverCollectedPolicy, term: str, spelling: str
) -> None:
    # given a registration form that asks for a forbidden field among ordinary ones
    field = SPELLINGS[spelling](term)
    payload = {"full_name": "Aminath Shareef", field: "anything", "phone": "+960 777-1234"}
    # then exactly that field is named
    assert policy.violations(payload) == [field]


@pytest.mark.parametrize("term", DEFAULT_NEVER_COLLECTED)
def test_a_forbidden_term_is_found_deep_inside_lists_and_objects(
    policy: NeverCollectedPolicy, term: str
) -> None:
    field = camel_case(term)
    payload = {
        "household": {
            "members": [{"full_name": "Hawwa"}, {"full_name": "Ali", "documents": [{field: 1}]}]
        }
    }
    assert policy.violations(payload) == [f"household.members[1].documents[0].{field}"]


def test_paths_name_every_offending_key_in_document_order(policy: NeverCollectedPolicy) -> None:
    payload = {
        "visaStatus": "expired",
        "full_name": "মোহাম্মদ রহিম",
        "documents": [
            {"document_type": "passport", "work_permit_no": "WP-1"},
            {"document_type": "national_id", "Residence Permit": "RP-2"},
        ],
    }
    assert policy.violations(payload) == [
        "visaStatus",
        "documents[0].work_permit_no",
        "documents[1].Residence Permit",
    ]


def test_a_top_level_list_of_records_is_walked(policy: NeverCollectedPolicy) -> None:
    assert policy.violations([{"full_name": "A"}, {"irregular": True}]) == ["[1].irregular"]


def test_an_offending_field_is_named_once_not_with_everything_inside_it(
    policy: NeverCollectedPolicy,
) -> None:
    payload = {"immigration": {"visa_type": "work", "visa_expiry": "2025-01-01"}}
    assert policy.violations({"legal_status": payload}) == ["legal_status"]


def test_values_are_a_persons_own_words_and_are_not_judged(policy: NeverCollectedPolicy) -> None:
    # a person may tell a caseworker anything; only the programme asking is forbidden
    payload = {
        "notes": "Says his visa expired and he is irregular; fears deportation.",
        "vulnerabilities": ["overstay", "work permit withheld by employer"],
    }
    assert policy.violations(payload) == []


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_ordinary_fields_pass(policy: NeverCollectedPolicy, spelling: str) -> None:
    fields = [SPELLINGS[spelling](name) for name in ORDINARY_FIELDS]
    payload = dict.fromkeys(fields, "value")
    assert policy.violations(payload) == []
    assert policy.forbidden_names(fields) == []


@pytest.mark.parametrize("name", ["advisable", "Advisor", "revisado", "residence", "permitted"])
def test_a_term_hidden_inside_another_word_is_not_a_match(
    policy: NeverCollectedPolicy, name: str
) -> None:
    assert policy.forbidden_names([name]) == []


def test_import_column_headers_are_judged_as_written(policy: NeverCollectedPolicy) -> None:
    # given the header row of a spreadsheet exported from a partner's intake form
    headers = [
        "Full Name",
        "Date of Birth",
        "Work Permit No.",
        "Phone",
        "IMMIGRATION-STATUS",
        "visa2Expiry",
        "Residency",
        "Island",
        "Overstayed?",
    ]
    # then the offenders are named exactly as the sender wrote them
    assert policy.forbidden_names(headers) == [
        "Work Permit No.",
        "IMMIGRATION-STATUS",
        "visa2Expiry",
        "Residency",
        "Overstayed?",
    ]


def test_the_refusal_says_why_and_what_to_remove(policy: NeverCollectedPolicy) -> None:
    message = policy.refusal_message(["visaStatus", "documents[0].work_permit_no"])
    assert message == (
        "BenSys never collects legal or immigration status (visa, work permit, residence "
        "status). Remove these fields and send again: visaStatus, documents[0].work_permit_no"
    )


def test_check_raises_a_422_naming_the_fields(policy: NeverCollectedPolicy) -> None:
    with pytest.raises(NeverCollected) as refused:
        policy.check({"full_name": "Ali", "visa_status": "expired"})
    assert refused.value.status_code == 422
    assert refused.value.code == "never_collected"
    assert refused.value.details == {"fields": ["visa_status"]}
    assert "Remove this field and send again: visa_status" in refused.value.message


def test_a_list_set_in_settings_replaces_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a deployment that configures its own list
    monkeypatch.setenv("BENSYS_NEVER_COLLECTED", '["religion", "ethnic group"]')
    settings = ServiceSettings(service_name="registry")
    # when the policy is built from the settings
    policy = NeverCollectedPolicy(settings.never_collected)
    # then its terms are refused and the default ones no longer are
    payload = {"religion": "x", "ethnicGroup": "y", "visa_status": "z"}
    assert policy.violations(payload) == ["religion", "ethnicGroup"]


@pytest.mark.parametrize("term", ["", "  ", "__", "?"])
def test_a_term_without_letters_is_refused_as_it_would_forbid_everything(term: str) -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        NeverCollectedPolicy([*DEFAULT_NEVER_COLLECTED, term])
