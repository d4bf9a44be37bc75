"""Tollgate access tokens in a FastAPI service: verify them, and guard routes with them.

`current_user` is the dependency that turns the request's bearer token into a `User` (401
otherwise), and `require_scope("...")` makes one that also demands a scope (403 otherwise),
in the shape FastAPI tutorials give `get_current_user` and `require_role`.

Tokens are checked as Tollgate checks them (crates/core/src/token/verify.rs), in one of two
modes, chosen by the environment:

- `JWKS_URL`: Tollgate signs with EdDSA (`JWT_PRIVATE_KEY`) and this service fetches its public
  keys from `/.well-known/jwks.json`. It holds no secret: it can check tokens, never make one.
- `JWT_SECRET`: Tollgate signs with HS256 and this service shares its secret, used exactly as
  given (its UTF-8 bytes, never trimmed). Whoever holds it can mint any token, admin ones too.

Set exactly one. `JWT_ISSUER` and `JWT_AUDIENCE` default to Tollgate's `tollgate`.

A verified token is trusted until it expires: this service never asks Tollgate whether the
user still exists or was signed out, so a deleted, demoted or signed-out user's token keeps
working here for the rest of its lifetime (`ACCESS_TOKEN_TTL_SECONDS`, 15 minutes by default).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit

import jwt
from fastapi import Depends, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger("tollgate.auth")

# Tollgate's own numbers (crates/core/src/token/), so both sides give the same verdict.
LEEWAY_S = 30  # DEFAULT_LEEWAY_S: clock skew tolerated on exp, nbf and iat
MAX_TOKEN_CHARS = 8 * 1024  # larger tokens are refused before anything is decoded
MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z, the largest date a claim may hold
# The guard's JWKS handling (tollgate_worker's guard, README "Using Tollgate from another
# Worker"): keys are used for at most the document's max-age, an unknown kid refetches at most
# once per cooldown so invented kids cannot make this service hammer Tollgate, and a fetch
# gives up after the guard's default STORAGE_TIMEOUT_MS.
JWKS_LIFESPAN_S = 300
JWKS_REFETCH_COOLDOWN_S = 10
JWKS_TIMEOUT_S = 5
# Header members that name a key or demand an extension (RFC 7515 §4.1.2-4.1.6, §4.1.11):
# honouring any of them lets a token choose what verifies it, so Tollgate refuses them all.
FORBIDDEN_HEADER_MEMBERS = ("crit", "jwk", "jku", "x5u", "x5c")
REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "nbf", "jti", "sid", "role", "scope"]


class KeysUnavailable(Exception):
    """When Tollgate's public keys cannot be fetched: a 503, not the caller's fault."""


class AccessClaims(BaseModel):
    """The claims of a Tollgate access token, with the types Tollgate requires (strict: a date
    is an integer, never a float, string or boolean)."""

    model_config = ConfigDict(strict=True, extra="allow")

    iss: str
    # A string, or an array of exactly one (the issuer sends a string).
    aud: str | Annotated[list[str], Field(min_length=1, max_length=1)]
    sub: str
    exp: Annotated[int, Field(ge=0, le=MAX_NUMERIC_DATE)]
    iat: Annotated[int, Field(ge=0, le=MAX_NUMERIC_DATE)]
    nbf: Annotated[int, Field(ge=0, le=MAX_NUMERIC_DATE)]
    jti: str
    sid: str
    role: str
    scope: str


class User(BaseModel):
    """Who a verified token speaks for, as of when it was issued."""

    id: str
    role: str
    scopes: list[str]
    session_id: str
    expires_at: int


def is_access_token_type(typ: str) -> bool:
    """Whether `typ` names a JWT access token: `at+jwt` or `application/at+jwt` (RFC 9068 §4),
    ignoring ASCII case as media types do. Anything else, `JWT` included, is refused, so that
    another JWT signed with the same key cannot pass as an access token (RFC 9068 §5)."""
    return typ.isascii() and typ.lower() in ("at+jwt", "application/at+jwt")


def _strict_json_segment(segment: str) -> dict[str, Any]:
    """A base64url segment decoded to a JSON object, refusing repeated keys: two parsers that
    keep different copies of a repeated claim would disagree about what the token says."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise jwt.DecodeError("a JSON member is repeated")
        return dict(pairs)

    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw, object_pairs_hook=no_duplicates)
    except (binascii.Error, ValueError) as e:
        raise jwt.DecodeError(f"a segment is not base64url JSON: {e}") from None
    if not isinstance(value, dict):
        raise jwt.DecodeError("a segment is not a JSON object")
    return value


