"""Schemathesis fuzzes every operation of every service on the running system.

Every operation, with every role's token, with data that fits its schema and data that does
not, and once with no token at all: no answer is a 5xx, every answer fits the OpenAPI document
the service serves (status, content type, body), bad data is refused with a 4xx, and only the
public operations answer without a token. A finding names the call that shows it.
"""

from __future__ import annotations

import httpx
import pytest

from tests.fuzzing import PUBLIC, fuzz
from tests.system.harness import RunningBenSys

pytestmark = pytest.mark.system

EXAMPLES = 3
"""Cases per operation, role and mode: about 3,300 calls, a minute and a half here."""


def test_every_operation_of_every_service_survives_fuzzing(bensys_up: RunningBenSys) -> None:
    bensys_up.start()
    services = [
        bensys_up.registry,
        bensys_up.cards,
        bensys_up.distribution,
        bensys_up.helpline,
        bensys_up.reporting,
    ]
    for url in services:  # each serves its OpenAPI document, documenting the shared errors
        document = httpx.get(f"{url}/openapi.json", timeout=30).json()
        secured = [
            operation
            for path, item in document["paths"].items()
            for operation in item.values()
            if path not in PUBLIC and operation.get("security")
        ]
        assert secured, url
        assert all({"401", "403", "4XX", "503"} <= set(o["responses"]) for o in secured), url

    findings = fuzz(services, examples=EXAMPLES)

    assert findings.calls > 3000
    assert not findings.lines, "\n".join(sorted(set(findings.lines))[:50])
