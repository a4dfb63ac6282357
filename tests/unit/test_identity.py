"""Credentials and the permission table: keys and signed tokens, who may do which action, who
may see a ticket; and the audit line naming the authenticated caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import Principal, TicketClaimed, UpdateData
from schemas.policy import load_policy
from services.audit.entries import entry
from services.common.identity import (
    CredentialError,
    Credentials,
    mint,
    new_secret,
    parse_ttl,
    read_token,
)
from services.common.permissions import ACTIONS, TicketFacts, may_see, refusal

NOW = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
SECRET = new_secret()
POLICY = load_policy(None)
MICRO = "MG-CB-01-01"
FACTS = TicketFacts(source="hotline-12345", assignee=MICRO, path=(MICRO,))


def person(role: str, unit: str | None = None) -> Principal:
    return Principal(kind=role, name="someone", unit=unit)  # type: ignore[arg-type]


def source(name: str) -> Principal:
    return Principal(kind="source", name=name)


def test_a_key_names_its_source_and_a_token_its_person() -> None:
    creds = Credentials({"hotline-12345": "k1", "volunteer": "k2"}, SECRET)
    assert creds.principal("k2", NOW) == source("volunteer")
    signed = mint(SECRET, "handler", "赖清香", MICRO, parse_ttl("8h"), NOW)
    assert creds.principal(signed, NOW) == Principal(kind="handler", name="赖清香", unit=MICRO)
    assert creds.principal("nope", NOW) is None and creds.principal(None, NOW) is None


def test_an_expired_forged_or_unitless_token_is_refused() -> None:
    signed = mint(SECRET, "operator", "ops", None, timedelta(minutes=5), NOW)
    with pytest.raises(CredentialError):
        read_token(signed, SECRET, NOW + timedelta(minutes=6))
    with pytest.raises(CredentialError):
        read_token(signed, new_secret(), NOW)
    with pytest.raises(ValueError, match="unit"):
        mint(SECRET, "handler", "x", None, timedelta(hours=1), NOW)
    with pytest.raises(ValueError, match="32"):
        mint("short", "operator", "x", None, timedelta(hours=1), NOW)


@pytest.mark.parametrize(("text", "seconds"), [("8h", 28800), ("30m", 1800), ("2d", 172800)])
def test_ttl_is_read_in_hours_minutes_or_days(text: str, seconds: int) -> None:
    assert parse_ttl(text).total_seconds() == seconds
    with pytest.raises(ValueError):
        parse_ttl("soon")


def test_the_assigned_unit_and_units_above_it_may_claim_no_one_else() -> None:
    for unit in (MICRO, "AG-CB-01", "CM-CB", "ST-FG", POLICY.district.id):  # up to the district
        assert refusal(person("handler", unit), "claim", FACTS, POLICY) is None, unit
    assert refusal(person("handler", MICRO), "claim", FACTS, POLICY) is None
    assert refusal(person("handler", "MG-CB-01-02"), "claim", FACTS, POLICY) is not None
    assert refusal(person("handler", "DEP-SW"), "resolve", FACTS, POLICY) is not None
    assert refusal(source("hotline-12345"), "claim", FACTS, POLICY) is not None
    assert refusal(person("operator"), "claim", FACTS, POLICY) is not None


def test_feedback_is_the_submitting_sources_or_an_operators() -> None:
    assert refusal(source("hotline-12345"), "feedback", FACTS, POLICY) is None
    assert refusal(person("operator"), "reopen", FACTS, POLICY) is None
    assert refusal(source("volunteer"), "feedback", FACTS, POLICY) is not None
    assert refusal(person("handler", MICRO), "feedback", FACTS, POLICY) is not None


def test_every_contract_action_has_a_rule_and_operator_actions_are_operators_only() -> None:
    assert len(ACTIONS) == 20
    for action in ("approve", "refuse", "reassign", "reclassify", "invalidate", "remind"):
        assert refusal(person("operator"), action, FACTS, POLICY) is None
        assert refusal(person("handler", MICRO), action, FACTS, POLICY) is not None
    assert refusal(person("helper"), "adopt", FACTS, POLICY) is not None  # not on the shelf
    shelved = TicketFacts(source="miniprogram", shelved=True)
    assert refusal(person("helper"), "adopt", shelved, POLICY) is None
    assert refusal(person("operator"), "bribe", FACTS, POLICY) is not None


def test_whistle_is_the_holding_communitys_and_report_in_the_whistled_departments() -> None:
    grid_community = "CM-CB"
    facts = TicketFacts(source="ehu", assignee=MICRO, path=(MICRO,), whistled=("DEP-SW",))
    assert refusal(person("handler", MICRO), "whistle", facts, POLICY) is None
    assert refusal(person("handler", grid_community), "whistle", facts, POLICY) is None
    assert refusal(person("handler", "DEP-SW"), "whistle", facts, POLICY) is not None
    assert refusal(person("handler", "DEP-SW"), "report_in", facts, POLICY) is None
    assert refusal(person("handler", "DEP-CG"), "report_in", facts, POLICY) is not None


def test_who_may_see_a_ticket() -> None:
    assert may_see(source("hotline-12345"), FACTS, POLICY)
    assert not may_see(source("volunteer"), FACTS, POLICY)
    assert may_see(person("operator"), FACTS, POLICY)
    assert may_see(person("handler", MICRO), FACTS, POLICY)
    assert may_see(person("handler", "CM-CB"), FACTS, POLICY)  # above the assignee
    assert not may_see(person("handler", "MG-CB-01-02"), FACTS, POLICY)
    assert not may_see(person("helper"), FACTS, POLICY)


def test_the_audit_line_of_an_update_names_the_authenticated_caller() -> None:
    caller = Principal(kind="handler", name="赖清香", unit=MICRO)
    claimed = TicketClaimed(
        id="e1",
        source="/dispatch/intake/handler",
        time=NOW,
        subject="T1",
        causationid="c",
        correlationid="c",
        data=UpdateData(ticket_id="T1", actor="赖清香 13905981234", principal=caller),
    )
    line = entry(claimed, None, "T1")
    assert line["by"] == f"handler:赖清香@{MICRO}" and line["actor"] == "赖清香 139****1234"
