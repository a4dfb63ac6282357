"""Who is calling: an upstream system's API key, or a person's signed token
(``services.common.identity``); what they may do is ``services.common.permissions``' answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from schemas.events import Principal
from services.intake.models import now
from services.intake.problems import ProblemError
from services.intake.runtime import Intake

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="credential",
    description="上游系统的密钥 (DISPATCH_SOURCE_KEYS),或处置人、运营人员的令牌 "
    "(`dispatch token`): `Authorization: Bearer <credential>`",
)


async def intake_dependency(request: Request) -> Intake:
    """The intake, as a dependency: a coroutine, so FastAPI calls it on the event loop instead
    of handing it to a worker thread (a thread hop on every request for a dictionary lookup)."""
    return intake_of(request)


def intake_of(request: Request) -> Intake:
    intake: Intake = request.app.state.intake
    return intake


def bearer_key(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


def unauthorized() -> ProblemError:
    return ProblemError(
        401,
        "a valid `Authorization: Bearer <credential>` is required (an API key or a token)",
        headers={"WWW-Authenticate": 'Bearer realm="dispatch"'},
    )


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller the bearer credential names; 401 problem document otherwise."""
    found = intake_of(request).credentials.principal(bearer_key(request), now())
    if found is None:
        raise unauthorized()
    return found


async def authenticated_source(caller: Annotated[Principal, Depends(authenticated)]) -> str:
    """The upstream system calling; a person's token gets 403 (requests come from sources)."""
    if caller.kind != "source":
        raise ProblemError(403, "requests are submitted by upstream systems with an API key")
    return caller.name


Caller = Annotated[Principal, Depends(authenticated)]
Source = Annotated[str, Depends(authenticated_source)]
IntakeDep = Annotated[Intake, Depends(intake_dependency)]
