"""The FastAPI peer: the classic "OAuth2 with Password (and hashing), Bearer with JWT tokens"
tutorial app, doing the work Tollgate's register, login and /me routes do.

Run by the benchmark harness as
    uvicorn app:app --host 127.0.0.1 --port PORT --app-dir bench/peers/fastapi
with JWT_SECRET set to the same secret the Tollgate server signs with, so that each accepts
the other's tokens (bench/peers/equivalence.test.mjs checks it).

What it does, and where it differs from Tollgate:
- Storage is an in-process dict (the tutorial's `fake_users_db`), keyed by user id, with an
  email index beside it. A dict lookup is far cheaper than a Workers KV read, so the `/me`
  comparison is conservative for Tollgate.
- Passwords are hashed with argon2-cffi at Tollgate's parameters (argon2id, m=19456 KiB, t=2,
  p=1, 16-byte salt, 32-byte output), so it verifies Tollgate's stored PHC strings too.
- Tokens are HS256 via PyJWT with Tollgate's claims (iss, aud, sub, exp, iat, nbf, jti, sid,
  role, scope) and header typ `at+jwt`; verification requires all of them, checks iss and
  aud exactly, the typ, and allows the same 30 s leeway.
- Login issues an access token only: no refresh-token family is written and no login
  throttle is consulted (Tollgate does both), again conservative for Tollgate.
- `BENCH_SEED` may name a JSON-lines file of user records (Tollgate's `user:{id}` record
  format), loaded at start, so both servers know the same user with the same id.
"""

import json
import os
import secrets
import time
import uuid
from datetime import datetime, timezone
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel

SECRET_KEY = os.environ["JWT_SECRET"]
ALGORITHM = "HS256"
ISSUER = "tollgate"
AUDIENCE = "tollgate"
ACCESS_TOKEN_TTL_SECONDS = 900
LEEWAY_SECONDS = 30
SCOPES = {"user": ["profile", "sessions"], "admin": ["profile", "sessions", "users:read", "users:write"]}

# Tollgate's defaults: OWASP's argon2id row m=19456 KiB, t=2, p=1.
password_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)

# The tutorial's in-memory "database": user id -> record, plus the email index.
fake_users_db: dict[str, dict] = {}
email_index: dict[str, str] = {}

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="auth/login")
app = FastAPI()


def load_seed(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                fake_users_db[record["id"]] = record
                email_index[record["email"]] = record["id"]


if os.environ.get("BENCH_SEED"):
    load_seed(os.environ["BENCH_SEED"])


class RegisterBody(BaseModel):
    email: str
    password: str


def credentials_exception() -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )


def rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_json(user: dict) -> dict:
    return {
        "id": user["id"],
        "email": user["email"],
        "role": user["role"],
        "scopes": SCOPES.get(user["role"], []),
        "created_at": rfc3339(user["created_at"]),
        "email_verified": user.get("email_verified_at") is not None,
        # The enrolled second factors, as Tollgate's /me shows them (never a secret).
        "mfa": {
            "totp": ((user.get("mfa") or {}).get("totp") or {}).get("confirmed_at") is not None,
            "recovery_codes": len((user.get("mfa") or {}).get("recovery_codes") or []),
        },
    }


def create_access_token(user: dict) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user["id"],
        "exp": now + ACCESS_TOKEN_TTL_SECONDS,
        "iat": now,
        "nbf": now,
        "jti": secrets.token_urlsafe(16),
        "sid": str(uuid.uuid4()),
        "role": user["role"],
        "scope": " ".join(SCOPES.get(user["role"], [])),
    }
    return jwt.encode(claims, SECRET_KEY, algorithm=ALGORITHM, headers={"typ": "at+jwt"})


async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> dict:
    try:
        header = jwt.get_unverified_header(token)
        if str(header.get("typ", "")).lower().removeprefix("application/") != "at+jwt":
            raise credentials_exception()
        payload = jwt.decode(
            token,
            SECRET_KEY,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["iss", "aud", "sub", "exp", "iat", "nbf", "jti", "sid", "role", "scope"]},
        )
    except jwt.InvalidTokenError:
        raise credentials_exception()
    if "profile" not in payload["scope"].split():
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Not enough permissions")
    user = fake_users_db.get(payload["sub"])
    if user is None:
        raise credentials_exception()
    return user


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@app.post("/auth/register", status_code=status.HTTP_201_CREATED)
async def register(body: RegisterBody) -> dict:
    email = body.email.strip().lower()
    if "@" not in email or len(body.password) < 8:
        raise HTTPException(status_code=422, detail="invalid email or password")
    if email in email_index:
        raise HTTPException(status_code=409, detail="email already registered")
    now = int(time.time())
    user = {
        "v": 1,
        "id": str(uuid.uuid4()),
        "email": email,
        "password_hash": password_hasher.hash(body.password),
        "role": "user",
        "created_at": now,
        "updated_at": now,
        "session_epoch": 0,
    }
    fake_users_db[user["id"]] = user
    email_index[email] = user["id"]
    return {"id": user["id"], "email": user["email"], "role": user["role"]}


@app.post("/auth/login")
async def login(form_data: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict:
    user_id = email_index.get(form_data.username.strip().lower())
    user = fake_users_db.get(user_id) if user_id else None
    try:
        if user is None:
            raise VerifyMismatchError()
        password_hasher.verify(user["password_hash"], form_data.password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return {
        "access_token": create_access_token(user),
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_TTL_SECONDS,
    }


@app.get("/me")
async def me(current_user: Annotated[dict, Depends(get_current_user)]) -> dict:
    return user_json(current_user)
