"""The "never collected" policy: BenSys refuses to hold anyone's legal or immigration status.

A record of who is irregular, overstayed or without a work permit is a list that could be
seized and used against the very people the programme serves, so such fields are refused at
every door (HTTP bodies, imports, events) rather than filtered quietly: the sender learns why
and can fix their form or spreadsheet.

Only field NAMES are judged. Values are free speech: a person may mention their visa in a
note, and that is theirs to say; a form with a "visa status" box is the programme asking.
Names are compared by tokens, so ``visaStatus``, ``visa_status`` and "Visa Status" are one
name, while ``advisable`` does not contain ``visa``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from shared.errors import Invalid

# Case changes and letter/digit changes inside a name mark where one word ends.
_WORD_BOUNDARY = re.compile(
    r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])"
)


class NeverCollected(Invalid):
    """A request, import or event carries a field BenSys never collects."""

    code = "never_collected"


def name_tokens(name: str) -> tuple[str, ...]:
    """``"Work Permit No."`` -> ``("work", "permit", "no")``; any script's letters are kept."""
    spaced = _WORD_BOUNDARY.sub(" ", name)
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in spaced)
    return tuple(kept.casefold().split())


class NeverCollectedPolicy:
    """Judges field names against the configured terms (``ServiceSettings.never_collected``)."""

    def __init__(self, forbidden: Iterable[str]) -> None:
        self._terms: list[tuple[str, ...]] = []
        for term in forbidden:
            tokens = name_tokens(term)
            if not tokens:  # an empty term would match every name and refuse everything
                raise ValueError(f"never-collected term {term!r} has no letters or digits")
            self._terms.append(tokens)

    def is_forbidden(self, name: str) -> bool:
        tokens = name_tokens(name)
        return any(_contains_run(tokens, term) for term in self._terms)

    def violations(self, payload: object) -> list[str]:
        """Paths of offending keys in document order, e.g. ``documents[0].work_permit_no``.

        An offending key's value is not searched further: the whole field must go anyway.
        Iterative, so a deeply nested body cannot exhaust the stack.
        """
        found: list[str] = []
        pending: list[tuple[str, object]] = [("", payload)]
        while pending:
            path, node = pending.pop()
            children: list[tuple[str, object]] = []
            if isinstance(node, Mapping):
                for key, value in node.items():
                    child = f"{path}.{key}" if path else str(key)
                    if self.is_forbidden(str(key)):
                        found.append(child)
                    else:
                        children.append((child, value))
            elif isinstance(node, list | tuple):
                children = [(f"{path}[{index}]", item) for index, item in enumerate(node)]
            pending.extend(reversed(children))
        return found

    def forbidden_names(self, names: Iterable[str]) -> list[str]:
        """The offending names among import column headers or form field names, as given."""
        return [name for name in names if self.is_forbidden(name)]

    def refusal_message(self, offending: Sequence[str]) -> str:
        these = "this field" if len(offending) == 1 else "these fields"
        return (
            "BenSys never collects legal or immigration status (visa, work permit, residence "
            f"status). Remove {these} and send again: {', '.join(offending)}"
        )

    def check(self, payload: object) -> None:
        """Raise NeverCollected naming every offending field, for imports and consumers."""
        offending = self.violations(payload)
        if offending:
            raise NeverCollected(self.refusal_message(offending), details={"fields": offending})


def _contains_run(tokens: tuple[str, ...], run: tuple[str, ...]) -> bool:
    width = len(run)
    return any(tokens[start : start + width] == run for start in range(len(tokens) - width + 1))
