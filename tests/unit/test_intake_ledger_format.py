"""A ledger entry written by a newer intake, with fields this one does not know, still counts."""

from __future__ import annotations

import orjson

from services.intake.ledger import LedgerEntry


def test_an_entry_with_an_unknown_field_is_read_not_ignored() -> None:
    written = {
        "ticket_id": "TQ6KP9E2TZH08C",
        "source": "hotline-12345",
        "external_id": "12345-20260210-0042",
        "event_id": "5f455f38-4722-5b9f-af95-63defcd5eb59",
        "channel": "http",
        "accepted_at": "2026-02-10T09:00:00+08:00",
        "body_digest": "sha256:0c4f…",
    }
    entry = LedgerEntry.model_validate_json(orjson.dumps(written))
    assert entry.ticket_id == "TQ6KP9E2TZH08C"
