"""Bearer tokens: who may call which route, and what a caller is told when they may not."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI

from shared.auth import Principal, Role, TokenVerifier, mint_token, require_roles
from shared.errors import Unauthenticated, Unavailable
from shared.http.errors import install_error_handlers

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"

RegistrarOrAdmin = Annotated[Principal, Depends(require_roles(Role.registrar, Role.admin))]


def app_guarded_by(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = verifier

    @app.get("/whoami")
    async def whoami(principal: RegistrarOrAdmin) -> dict[str, str | None]:
        return {"subject": principal.subject, "role": principal.role, "site": principal.site}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = app_guarded_by(TokenVerifier(secret=SECRET))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_minted_token_verifies_to_the_same_principal() -> None:
    token = mint_token(secret=SECRET, role=Role.registrar, site="Kaafu Atoll", subject="aisha")

    principal = TokenVerifier(secret=SECRET).verify(token)

    assert principal == Principal(subject="aisha", role=Role.registrar, site="Kaafu Atoll")


def test_a_role_given_by_name_is_accepted_and_site_may_be_absent() -> None:
    token = mint_token(secret=SECRET, role="auditor")

    principal = TokenVerifier(secret=SECRET).verify(token)

    assert principal.role is Role.auditor
    assert principal.site is None
    assert "site" not in jwt.decode(token, options={"verify_signature": False})


def test_minting_an_unknown_role_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown role 'janitor'") as raised:
        mint_token(secret=SECRET, role="janitor")

    assert all(role.value in str(raised.value) for role in Role)


def test_an_expired_token_is_refused_as_expired() -> None:
    nine_hours_ago = datetime.now(UTC) - timedelta(hours=9)
    token = mint_token(secret=SECRET, role=Role.manager, ttl_seconds=3600, now=nine_hours_ago)

    with pytest.raises(Unauthenticated, match="expired"):
        TokenVerifier(secret=SECRET).verify(token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = mint_token(secret="some-other-secret-also-long-enough-for-hs", role=Role.admin)

    with pytest.raises(Unauthenticated, match="signature is not valid"):
        TokenVerifier(secret=SECRET).verify(token)


def test_a_token_whose_payload_was_altered_is_refused() -> None:
    header, payload, signature = mint_token(secret=SECRET, role=Role.partner).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    with pytest.raises(Unauthenticated, match="signature is not valid"):
        TokenVerifier(secret=SECRET).verify(f"{header}.{forged}.{signature}")


def signed(**overrides: Any) -> str:
    """A correctly signed token with the usual claims, some replaced (None removes one)."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": "x",
        "role": "admin",
        "iss": "bensys",
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET)


def test_a_well_signed_token_with_an_unknown_role_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="role 'janitor' is unknown"):
        TokenVerifier(secret=SECRET).verify(signed(role="janitor"))


def test_a_token_without_a_role_is_refused_naming_the_claim() -> None:
    with pytest.raises(Unauthenticated, match="lacks the 'role' claim"):
        TokenVerifier(secret=SECRET).verify(signed(role=None))


def test_a_token_from_another_issuer_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="not issued by 'bensys'"):
        TokenVerifier(secret=SECRET).verify(signed(iss="elsewhere"))


def test_garbage_is_refused_as_malformed() -> None:
    with pytest.raises(Unauthenticated, match="malformed"):
        TokenVerifier(secret=SECRET).verify("not-a-jwt")


def test_require_roles_refuses_an_empty_role_list() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        require_roles()


async def test_a_caller_in_an_allowed_role_gets_through_with_their_site(
    client: httpx.AsyncClient,
) -> None:
    token = mint_token(secret=SECRET, role=Role.registrar, site="Seenu Atoll", subject="u1")

    response = await client.get("/whoami", headers=bearer(token))

    assert response.status_code == 200
    assert response.json() == {"subject": "u1", "role": "registrar", "site": "Seenu Atoll"}


async def test_no_authorization_header_is_a_401_inviting_a_bearer_token(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/whoami")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert "missing Authorization header" in error["message"]


async def test_another_authorization_scheme_is_a_401_naming_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/whoami", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Bearer scheme, not 'Basic'" in response.json()["error"]["message"]


async def test_an_expired_token_over_http_is_a_401_saying_so(client: httpx.AsyncClient) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=2)
    token = mint_token(secret=SECRET, role=Role.admin, now=long_ago)

    response = await client.get("/whoami", headers=bearer(token))

    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_a_role_not_allowed_is_a_403_naming_the_allowed_roles(
    client: httpx.AsyncClient,
) -> None:
    token = mint_token(secret=SECRET, role=Role.helpline)

    response = await client.get("/whoami", headers=bearer(token))

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert error["message"] == "role 'helpline' may not do this; allowed roles: registrar, admin"
    assert error["details"] == {"role": "helpline", "allowed_roles": ["registrar", "admin"]}


async def test_the_bearer_scheme_appears_in_the_openapi_document(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()

    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


# --- RS256 through a JWKS endpoint, as an identity provider would serve it ---------------

KEY_ID = "idp-key-1"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def rsa_private_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """A JWKS endpoint on 127.0.0.1 serving the public half of the test key."""
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default per-request stderr line."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_an_rs256_token_verifies_against_the_jwks(
    rsa_private_pem: str, jwks_url: str
) -> None:
    verifier = TokenVerifier(secret="", algorithm="RS256", jwks_url=jwks_url)
    token = mint_token(
        secret=rsa_private_pem,
        role=Role.health_provider,
        site="Kdh Atoll",
        algorithm="RS256",
        key_id=KEY_ID,
    )
    app = app_guarded_by(verifier)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        response = await http.get("/whoami", headers=bearer(token))

    # health_provider is not a registrar: the token was accepted, the role was not.
    assert response.status_code == 403
    assert verifier.verify(token) == Principal(
        subject="health_provider", role=Role.health_provider, site="Kdh Atoll"
    )


def test_an_hs256_token_is_refused_by_a_jwks_verifier_even_with_the_default_algorithm(
    jwks_url: str,
) -> None:
    verifier = TokenVerifier(secret=SECRET, jwks_url=jwks_url)  # algorithm left at HS256
    token = mint_token(secret=SECRET, role=Role.admin, key_id=KEY_ID)

    with pytest.raises(Unauthenticated, match="algorithm"):
        verifier.verify(token)


def test_an_unreachable_jwks_endpoint_is_unavailable_not_unauthenticated(
    rsa_private_pem: str,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on once this socket is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    verifier = TokenVerifier(secret="", algorithm="RS256", jwks_url=f"http://127.0.0.1:{port}/")
    token = mint_token(secret=rsa_private_pem, role=Role.admin, algorithm="RS256", key_id=KEY_ID)

    with pytest.raises(Unavailable, match="identity provider"):
        verifier.verify(token)
