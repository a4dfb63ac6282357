"""Every event type of the contract, as frozen models, and the discriminated union over ``type``."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Protocol

from pydantic import AwareDatetime, Field, TypeAdapter, model_validator

from schemas import topics
from schemas.envelope import CloudEvent, Decision, Model

Source = Literal[
    "hotline-12345", "hotline-110", "ehu", "shopfront", "miniprogram", "grid-patrol", "volunteer"
]
Tier = Literal["city", "department", "local", "consultation"]
Resolution = Literal["government", "market", "charity"]
Level = Literal["microgrid", "areagrid", "community", "street", "district"]
EscalationReason = Literal[
    "claim_overdue",
    "resolve_overdue",
    "rejected",
    "repeat_report",
    "whistle",
    "complaint",
    "meeting_overdue",
]
MeetingOutcome = Literal["agreed", "not_agreed"]
VolunteerKind = Literal["help", "photo", "publicity", "remove", "report"]
"""五闪: 闪帮 help, 闪拍 photo, 闪宣 publicity, 闪除 remove (ads), 闪报 report (emergencies)"""
VolunteerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w.:@-]+$")]
ReviewKind = Literal["reject", "extend"]
ReminderReason = Literal["remind", "claim_due", "resolve_due"]
ShortText = Annotated[str, Field(max_length=200)]


# ---------------------------------------------------------------- shared parts


class Location(Model):
    address: str | None = Field(default=None, max_length=300)
    community: str | None = Field(default=None, max_length=100)
    microgrid: str | None = Field(default=None, max_length=100)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class Reporter(Model):
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)


class Assignee(Model):
    id: str = Field(min_length=1, max_length=100)
    kind: str = Field(
        min_length=1,
        max_length=40,
        description="microgrid_leader, areagrid_leader, community, street, department, "
        "command_center or convener",
    )
    name: str = Field(min_length=1, max_length=100)


HELPER_PREFIX = "helper:"


def helper_id(name: str) -> str:
    """The assignee id of a helper (解忧超市: a party member, a market provider) by its name."""
    return f"{HELPER_PREFIX}{name}"[:100]


class Unit(Model):
    """A unit of the five-level grid that a location resolved to."""

    id: str
    level: Level
    name: str


# ---------------------------------------------------------------- intake


class RequestReceivedData(Model):
    ticket_id: str
    source: Source
    external_id: str = Field(min_length=1, max_length=128)
    description: str = Field(min_length=1, max_length=4000)
    category: str | None = Field(default=None, max_length=64)
    location: Location | None = None
    reporter: Reporter | None = None
    urgent: bool = False
    households_affected: int | None = Field(default=None, ge=0, le=1_000_000)
    reported_at: AwareDatetime | None = None
    received_at: AwareDatetime
    resolution_hint: Resolution | None = None
    attachments: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=20
    )
    channel: Literal["http", "kafka", "open311"] = "http"
    volunteer_id: VolunteerId | None = Field(
        default=None, description="五闪: the volunteer who reported it (source volunteer)"
    )
    kind: VolunteerKind | None = Field(default=None, description="五闪: what the volunteer did")


class RequestReceived(CloudEvent):
    TOPIC: ClassVar[str] = topics.REQUESTS
    type: Literal["dispatch.request.received"] = "dispatch.request.received"
    data: RequestReceivedData


class Principal(Model):
    """Who the intake authenticated for an update, beside the free-text ``actor``: an upstream
    system by its API key (``source``), or a person by a signed token (its ``sub``, ``role``
    and, for a handler, ``unit``)."""

    kind: Literal["source", "handler", "operator", "helper"]
    name: str = Field(min_length=1, max_length=100, description="the source, or the token's sub")
    unit: str | None = Field(default=None, max_length=100, description="a handler's unit id")


class UpdateData(Model):
    ticket_id: str
    actor: str = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=2000)
    principal: Principal | None = Field(
        default=None, description="the authenticated caller (absent in events before v2)"
    )


class FeedbackData(UpdateData):
    satisfaction: int = Field(ge=1, le=5)
    solved: bool | None = Field(default=None, description="回访: the resident says it is solved")
    contacted: bool | None = Field(
        default=None, description="回访: the handler contacted the resident"
    )


class WhistleData(UpdateData):
    """吹哨报到: a community calls a department, or one of its part-time committee members
    (兼职委员), in; they must report (``report_in``) within the policy's limit."""

    department: str | None = Field(
        default=None, min_length=1, max_length=100, description="the department's id"
    )
    member: str | None = Field(
        default=None, min_length=1, max_length=100, description="the committee member's id"
    )

    @model_validator(mode="after")
    def _one_called_in(self) -> WhistleData:
        if (self.department is None) == (self.member is None):
            raise ValueError("a whistle calls in exactly one: a department or a member")
        return self


