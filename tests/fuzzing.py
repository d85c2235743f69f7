"""Schemathesis against a running service: every operation, every role, good and bad data.

Shared by the system test (on ``bensys up``) and by hand (``python -m tests.fuzzing URL...``,
to see every failure at once rather than the first). Each finding is one line: what was sent
(method, path, role, mode) and what was wrong (a 5xx, an answer that breaks its schema, an
operation that answers without a token).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok

from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

ROLES = (
    "registrar",
    "distributor",
    "helpline",
    "health_provider",
    "manager",
    "auditor",
    "partner",
    "admin",
)
PUBLIC = frozenset(
    {
        "/health",
        "/ready",
        "/metrics",
        "/.well-known/jwks.json",
        "/revocations",
        "/dashboard",
    }
)
"""Operations anyone may call: liveness, readiness, metrics, and what offline verifiers need."""
SITE = "Kdh Atoll"

Operation = schemathesis.APIOperation[Any, Any, Any, Any]
AnyCase = Case[Any]


@dataclass
class Findings:
    lines: list[str] = field(default_factory=list)
    calls: int = 0

    def add(self, case: AnyCase, role: str, mode: str, problem: str) -> None:
        sent = f"query={dict(case.query or {})!r:.120} body={case.body!r:.200}"
        self.lines.append(
            f"{case.method} {case.formatted_path} as {role} ({mode}): {problem} [{sent}]"
        )


def token(role: str) -> str:
    secret = os.environ.get("BENSYS_JWT_SECRET", DEV_JWT_SECRET)
    return mint_token(secret=secret, role=role, site=SITE)


@dataclass
class ServiceFuzzer:
    """One running service: its base URL, one HTTP session, and where findings go."""

    base_url: str
    examples: int
    findings: Findings
    session: requests.Session = field(default_factory=requests.Session)

    def run(self) -> None:
        """Every operation of the service; findings collected, never raised."""
        schema = schemathesis.openapi.from_url(f"{self.base_url}/openapi.json")
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                self.findings.lines.append(f"{self.base_url}: invalid operation: {result.err()}")
                continue
            operation = result.ok()
            self.without_token(operation)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for role in ROLES:
                    with contextlib.suppress(hypothesis.errors.Unsatisfiable):
                        self.as_role(operation, mode, role)  # Unsatisfiable: nothing to vary

    def without_token(self, operation: Operation) -> None:
        @_settings(1)
        @given(case=operation.as_strategy(GenerationMode.POSITIVE))
        def once(case: AnyCase) -> None:
            if case.headers:
                case.headers.pop("Authorization", None)
            response = case.call(base_url=self.base_url, session=self.session, timeout=60)
            self.findings.calls += 1
            if operation.path not in PUBLIC and response.status_code != 401:
                problem = f"answered {response.status_code}, not 401"
                self.findings.add(case, "nobody", "no token", problem)

        once()

    def as_role(self, operation: Operation, mode: GenerationMode, role: str) -> None:
        checks = [not_a_server_error, status_code_conformance, content_type_conformance]
        checks += (
            [response_schema_conformance]
            if mode is GenerationMode.POSITIVE
            else [negative_data_rejection]
        )

        @_settings(self.examples)
        @given(case=operation.as_strategy(mode))
        def each(case: AnyCase) -> None:
            response = case.call(
                base_url=self.base_url,
                session=self.session,
                headers={"Authorization": f"Bearer {token(role)}"},
                timeout=60,
            )
            self.findings.calls += 1
            try:
                case.validate_response(response, checks=checks)
            except FailureGroup as failures:
                for failure in failures.exceptions:
                    self.findings.add(case, role, mode.value, _one_line(failure))
            except AssertionError as failure:
                self.findings.add(case, role, mode.value, _one_line(failure))

        each()


def _one_line(failure: BaseException) -> str:
    title = getattr(failure, "title", type(failure).__name__)
    message = str(getattr(failure, "message", "") or failure).strip().splitlines()
    return f"{title}: {message[0] if message else ''}"[:300]


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a finding can be reproduced
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )


def fuzz(base_urls: Iterable[str], *, examples: int) -> Findings:
    findings = Findings()
    for url in base_urls:
        ServiceFuzzer(url, examples, findings).run()
    return findings


if __name__ == "__main__":
    found = fuzz(sys.argv[1:], examples=int(os.environ.get("FUZZ_EXAMPLES", "3")))
    print("\n".join(sorted(set(found.lines))))
    print(f"{found.calls} calls, {len(set(found.lines))} distinct findings", file=sys.stderr)
