"""Who is at the console: an operator's signed token (JWT, HS256, key ``DISPATCH_TOKEN_SECRET``,
claims ``sub``, ``role``, ``unit``, ``exp``), sent as ``Authorization: Bearer <token>``.

One function, ``operator_from``, over the deployment's shared verifier
(``services/common/identity.py``): nothing in the console knows JWTs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from services.common.identity import CredentialError, read_token
from services.common.settings import Settings

ROLE = "operator"


@dataclass(frozen=True, slots=True)
class Principal:
    sub: str
    role: str
    unit: str | None
    token: str  # the credential itself, forwarded to the intake with the operator's actions


def bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def operator_from(authorization: str | None, settings: Settings) -> Principal | None:
    """The operator the ``Authorization`` header names; None without a valid operator token
    (none, malformed, wrong signature, expired, another role, or no secret configured)."""
    token = bearer(authorization)
    if token is None or not settings.token_secret:
        return None
    try:
        person = read_token(token, settings.token_secret, datetime.now(UTC))
    except CredentialError:
        return None
    if person.kind != ROLE:
        return None
    return Principal(person.name, ROLE, person.unit, token)