class RejectData(UpdateData):
    """退单: why the unit sends it back (a code of the policy's ``reject_reasons``)."""

    reason_code: str | None = Field(
        default=None, max_length=64, description="absent in events before v2"
    )


class ExtendData(UpdateData):
    """延期申请: the deadline the unit asks for."""

    resolve_by: AwareDatetime


class ReviewData(UpdateData):
    """审核: the operator's verdict on a pending reject or extension (its event id)."""

    request: str = Field(min_length=1, max_length=200)
    to: str | None = Field(
        default=None, max_length=100, description="approve of a reject: the unit it goes to"
    )


class ReassignData(UpdateData):
    """改派: the unit or department the operator gives the ticket to."""

    to: str = Field(min_length=1, max_length=100)


class ReclassifyData(UpdateData):
    tier: Tier | None = None
    category: str | None = Field(default=None, max_length=64)


class InvalidateData(UpdateData):
    """无效件: why the request is outside the system's remit (the policy's ``invalid_reasons``)."""

    reason_code: str = Field(min_length=1, max_length=64)


class MergeData(UpdateData):
    into: str = Field(min_length=1, max_length=200, description="the ticket it merges into")


class TicketClaimed(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.claimed"] = "dispatch.ticket.claimed"
    data: UpdateData


class TicketRejected(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.rejected"] = "dispatch.ticket.rejected"
    data: RejectData


class TicketResolved(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.resolved"] = "dispatch.ticket.resolved"
    data: UpdateData


class TicketFeedback(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.feedback"] = "dispatch.ticket.feedback"
    data: FeedbackData


class TicketReopened(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.reopened"] = "dispatch.ticket.reopened"
    data: UpdateData


class TicketWhistled(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.whistled"] = "dispatch.ticket.whistled"
    data: WhistleData


class TicketReportedIn(CloudEvent):
    """报到: the department or committee member whistled in has come (its ``principal``)."""

    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.reported_in"] = "dispatch.ticket.reported_in"
    data: UpdateData


class MeetingScheduledData(UpdateData):
    """近邻恳谈会: when and where the convener gathers the residents and units concerned."""

    at: AwareDatetime = Field(description="when the meeting is held")
    place: str = Field(min_length=1, max_length=200, description="where: 社区议事厅 …")


class TicketMeetingScheduled(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.meeting_scheduled"] = "dispatch.ticket.meeting_scheduled"
    data: MeetingScheduledData


class MeetingHeldData(UpdateData):
    """近邻恳谈会 held: ``agreed`` settles it; ``not_agreed`` or a ``handoff`` (a department id)
    passes it on (to the department, else the street)."""

    outcome: MeetingOutcome
    minutes: str = Field(min_length=1, max_length=4000, description="会议纪要")
    handoff: str | None = Field(
        default=None, min_length=1, max_length=100, description="a department to hand over to"
    )


class TicketMeetingHeld(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.meeting_held"] = "dispatch.ticket.meeting_held"
    data: MeetingHeldData


class TicketAdopted(CloudEvent):
    """认领/认购 (解忧超市): a department's handler, a party member or a market provider (a
    ``helper``) takes a worry off the shelf; its ``principal`` is the adopter."""

    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.adopted"] = "dispatch.ticket.adopted"
    data: UpdateData


class TicketExtensionRequested(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.extension_requested"] = "dispatch.ticket.extension_requested"
    data: ExtendData


class TicketApproved(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.approved"] = "dispatch.ticket.approved"
    data: ReviewData


class TicketRefused(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.refused"] = "dispatch.ticket.refused"
    data: ReviewData


class TicketReassigned(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.reassigned"] = "dispatch.ticket.reassigned"
    data: ReassignData


class TicketReclassified(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.reclassified"] = "dispatch.ticket.reclassified"
    data: ReclassifyData


class TicketInvalidated(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.invalidated"] = "dispatch.ticket.invalidated"
    data: InvalidateData


class TicketSplit(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.split"] = "dispatch.ticket.split"
    data: UpdateData


class TicketMerged(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.merged"] = "dispatch.ticket.merged"
    data: MergeData


class TicketRemindRequested(CloudEvent):
    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.remind_requested"] = "dispatch.ticket.remind_requested"
    data: UpdateData


class TicketSupplemented(CloudEvent):
    """A resident's new information (补充材料), added to the timeline; the assignee is told."""

    TOPIC: ClassVar[str] = topics.UPDATES
    type: Literal["dispatch.ticket.supplemented"] = "dispatch.ticket.supplemented"
    data: UpdateData


# ---------------------------------------------------------------- router


class ClassifiedData(Model):
    ticket_id: str
    category: str
    category_name: str
    tier: Tier
    emergency: bool
    resolution: Resolution
    department: str | None = None
    unit: Unit
    rule: str = Field(description="id of the policy rule that decided the tier")
    evidence: list[str] = Field(default_factory=list, description="matched keywords and facts")
    place: str | None = Field(
        default=None,
        description="the repeat-report key the ticket holds while open (scope:where|category); "
        "null: no later request can be a repeat of it",
    )
    point: tuple[float, float] | None = Field(
        default=None, description="the request's lat, lon (radius-scoped repeats)"
    )
    building: str | None = Field(
        default=None,
        description="the building the address names in its micro-grid (5幢, 12号): "
        "building-scoped repeats, kept when an operator reclassifies",
    )


class TicketClassified(Decision):
    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.classified"] = "dispatch.ticket.classified"
    data: ClassifiedData


class AssignedData(Model):
    ticket_id: str
    summary: str = Field(
        max_length=120, description="诉求摘要: what it is about, for notifications"
    )
    tier: Tier
    level: Level
    assignee: Assignee
    claim_by: AwareDatetime
    resolve_by: AwareDatetime
    attempt: int = Field(ge=1)
    copied_to: list[Assignee] = Field(default_factory=list)
    rule: str
    reason: str | None = Field(
        default=None,
        description="why it was assigned again: reassigned, reclassified, split, reopen; "
        "null for the first assignment",
    )
    emergency: bool = Field(
        default=False, description="life-safety: notified before anything else (absent before v2)"
    )


class TicketAssigned(Decision):
    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.assigned"] = "dispatch.ticket.assigned"
    data: AssignedData


class EscalatedData(Model):
    ticket_id: str
    summary: str = Field(
        max_length=120, description="诉求摘要: what it is about, for notifications"
    )
    from_level: Level
    to_level: Level
    reason: EscalationReason
    assignee: Assignee
    previous_assignee: Assignee | None = Field(
        default=None, description="who had it before: told that it moved (催办/督办)"
    )
    claim_by: AwareDatetime
    resolve_by: AwareDatetime
    attempt: int = Field(ge=1)
    emergency: bool = Field(
        default=False, description="life-safety: notified before anything else (absent before v2)"
    )


class TicketEscalated(Decision):
    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.escalated"] = "dispatch.ticket.escalated"
    data: EscalatedData


class ClosedData(Model):
    ticket_id: str
    outcome: Literal["resolved", "merged", "invalid"]
    merged_into: str | None = Field(default=None, description="the open ticket a repeat joined")
    on_time: bool | None = Field(description="resolved by resolve_by; null when merged")
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    reason_code: str | None = Field(default=None, description="invalid: the policy's code")


class TicketClosed(Decision):
    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.closed"] = "dispatch.ticket.closed"
    data: ClosedData


class ReviewRequestedData(Model):
    """A reject (退单) or an extension (延期) the centre must approve or refuse."""

    ticket_id: str
    summary: str = Field(max_length=120)
    request: str = Field(description="the event id of the pending reject or extension")
    kind: ReviewKind
    reason_code: str | None = None
    resolve_by: AwareDatetime | None = Field(default=None, description="extend: the wanted one")
    requested_by: Assignee | None = Field(default=None, description="the unit that asked")


class TicketReviewRequested(Decision):
    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.review_requested"] = "dispatch.ticket.review_requested"
    data: ReviewRequestedData


class ReviewedData(Model):
    ticket_id: str
    summary: str = Field(max_length=120)
    request: str
    kind: ReviewKind
    verdict: Literal["approved", "refused"]
    assignee: Assignee | None = Field(default=None, description="who asked, told the verdict")


class TicketReviewed(Decision):
    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.reviewed"] = "dispatch.ticket.reviewed"
    data: ReviewedData


class DeadlineChangedData(Model):
    ticket_id: str
    summary: str = Field(max_length=120)
    assignee: Assignee
    previous_resolve_by: AwareDatetime
    resolve_by: AwareDatetime
    request: str = Field(description="the approved extension's event id")


class TicketDeadlineChanged(Decision):
    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.deadline_changed"] = "dispatch.ticket.deadline_changed"
    data: DeadlineChangedData


class RemindedData(Model):
    ticket_id: str
    summary: str = Field(max_length=120)
    assignee: Assignee
    reason: ReminderReason = Field(
        description="remind: an operator's 催办; claim_due / resolve_due: the deadline is near"
    )
    due: AwareDatetime | None = Field(default=None, description="the deadline it is about")
    emergency: bool = Field(
        default=False, description="life-safety: notified before anything else (absent before v2)"
    )


class TicketReminded(Decision):
    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.reminded"] = "dispatch.ticket.reminded"
    data: RemindedData


class ShelvedData(Model):
    """解忧超市: a worry put on the shelf under its resolution type, for adoption until
    ``until``; then, unadopted, it is assigned to its community as usual."""

    ticket_id: str
    summary: str = Field(max_length=120)
    resolution: Resolution
    category: str
    category_name: str
    tier: Tier
    unit: Unit = Field(description="where it was located: its community takes it if unadopted")
    until: AwareDatetime


class TicketShelved(Decision):
    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.shelved"] = "dispatch.ticket.shelved"
    data: ShelvedData


class PointsAwardedData(Model):
    """五闪积分: a volunteer's points for a report whose ticket was resolved (closed as
    resolved); an invalid or merged-away report earns none."""

    ticket_id: str
    volunteer_id: VolunteerId
    kind: VolunteerKind
    points: int = Field(ge=0)
    category: str | None = None


class PointsAwarded(Decision):
    TOPIC: ClassVar[str] = topics.POINTS
    type: Literal["dispatch.points.awarded"] = "dispatch.points.awarded"
    data: PointsAwardedData


class SummonedData(Model):
    ticket_id: str
    summary: str = Field(max_length=120)
    member: Assignee = Field(description="the committee member called in (kind: member)")
    community: str = Field(description="the community that whistled")
    report_by: AwareDatetime = Field(description="报到 by then, else the ticket goes a level up")
    whistle: str = Field(description="the whistle's event id")
    emergency: bool = False


class TicketSummoned(Decision):
    """吹哨: a committee member is told to report in; the ticket stays with its assignee."""

    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.summoned"] = "dispatch.ticket.summoned"
    data: SummonedData


class SupplementNoticeData(Model):
    ticket_id: str
    summary: str = Field(max_length=120)
    assignee: Assignee
    supplement: str = Field(description="the supplement's event id")


class TicketSupplementNoticed(Decision):
    """The assignee is told of a resident's supplement (the note stays on the update)."""

    TOPIC: ClassVar[str] = topics.DECISIONS
    type: Literal["dispatch.ticket.supplement_noticed"] = "dispatch.ticket.supplement_noticed"
    data: SupplementNoticeData


class LinkedData(Model):
    ticket_id: str = Field(description="the open ticket reported again")
    repeat: str = Field(description="the new ticket, closed as merged into this one")
    summary: str = Field(max_length=120)
    by: Literal["repeat", "operator"] = Field(
        default="repeat",
        description="repeat: the router found a repeat report (raises the ticket); operator: "
        "an operator merged it (the link only)",
    )


class TicketLinked(Decision):
    """Router-internal: carries a repeat report to the partition of the ticket it joins."""

    TOPIC: ClassVar[str] = topics.LINKS
    type: Literal["dispatch.ticket.linked"] = "dispatch.ticket.linked"
    data: LinkedData


class ClockData(Model):
    partition: int = Field(ge=0, description="the partition of the tickets this tick checks")


class ClockTicked(CloudEvent):
    """The router's time: deadlines are checked against ticks, never against a wall clock."""

    TOPIC: ClassVar[str] = topics.CLOCK
    type: Literal["dispatch.clock.ticked"] = "dispatch.clock.ticked"
    data: ClockData


class PolicyData(Model):
    version: str
    name: str
    sla_scale: float = Field(gt=0)
    content_hash: str
    document: str = Field(description="the policy file, verbatim (YAML)")


class PolicyPublished(CloudEvent):
    """A policy version the router put in force; subject is the version."""

    TOPIC: ClassVar[str] = topics.POLICIES
    type: Literal["dispatch.policy.published"] = "dispatch.policy.published"
    data: PolicyData


# ---------------------------------------------------------------- notifier


class NotificationData(Model):
    ticket_id: str
    decision_id: str
    decision_type: str
    channel: str = Field(description="webhook, sms, wecom")
    recipient: str = Field(description="assignee id, or 'command-center-webhook'")
    attempts: int = Field(ge=1)
    latency_ms: float = Field(ge=0)


class NotificationFailedData(NotificationData):
    error: str


class NotificationSent(CloudEvent):
    TOPIC: ClassVar[str] = topics.NOTIFICATIONS
    type: Literal["dispatch.notification.sent"] = "dispatch.notification.sent"
    data: NotificationData


class NotificationFailed(CloudEvent):
    TOPIC: ClassVar[str] = topics.NOTIFICATIONS
    type: Literal["dispatch.notification.failed"] = "dispatch.notification.failed"
    data: NotificationFailedData


# ---------------------------------------------------------------- dead letters


class Origin(Model):
    transport: Literal["kafka", "http"]
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    source: str | None = Field(default=None, description="the upstream source, when known")
    service: str = Field(description="the service that refused the input")


class Consumed(Protocol):
    """Where a consumed record lies: any consumer record, Faust's or aiokafka's."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


def kafka_origin(service: str, record: Consumed, source: str | None = None) -> Origin:
    """Where a dead letter's input came from: the record's topic, partition and offset."""
    return Origin(
        transport="kafka",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        source=source,
        service=service,
    )


class InputRejectedData(Model):
    reason: str = Field(description="what was wrong, for a person to act on")
    errors: list[str] = Field(default_factory=list, description="one entry per problem found")
    origin: Origin
    original: str = Field(description="the original bytes, base64")
    original_key: str | None = Field(default=None, description="the original key, base64")


class InputRejected(CloudEvent):
    TOPIC: ClassVar[str] = topics.DEADLETTER
    type: Literal["dispatch.input.rejected"] = "dispatch.input.rejected"
    data: InputRejectedData


# ---------------------------------------------------------------- the union

UPDATE_TYPES = (
    TicketClaimed,
    TicketRejected,
    TicketResolved,
    TicketFeedback,
    TicketReopened,
    TicketWhistled,
    TicketExtensionRequested,
    TicketApproved,
    TicketRefused,
    TicketReassigned,
    TicketReclassified,
    TicketInvalidated,
    TicketSplit,
    TicketMerged,
    TicketRemindRequested,
    TicketSupplemented,
    TicketReportedIn,
    TicketMeetingScheduled,
    TicketMeetingHeld,
    TicketAdopted,
)
DECISION_TYPES = (
    TicketClassified,
    TicketAssigned,
    TicketEscalated,
    TicketClosed,
    TicketLinked,
    TicketReviewRequested,
    TicketReviewed,
    TicketDeadlineChanged,
    TicketReminded,
    TicketSupplementNoticed,
    TicketSummoned,
    PointsAwarded,
    TicketShelved,
)
EVENT_TYPES: tuple[type[CloudEvent], ...] = (
    RequestReceived,
    *UPDATE_TYPES,
    *DECISION_TYPES,
    NotificationSent,
    NotificationFailed,
    InputRejected,
    PolicyPublished,
    ClockTicked,
)

Update = (
    TicketClaimed
    | TicketRejected
    | TicketResolved
    | TicketFeedback
    | TicketReopened
    | TicketWhistled
    | TicketExtensionRequested
    | TicketApproved
    | TicketRefused
    | TicketReassigned
    | TicketReclassified
    | TicketInvalidated
    | TicketSplit
    | TicketMerged
    | TicketRemindRequested
    | TicketSupplemented
    | TicketReportedIn
    | TicketMeetingScheduled
    | TicketMeetingHeld
    | TicketAdopted
)
Event = Annotated[
    RequestReceived
    | TicketClaimed
    | TicketRejected
    | TicketResolved
    | TicketFeedback
    | TicketReopened
    | TicketWhistled
    | TicketExtensionRequested
    | TicketApproved
    | TicketRefused
    | TicketReassigned
    | TicketReclassified
    | TicketInvalidated
    | TicketSplit
    | TicketMerged
    | TicketRemindRequested
    | TicketSupplemented
    | TicketReportedIn
    | TicketMeetingScheduled
    | TicketMeetingHeld
    | TicketAdopted
    | TicketClassified
    | TicketAssigned
    | TicketEscalated
    | TicketClosed
    | TicketLinked
    | TicketReviewRequested
    | TicketReviewed
    | TicketDeadlineChanged
    | TicketReminded
    | TicketSupplementNoticed
    | TicketSummoned
    | PointsAwarded
    | TicketShelved
    | NotificationSent
    | NotificationFailed
    | InputRejected
    | PolicyPublished
    | ClockTicked,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def data_type(kind: type[CloudEvent]) -> type[Model]:
    """The model of ``kind``'s ``data`` (RejectData for TicketRejected …)."""
    annotation = kind.model_fields["data"].annotation
    assert isinstance(annotation, type) and issubclass(annotation, Model)
    return annotation
