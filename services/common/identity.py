"""Who is calling (CONTRACT.md, "Identities and permissions"): an upstream system by its API key
(``DISPATCH_SOURCE_KEYS``), or a person by a signed token (JWT, HS256, key
``DISPATCH_TOKEN_SECRET``; claims ``sub``, ``role``, ``unit``, ``exp``) that ``dispatch token``
mints. Pure but for the clock the caller passes; keys and tokens are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Literal, get_args

import jwt

from schemas.events import Principal

Role = Literal["handler", "operator", "helper"]
ROLES: tuple[str, ...] = get_args(Role)
ALGORITHM = "HS256"
ISSUER = "dispatch"
MIN_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash
_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class CredentialError(ValueError):
    """A token that cannot be trusted: bad signature, expired, malformed claims."""


def new_secret() -> str:
    """A fresh token secret (``dispatch up`` makes one per run when none is configured)."""
    return secrets.token_urlsafe(48)


def parse_ttl(text: str) -> timedelta:
    """``8h``, ``30m``, ``2d``, ``90s`` or plain seconds → a positive duration."""
    found = _TTL.match(text)
    if found is None or float(found.group(1)) <= 0:
        raise ValueError(f"expected a duration like 8h, 30m, 2d; got {text!r}")
    return timedelta(seconds=float(found.group(1)) * _UNIT_SECONDS[found.group(2)])


def mint(secret: str, role: Role, sub: str, unit: str | None, ttl: timedelta, now: datetime) -> str:
    """A signed token for a person; a handler needs ``unit`` (a grid unit or department id)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    if role == "handler" and not unit:
        raise ValueError("a handler's token needs --unit (a grid unit or department id)")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(f"DISPATCH_TOKEN_SECRET must be at least {MIN_SECRET_BYTES} bytes")
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": sub,
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if unit:
        claims["unit"] = unit
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, secret: str, now: datetime) -> Principal:
    """The person a token names; ``CredentialError`` unless it is signed with ``secret``,
    unexpired and well-formed."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise CredentialError(f"token not accepted: {type(exc).__name__}") from exc
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= now.timestamp():
        raise CredentialError("token expired")
    role, sub, unit = claims.get("role"), claims.get("sub"), claims.get("unit")
    if role not in ROLES or not isinstance(sub, str) or not sub:
        raise CredentialError("token claims: role must be handler, operator or helper; sub set")
    if unit is not None and not isinstance(unit, str):
        raise CredentialError("token claims: unit must be a string")
    if role == "handler" and not unit:
        raise CredentialError("a handler's token must name its unit")
    try:
        return Principal(kind=role, name=sub, unit=unit)
    except ValueError as exc:
        raise CredentialError("token claims out of range") from exc


class Credentials:
    """The API keys of the upstream systems and the token secret of one deployment."""

    def __init__(self, keys: Mapping[str, str], token_secret: str | None) -> None:
        self._digests = {s: hashlib.sha256(k.encode()).digest() for s, k in keys.items()}
        self.token_secret = token_secret

    def source_for(self, key: str) -> str | None:
        """The source whose key this is; compares in constant time."""
        offered = hashlib.sha256(key.encode()).digest()
        found = None
        for source, expected in self._digests.items():
            if hmac.compare_digest(offered, expected):
                found = source
        return found

    def principal(self, bearer: str | None, now: datetime) -> Principal | None:
        """Who presents ``bearer``; None when it is neither a key nor a valid token."""
        if not bearer:
            return None
        source = self.source_for(bearer)
        if source is not None:
            return Principal(kind="source", name=source)
        if self.token_secret is None or bearer.count(".") != 2:
            return None
        try:
            return read_token(bearer, self.token_secret, now)
        except CredentialError:
            return None


def label(principal: Principal) -> str:
    """``source:hotline-12345``, ``handler:赖清香@MG-CB-01-01``, ``operator:ops``."""
    unit = f"@{principal.unit}" if principal.unit else ""
    return f"{principal.kind}:{principal.name}{unit}"