class TokenVerifier:
    """Checks Tollgate access tokens with the JWKS at `jwks_url` (EdDSA) or with `secret`
    (HS256): exactly one of the two."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        secret: str | None = None,
    ) -> None:
        if (jwks_url is None) == (secret is None):
            raise ValueError("set exactly one of JWKS_URL (EdDSA) and JWT_SECRET (HS256)")
        if secret == "":
            raise ValueError("JWT_SECRET is empty")
        self.issuer = issuer
        self.audience = audience
        self._secret = secret
        self._jwks: jwt.PyJWKClient | None = None
        if jwks_url is not None:
            url = urlsplit(jwks_url)
            # Keys fetched over plain HTTP could be swapped on the way: only for a local Tollgate.
            local = url.scheme == "http" and url.hostname in ("localhost", "127.0.0.1")
            if url.scheme != "https" and not local:
                raise ValueError("JWKS_URL must be https (http only to localhost or 127.0.0.1)")
            self._jwks = jwt.PyJWKClient(
                jwks_url,
                lifespan=JWKS_LIFESPAN_S,
                cooldown_duration=JWKS_REFETCH_COOLDOWN_S,
                timeout=JWKS_TIMEOUT_S,
            )
        self._algorithms = ["EdDSA"] if self._jwks is not None else ["HS256"]

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> TokenVerifier:
        """A verifier configured by `JWKS_URL` or `JWT_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`.

        Raises ValueError when the configuration is incomplete or contradictory."""
        return cls(
            issuer=env.get("JWT_ISSUER", "tollgate").strip(),
            audience=env.get("JWT_AUDIENCE", "tollgate").strip(),
            jwks_url=env.get("JWKS_URL", "").strip() or None,
            secret=env.get("JWT_SECRET"),  # exactly as given, like Tollgate's
        )

    def verify(self, token: str) -> AccessClaims:
        """The claims of `token` once every check passes.

        Raises jwt.InvalidTokenError saying why the token is refused (for logs, not for the
        client), or KeysUnavailable when the JWKS cannot be fetched."""
        # As Tollgate orders it: size and shape, then the header, then the key and the
        # signature, and only then the claims.
        if len(token) > MAX_TOKEN_CHARS:
            raise jwt.DecodeError("the token is over 8 KiB")
        segments = token.split(".")
        if len(segments) != 3:
            raise jwt.DecodeError("the token is not three segments")
        header = _strict_json_segment(segments[0])
        typ = header.get("typ")
        if not isinstance(typ, str) or not is_access_token_type(typ):
            raise jwt.InvalidTokenError("typ is not at+jwt")
        named = [m for m in FORBIDDEN_HEADER_MEMBERS if m in header]
        if named:
            raise jwt.InvalidTokenError(f"the header has {named[0]}")
        jwt.decode(
            token,
            self._key_for(header),
            algorithms=self._algorithms,
            issuer=self.issuer,
            audience=self.audience,
            leeway=LEEWAY_S,
            options={"require": REQUIRED_CLAIMS},
        )
        try:
            return AccessClaims.model_validate(_strict_json_segment(segments[1]))
        except ValidationError as e:
            fields = ", ".join(".".join(map(str, err["loc"])) for err in e.errors())
            raise jwt.InvalidTokenError(f"claims of the wrong type: {fields}") from None

    def _key_for(self, header: dict[str, Any]) -> Any:
        if self._jwks is None:
            return self._secret
        kid = header.get("kid")
        # A verify-only party picks a key by kid or not at all, as Tollgate's guard does.
        if not isinstance(kid, str):
            raise jwt.InvalidTokenError("no kid")
        try:
            return self._jwks.get_signing_key(kid)
        except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as e:
            raise KeysUnavailable(str(e)) from e
        except jwt.PyJWKClientError as e:  # no key has that kid, even after a refetch
            raise jwt.InvalidTokenError(str(e)) from e


@lru_cache(maxsize=1)
def get_verifier() -> TokenVerifier:
    """The service's verifier, made from the environment on first use (the app makes it at
    startup, so a bad configuration stops the service before it serves anything)."""
    return TokenVerifier.from_env()


# Swagger UI's Authorize button signs in at Tollgate itself (for a Tollgate on another origin,
# list this service's origin in Tollgate's ALLOWED_ORIGINS).
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=os.environ.get("TOLLGATE_LOGIN_URL", "/auth/login"))


def current_user(
    token: Annotated[str, Depends(oauth2_scheme)],
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
) -> User:
    """The user the request's bearer token speaks for; 401 with `WWW-Authenticate: Bearer`
    when there is no token or it fails any check, 503 when the keys cannot be fetched."""
    try:
        claims = verifier.verify(token)
    except KeysUnavailable as e:
        log.warning("Tollgate's public keys could not be fetched: %s", e)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "The token cannot be checked right now; try again shortly.",
            headers={"Retry-After": "1"},
        ) from None
    except jwt.InvalidTokenError as e:
        # The reason goes to the log, never the token; the client learns only that it failed.
        log.info("access token refused: %r", str(e))
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Could not validate credentials",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    return User(
        id=claims.sub,
        role=claims.role,
        scopes=[s for s in claims.scope.split(" ") if s],
        session_id=claims.sid,
        expires_at=claims.exp,
    )


CurrentUser = Annotated[User, Depends(current_user)]


def require_scope(scope: str) -> Callable[[User], User]:
    """A dependency that lets through only users whose token grants `scope` (Tollgate's scope
    strings: `profile`, `sessions`, `users:read`, `users:write`); 403 otherwise."""

    def checker(user: CurrentUser) -> User:
        if scope not in user.scopes:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,  # authenticated, but not allowed
                "Not enough permissions",
                # RFC 6750 §3.1: name the scope the token lacks.
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        return user

    return checker
