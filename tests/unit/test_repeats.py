"""Repeat reports (多次反映) by the policy's rule per category, through the pure kernel."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.envelope import CloudEvent, Decision, derive_id, ticket_id_for
from schemas.events import (
    Location,
    ReclassifyData,
    RequestReceived,
    RequestReceivedData,
    TicketClosed,
    TicketEscalated,
    TicketLinked,
    TicketReclassified,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.audit.policies import policy_book
from services.audit.verify import verify
from services.router.kernel.core import step
from services.router.kernel.places import apply_changes, index_change
from services.router.kernel.repeats import Holder
from services.router.kernel.state import Ticket
from services.router.kernel.version import logic_version
from tests.unit.test_audit_log import Recorder

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)
POLICY = load_policy(None)


def request(
    text: str, n: int, location: Location | None = None, after: timedelta = timedelta()
) -> RequestReceived:
    ticket = ticket_id_for("grid-patrol", f"RP-{n}")
    cause = f"urn:dispatch:grid-patrol:RP-{n}"
    when = T0 + after
    return RequestReceived(
        id=derive_id(cause, "received"),
        source="/dispatch/intake/grid-patrol",
        time=when,
        subject=ticket,
        causationid=cause,
        correlationid=derive_id(cause, "received"),
        data=RequestReceivedData(
            ticket_id=ticket,
            source="grid-patrol",
            external_id=f"RP-{n}",
            description=text,
            location=location,
            received_at=when,
        ),
    )


class Router:
    """The shell without Kafka: tickets by id, the open-place index, links to their ticket."""

    def __init__(self, policy: Policy = POLICY) -> None:
        self.policy = policy
        self.tickets: dict[str, Ticket] = {}
        self.places: dict[str, str] = {}
        self.decisions: list[Decision] = []

    def feed(self, event: CloudEvent) -> None:
        before = self.tickets.get(event.subject)
        after, decisions = step(before, event, self.policy, self.places)
        if after is not None:
            self.tickets[after.ticket_id] = after
        apply_changes(self.places, index_change(before, after, self.places))
        self.decisions += decisions
        for decision in decisions:
            if isinstance(decision, TicketLinked):
                self.feed(decision)

    def open_tickets(self) -> list[str]:
        return [t.ticket_id for t in self.tickets.values() if t.merged_into is None]

    def escalations(self) -> list[TicketEscalated]:
        return [d for d in self.decisions if isinstance(d, TicketEscalated)]


FUQIAN = "府前社区"


def test_three_buildings_in_one_community_are_three_tickets() -> None:
    router = Router()
    for n, building in enumerate(("5栋", "6栋", "7栋")):
        loc = Location(address=f"府前社区{building}", community=FUQIAN)
        router.feed(request(f"{building}楼道灯不亮了", n, loc))
    assert len(router.open_tickets()) == 3
    assert not router.escalations()


def test_two_reports_of_one_buildings_light_within_the_window_are_one_ticket() -> None:
    router = Router()
    router.feed(request("5栋楼道灯不亮了", 1, Location(address="府前5栋", community=FUQIAN)))
    router.feed(
        request(
            "五栋的楼道灯还是坏的",
            2,
            Location(address="沙县府前小区五号楼", community=FUQIAN),
            timedelta(hours=2),
        )
    )
    [first] = router.open_tickets()
    merged = [d for d in router.decisions if isinstance(d, TicketClosed)]
    assert [m.data.merged_into for m in merged] == [first]
    linked = [d for d in router.decisions if isinstance(d, TicketLinked)]
    assert [(ln.subject, ln.data.repeat) for ln in linked] == [(first, merged[0].subject)]
    [up] = router.escalations()
    assert (up.data.reason, up.data.from_level, up.data.to_level) == (
        "repeat_report",
        "microgrid",
        "areagrid",
    )


def test_a_report_after_the_window_is_its_own_ticket() -> None:
    router = Router()
    loc = Location(address="府前5栋", community=FUQIAN)
    router.feed(request("5栋楼道灯不亮了", 1, loc))
    router.feed(request("5栋楼道灯不亮了", 2, loc, timedelta(days=8)))
    router.feed(request("5栋楼道灯又不亮了", 3, loc, timedelta(days=8, hours=1)))
    assert len(router.open_tickets()) == 2  # the third repeats the second, the newer report


def test_two_power_outages_in_one_micro_grid_are_one_ticket() -> None:
    router = Router()
    router.feed(request("家里停电了", 1, Location(address="城北新村南区5幢")))
    router.feed(
        request("我们这停电了", 2, Location(address="城北新村南区7幢"), timedelta(minutes=5))
    )
    assert len(router.open_tickets()) == 1


def test_reports_without_a_location_or_only_a_community_are_never_merged() -> None:
    router = Router()
    for n in range(3):
        router.feed(request("楼道灯不亮了", n))
    for n in range(3, 6):
        router.feed(request("停电了", n, Location(community=FUQIAN)))
    assert len(router.open_tickets()) == 6
    assert all(t.place is None for t in router.tickets.values())


def test_many_repeats_raise_their_ticket_one_level_once_per_window() -> None:
    router = Router()
    loc = Location(address="府前5栋", community=FUQIAN)
    for n in range(5):
        router.feed(request("5栋楼道灯不亮", n, loc, timedelta(minutes=n)))
    assert len(router.open_tickets()) == 1
    assert len(router.escalations()) == 1
    assert len([d for d in router.decisions if isinstance(d, TicketLinked)]) == 4


def test_street_lights_within_the_radius_are_one_ticket_farther_ones_two() -> None:
    router = Router()
    at = (26.40000, 117.77900)
    router.feed(request("路灯不亮", 1, Location(lat=at[0], lon=at[1])))
    router.feed(
        request("这里路灯坏了", 2, Location(lat=at[0] + 0.001, lon=at[1]), timedelta(hours=1))
    )
    router.feed(request("路灯不亮", 3, Location(lat=at[0] + 0.004, lon=at[1]), timedelta(hours=1)))
    assert len(router.open_tickets()) == 2  # 111 m joins; 445 m does not


def test_an_emergency_is_never_merged() -> None:
    router = Router()
    loc = Location(address="府前5栋", community=FUQIAN)
    router.feed(request("5栋楼道灯不亮", 1, loc))
    router.feed(request("5栋楼道里着火了,浓烟很大", 2, loc))
    router.feed(request("5栋楼道里着火了,有人被困", 3, loc))
    assert len(router.open_tickets()) == 3


def test_categories_without_a_rule_are_each_their_own_case() -> None:
    router = Router()
    loc = Location(address="府前5栋", community=FUQIAN)
    router.feed(request("想申请低保", 1, loc))
    router.feed(request("想申请低保", 2, loc))
    assert len(router.open_tickets()) == 2


def test_an_index_entry_of_a_bare_ticket_id_still_reads_as_its_holder() -> None:
    assert Holder.parse("T123") == Holder("T123")
    held = Holder("T9", T0, (26.4, 117.7))
    assert Holder.parse(held.value()) == held


def test_every_decision_names_the_logic_that_decided_it() -> None:
    router = Router()
    router.feed(request("5栋楼道灯不亮了", 1, Location(address="府前5栋")))
    assert router.decisions
    assert {d.logicversion for d in router.decisions} == {logic_version()}
    assert logic_version().startswith("lexicon-scan")


def reclassify(ticket_id: str, category: str, after: timedelta) -> TicketReclassified:
    cause = f"urn:test:reclassify:{ticket_id}:{category}"
    return TicketReclassified(
        id=derive_id(cause, "reclassified"),
        source="/dispatch/intake/console",
        time=T0 + after,
        subject=ticket_id,
        causationid=cause,
        correlationid=cause,
        data=ReclassifyData(ticket_id=ticket_id, actor="operator", category=category),
    )


def test_a_reclassified_ticket_holds_the_place_of_its_new_category_only() -> None:
    """Clutter in a corridor, reclassified as a blocked fire escape: later clutter at that
    building is a new ticket, a later fire-escape report at it is a repeat of this one."""
    router = Router()
    loc = Location(address="府前社区5栋", community=FUQIAN)
    router.feed(request("5栋楼道里堆满了杂物", 1, loc))
    [ticket] = router.open_tickets()
    assert router.tickets[ticket].category == "corridor_clutter"
    router.feed(reclassify(ticket, "fire_safety", timedelta(minutes=30)))
    state = router.tickets[ticket]
    assert (state.category, state.building) == ("fire_safety", "5幢")
    assert state.place is not None and state.place.endswith("|fire_safety")
    assert [Holder.parse(h).ticket_id for h in router.places.values()] == [ticket]

    router.feed(request("5栋楼道又堆满了杂物", 2, loc, timedelta(hours=1)))
    assert len(router.open_tickets()) == 2  # clutter again: not the fire-escape ticket
    router.feed(request("5栋的消防通道被杂物堵死了", 3, loc, timedelta(hours=2)))
    merged = [d for d in router.decisions if isinstance(d, TicketClosed)]
    assert [m.data.merged_into for m in merged] == [ticket]


def test_a_ticket_reclassified_to_a_category_without_a_rule_frees_its_place() -> None:
    router = Router()
    loc = Location(address="府前社区5栋", community=FUQIAN)
    router.feed(request("5栋楼道里堆满了杂物", 1, loc))
    [ticket] = router.open_tickets()
    router.feed(reclassify(ticket, "property_mgmt", timedelta(minutes=30)))
    assert router.tickets[ticket].place is None
    assert router.places == {}
    router.feed(request("5栋楼道里又堆满了杂物", 2, loc, timedelta(hours=1)))
    assert len(router.open_tickets()) == 2


def test_the_audit_replays_a_reclassified_place_without_divergence() -> None:
    recorder = Recorder(POLICY)
    loc = {"address": "府前社区5栋", "community": FUQIAN}
    first = recorder.request("5栋楼道里堆满了杂物", 0, location=loc)
    recorder.update(first, TicketReclassified, 30, category="fire_safety")
    recorder.request("5栋楼道又堆满了杂物", 60, location=loc)
    third = recorder.request("5栋的消防通道被杂物堵死了", 120, location=loc)
    closed = [r.event for r in recorder.records if isinstance(r.event, TicketClosed)]
    assert [(c.subject, c.data.merged_into) for c in closed] == [(third, first)]
    log = recorder.log()
    result = verify(log, policy_book(log))
    assert result.divergences == []
