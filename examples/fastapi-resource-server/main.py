"""A FastAPI service that keeps its routes and leaves sign-in to Tollgate.

`/public` is open, `/me` needs a valid Tollgate access token, `/notes` one with the `profile`
scope and `/admin/users` one with `users:read` (an admin's). Run it beside a Tollgate:

    JWKS_URL=http://127.0.0.1:8787/.well-known/jwks.json uvicorn main:app --port 8000

See README.md beside this file for both ways of verifying, and what they mean.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from auth import CurrentUser, User, get_verifier, require_scope


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    get_verifier()  # a missing or contradictory configuration stops the service here
    yield


app = FastAPI(title="Notes, a Tollgate resource server", lifespan=lifespan)
# Browser apps on other origins call this service with `auth.fetch` (their client lists this
# origin in `apiOrigins`). ALLOWED_ORIGINS is comma-separated, like Tollgate's; the token
# travels in the Authorization header, never a cookie, so credentials stay off.
allowed_origins = [o.strip() for o in os.environ.get("ALLOWED_ORIGINS", "").split(",")]
app.add_middleware(
    CORSMiddleware,
    allow_origins=[o for o in allowed_origins if o],
    allow_methods=["*"],
    allow_headers=["Authorization", "Content-Type"],
)


@app.get("/public")
def public() -> dict[str, str]:
    return {"hello": "anyone"}


@app.get("/me")
def read_me(user: CurrentUser) -> User:
    return user


@app.get("/notes")
def read_notes(user: Annotated[User, Depends(require_scope("profile"))]) -> dict[str, str]:
    return {"notes_of": user.id}


@app.get("/admin/users")
def list_users(admin: Annotated[User, Depends(require_scope("users:read"))]) -> dict[str, str]:
    return {"requested_by": admin.id}
