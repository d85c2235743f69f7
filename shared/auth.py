"""Who is calling, from which site, in which role: JWT bearer tokens checked at every route.

Every service verifies tokens itself (no gateway to trust) so that a service reached directly
on its port is no weaker than one reached through a proxy. A token names one role and, for
field staff, the site they work at; routes state the roles they admit in their signature so
that the rule is visible where the route is written::

    RegistrarOrAdmin = Annotated[Principal, Depends(require_roles(Role.registrar, Role.admin))]

    @router.post("/people")
    async def register(command: Register, principal: RegistrarOrAdmin) -> Registered: ...

The application owns one :class:`TokenVerifier` in ``app.state.token_verifier``, built from
``ServiceSettings.jwt_secret`` / ``jwt_algorithm`` / ``jwt_jwks_url`` at start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from shared.errors import Forbidden, Unauthenticated, Unavailable

ISSUER = "bensys"
DEFAULT_TTL_SECONDS = 8 * 3600  # one working shift: staff sign in once a day
# Field laptops and the identity provider disagree on the time by a few seconds.
CLOCK_SKEW = timedelta(seconds=30)


class Role(StrEnum):
    registrar = "registrar"
    distributor = "distributor"
    helpline = "helpline"
    health_provider = "health_provider"
    manager = "manager"
    auditor = "auditor"
    partner = "partner"
    admin = "admin"


def _valid_roles() -> str:
    return ", ".join(role.value for role in Role)


def parse_role(value: str) -> Role:
    """A role from its name, refusing unknown names with the list of names that would work."""
    try:
        return Role(value)
    except ValueError:
        raise ValueError(f"unknown role {value!r}; valid roles: {_valid_roles()}") from None


@dataclass(frozen=True)
class Principal:
    """The verified caller: what audit records name and what authorisation decides on."""

    subject: str
    role: Role
    site: str | None


def mint_token(
    *,
    secret: str,
    role: Role | str,
    site: str | None = None,
    subject: str | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    algorithm: str = "HS256",
    now: datetime | None = None,
    key_id: str | None = None,
) -> str:
    """A signed token, for development, tests and the ``bensys`` CLI.

    Production tokens come from the identity provider (RS256 through a JWKS); this exists so
    that a fresh checkout can act in every role without one. ``secret`` is the shared HMAC
    secret, or a PEM private key for RS256. ``subject`` defaults to the role name, which is
    enough to tell development actors apart in audit records. ``now`` lets tests mint tokens
    that have already expired without waiting. ``key_id`` becomes the ``kid`` header, which a
    JWKS verifier needs to pick the key.
    """
    parsed = role if isinstance(role, Role) else parse_role(role)
    if ttl_seconds <= 0:
        raise ValueError(f"ttl_seconds must be positive, not {ttl_seconds}")
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": subject if subject is not None else parsed.value,
        "role": parsed.value,
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_seconds),
        "iss": ISSUER,
    }
    if site is not None:
        claims["site"] = site
    headers = {"kid": key_id} if key_id is not None else None
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)


class TokenVerifier:
    """Checks a bearer token and turns it into a :class:`Principal`, or says what is wrong.

    With ``jwks_url`` the keys come from the identity provider (fetched and cached by
    :class:`jwt.PyJWKClient`) and only asymmetric algorithms are accepted: an HMAC algorithm
    there would let anyone holding the *public* key forge tokens, so ``HS256`` (the settings
    default) is replaced by ``RS256``.
    """

    def __init__(
        self, *, secret: str, algorithm: str = "HS256", jwks_url: str | None = None
    ) -> None:
        self._secret = secret
        self._jwks: jwt.PyJWKClient | None = None
        if jwks_url is not None:
            self._jwks = jwt.PyJWKClient(jwks_url)
            algorithm = "RS256" if algorithm.upper().startswith("HS") else algorithm
        self._algorithms = [algorithm]

    @property
    def may_block(self) -> bool:
        """True when verifying may fetch keys over the network (so belongs off the event loop)."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        try:
            claims = self._decode(token)
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token has expired: sign in again for a new one") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated(
                "token signature is not valid: it was signed with another key or altered"
            ) from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("token is not valid yet: check the clock of the issuer") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated(f"token was not issued by {ISSUER!r}") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthenticated(f"token lacks the {exc.claim!r} claim") from None
        except jwt.InvalidAlgorithmError:
            raise Unauthenticated(
                f"token algorithm is not accepted; expected {', '.join(self._algorithms)}"
            ) from None
        except jwt.PyJWKClientConnectionError:
            raise Unavailable("cannot reach the identity provider to check the token") from None
        except jwt.DecodeError:
            raise Unauthenticated("token is malformed: it is not a signed JWT") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"token rejected: {exc}") from None
        return _principal(claims)

    def _decode(self, token: str) -> dict[str, Any]:
        key: Any = self._secret
        if self._jwks is not None:
            key = self._jwks.get_signing_key_from_jwt(token).key
        decoded: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=self._algorithms,
            issuer=ISSUER,
            leeway=CLOCK_SKEW,
            options={"require": ["sub", "role", "iat", "exp", "iss"]},
        )
        return decoded


def _principal(claims: dict[str, Any]) -> Principal:
    role, site = claims["role"], claims.get("site")
    try:
        parsed = Role(role)
    except ValueError:
        raise Unauthenticated(
            f"token role {role!r} is unknown; valid roles: {_valid_roles()}"
        ) from None
    if site is not None and not isinstance(site, str):
        raise Unauthenticated("token site claim must be a string")
    return Principal(subject=str(claims["sub"]), role=parsed, site=site)


# Declared as a dependency only so that OpenAPI shows the bearer scheme ("Authorize" button);
# the header is parsed below so that each failure gets its own message.
_bearer_scheme = HTTPBearer(
    auto_error=False, description="JWT with `role` (and `site`) claims, issuer `bensys`."
)


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("missing Authorization header: send 'Authorization: Bearer <token>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated(f"Authorization header must use the Bearer scheme, not {scheme!r}")
    if not token.strip():
        raise Unauthenticated("Authorization header has the Bearer scheme but no token")
    return token.strip()


def _verifier(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        # A wiring mistake, not the caller's: let it surface as a 500 and in the logs.
        raise TypeError("app.state.token_verifier must be a shared.auth.TokenVerifier")
    return verifier


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency admitting callers whose token carries one of ``roles``.

    Use it through an ``Annotated`` alias so routes read as a statement of who may call::

        ManagerOrAuditor = Annotated[
            Principal, Depends(require_roles(Role.manager, Role.auditor))
        ]

    An empty role list is refused rather than read as "anyone": a forgotten argument must not
    open a route. For any signed-in caller use ``require_roles(*Role)``.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role; use require_roles(*Role) for any")
    allowed = tuple(dict.fromkeys(roles))
    allowed_text = ", ".join(role.value for role in allowed)

    async def principal_in_role(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
    ) -> Principal:
        token = _bearer_token(request)
        verifier = _verifier(request)
        if verifier.may_block:
            principal = await run_in_threadpool(verifier.verify, token)
        else:
            principal = verifier.verify(token)
        if principal.role not in allowed:
            raise Forbidden(
                f"role {principal.role.value!r} may not do this; allowed roles: {allowed_text}",
                details={"role": principal.role.value, "allowed_roles": list(allowed)},
            )
        return principal

    return principal_in_role
