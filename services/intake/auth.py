"""Who is calling: the bearer key (or Open311's ``api_key``) decides the source."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.intake.problems import ProblemError
from services.intake.runtime import Intake

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="sourceKey",
    description="每个上游来源一个密钥 (DISPATCH_SOURCE_KEYS): `Authorization: Bearer <key>`",
)


def intake_of(request: Request) -> Intake:
    intake: Intake = request.app.state.intake
    return intake


def bearer_key(request: Request) -> str | None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


async def authenticated_source(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The source the bearer key belongs to; 401 problem document otherwise."""
    key = bearer_key(request)
    found = intake_of(request).source_for(key) if key is not None else None
    if found is None:
        raise ProblemError(
            401,
            "a valid `Authorization: Bearer <key>` is required",
            headers={"WWW-Authenticate": 'Bearer realm="dispatch"'},
        )
    return found


Source = Annotated[str, Depends(authenticated_source)]
IntakeDep = Annotated[Intake, Depends(intake_of)]
