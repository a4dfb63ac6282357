"""CloudEvents 1.0 envelope (structured mode, JSON) and the ids every event carries.

Ids of events a service emits derive from their cause (``derive_id``), so re-running a service
over the same inputs emits the same ids and consumers can dedupe on ``id``.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"

# Fixed namespace: changing it changes every derived id, which breaks replays.
ID_NAMESPACE = uuid.UUID("6f1c2a4e-2b7d-5c1e-9a3f-3d5e0c8b7a10")

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_NAMESPACE_BYTES = ID_NAMESPACE.bytes


def derive_id(cause: str, purpose: str) -> str:
    """The id of the event emitted because of ``cause`` (an event id or an input key):
    ``uuid5(ID_NAMESPACE, cause + US + purpose)``, spelled out (a third of ``uuid.uuid5``'s
    time: the router derives several ids per event)."""
    digest = bytearray(
        hashlib.sha1(
            _NAMESPACE_BYTES + f"{cause}\x1f{purpose}".encode(), usedforsecurity=False
        ).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def ticket_id_for(source: str, external_id: str) -> str:
    """A ticket id derived from the upstream identity: the same request maps to one ticket.

    ``T`` + 13 Crockford base32 characters (65 bits of SHA-256): short enough to read out
    on a phone call, without ambiguous letters (I, L, O, U).
    """
    digest = hashlib.sha256(f"{source}\x1f{external_id}".encode()).digest()
    number = int.from_bytes(digest[:9], "big") >> 7  # 65 bits
    chars = []
    for _ in range(13):
        number, rest = divmod(number, 32)
        chars.append(_CROCKFORD[rest])
    return "T" + "".join(reversed(chars))


class Model(BaseModel):
    """Base of every schema model: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CloudEvent(Model):
    """Attributes shared by every event (CONTRACT.md, Topics)."""

    TOPIC: ClassVar[str] = ""

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256, description="URI-reference of the emitter")
    type: str
    time: AwareDatetime
    subject: str = Field(min_length=1, max_length=128, description="the ticket id")
    datacontenttype: Literal["application/json"] = "application/json"
    causationid: str = Field(min_length=1, max_length=256, description="id of the cause")
    correlationid: str = Field(min_length=1, max_length=256, description="id of the first cause")


class Decision(CloudEvent):
    """A router decision: records the policy version in force for its ticket."""

    policyversion: str = Field(min_length=1, max_length=128)
    ticketversion: int = Field(
        ge=0, description="inputs of the ticket applied when this was decided (audit replay)"
    )
    logicversion: str | None = Field(
        default=None,
        max_length=128,
        description="the decision logic (router kernel and classifier) that decided: the audit "
        "re-runs a decision only with the logic it names",
    )
