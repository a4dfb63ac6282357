"""三率考核: per unit, the tickets received in a period and their three rates, score and rank.

The definitions are CONTRACT.md's "Reports (v2)": a ticket belongs to the unit its first
assignment went to; invalid tickets are excluded; 响应率 is the share claimed by the first
``claim_by``; 解决率 and 满意率 are shares of the tickets with feedback, by their latest feedback
(``solved: true``; satisfaction ≥ 4); the score is 100 × the policy's weighted sum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from schemas.policy import Policy
from schemas.policy.grid import Grid, grid_of
from services.reports.facts import TicketFacts
from services.reports.period import Period

By = Literal["street", "community", "department", "microgrid", "member"]
BY_VALUES: tuple[str, ...] = get_args(By)
BY_NAMES = {
    "street": "街道",
    "community": "社区",
    "department": "部门",
    "microgrid": "微网格",
    "member": "兼职委员",
}
SATISFIED_AT_LEAST = 4
CONVENER_SUFFIX = ":convener"


@dataclass(slots=True)
class Tally:
    """The counts a row's rates rest on."""

    received: int = 0
    responded: int = 0
    with_feedback: int = 0
    solved: int = 0
    satisfied: int = 0
    unsaid: int = 0
    """Latest feedback that did not say ``solved``: counted as not solved."""
    adopted: int = 0
    """解忧超市: tickets the unit adopted from the shelf (its first assignment)."""

    def count(self, t: TicketFacts, responded: bool | None = None) -> None:
        """``responded``: for a committee member, whether it reported in by its deadline."""
        self.received += 1
        self.responded += t.responded if responded is None else responded
        self.adopted += t.adopted
        if t.feedback:
            self.with_feedback += 1
            self.solved += t.solved is True
            self.unsaid += t.solved is None
            self.satisfied += (t.satisfaction or 0) >= SATISFIED_AT_LEAST

    def rates(self, policy: Policy) -> dict[str, Any]:
        response = _share(self.responded, self.received)
        resolution = _share(self.solved, self.with_feedback)
        satisfaction = _share(self.satisfied, self.with_feedback)
        return {
            "received": self.received,
            "adopted": self.adopted,
            "responded": self.responded,
            "response_rate": _round(response),
            "with_feedback": self.with_feedback,
            "solved": self.solved,
            "resolution_rate": _round(resolution),
            "satisfied": self.satisfied,
            "satisfaction_rate": _round(satisfaction),
            "score": score(policy, response, resolution, satisfaction),
        }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 4)


def score(
    policy: Policy, response: float | None, resolution: float | None, satisfaction: float | None
) -> float | None:
    """100 × the weighted sum; a rate with nothing to rest on (no feedback yet) is left out and
    the other weights are scaled up to 1."""
    w = policy.assessment.weights
    parts = [
        (w.response, response),
        (w.resolution, resolution),
        (w.satisfaction, satisfaction),
    ]
    known = [(weight, rate) for weight, rate in parts if rate is not None]
    total = sum(weight for weight, _ in known)
    if not known or total == 0:
        return None
    return round(100 * sum(weight * rate for weight, rate in known) / total, 2)


def unit_of(t: TicketFacts, by: str, grid: Grid) -> str | None:
    """The unit of ``by`` that the ticket's first assignment went to (or lies under)."""
    if t.assignee is None:
        return None
    if by == "department":
        return t.assignee if t.assignee_kind == "department" else None
    placed = grid.by_id.get(t.assignee.removesuffix(CONVENER_SUFFIX))
    if placed is None:
        return None
    if by == "street":
        return placed.street
    if by == "community":
        return placed.community
    return placed.id if placed.level == "microgrid" else None


def unit_name(unit_id: str, policy: Policy) -> str:
    dep = policy.department_by_id.get(unit_id)
    if dep is not None:
        return dep.name
    member = grid_of(policy).members.get(unit_id)
    if member is not None:
        org = f"({member[1].org})" if member[1].org else ""
        return f"{member[1].name}{org}"
    placed = grid_of(policy).by_id.get(unit_id)
    return placed.name if placed is not None else unit_id


def ranked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best score first; equal scores share a rank (1, 2, 2, 4)."""
    rows.sort(key=lambda r: (-(r["score"] if r["score"] is not None else -1), r["unit_id"]))
    for i, row in enumerate(rows):
        same = i > 0 and rows[i - 1]["score"] == row["score"]
        row["rank"] = rows[i - 1]["rank"] if same else i + 1
    return rows


def assessment(
    facts: Iterable[TicketFacts], period: Period, by: str, policy: Policy
) -> dict[str, Any]:
    """The report as JSON-ready data: rows, the district's total, a trend and notes."""
    if by not in BY_VALUES:
        raise ValueError(f"by must be one of {', '.join(BY_VALUES)}, not {by!r}")
    grid = grid_of(policy)
    units: dict[str, Tally] = {}
    total, trend = Tally(), {b: Tally() for b in period.buckets()}
    invalid = unplaced = 0
    for t in facts:
        if not period.holds(t.received_at) or t.assignee is None:
            continue
        if t.invalid:
            invalid += 1
            continue
        total.count(t)
        trend[period.bucket(t.received_at)].count(t)
        if by == "member":  # 吹哨报到: a member's record is the tickets it was whistled in on
            for member, report_by, reported in t.summons:
                on_time = reported is not None and reported <= report_by
                units.setdefault(member, Tally()).count(t, responded=on_time)
            continue
        unit = unit_of(t, by, grid)
        if unit is None:
            unplaced += 1
            continue
        units.setdefault(unit, Tally()).count(t)
    rows = [
        {"unit_id": u, "unit_name": unit_name(u, policy), **tally.rates(policy)}
        for u, tally in units.items()
    ]
    w = policy.assessment.weights
    return {
        "report": "assessment",
        "period": period.as_json(),
        "by": by,
        "policy": policy.version,
        "weights": {
            "response": w.response,
            "resolution": w.resolution,
            "satisfaction": w.satisfaction,
        },
        "rows": ranked(rows),
        "total": total.rates(policy),
        "trend": [{"bucket": b, **tally.rates(policy)} for b, tally in trend.items()],
        "excluded": {"invalid": invalid, "not_in_any_unit": unplaced},
        "notes": notes(total, invalid, unplaced, by),
    }


def notes(total: Tally, invalid: int, unplaced: int, by: str) -> list[str]:
    if by == "member":
        return [
            "兼职委员一行统计其被吹哨报到的工单(按受理时间落在统计期内)。",
            "响应率:在报到时限内报到(report_in)的次数占被吹哨次数的比例。",
            "解决率、满意率:这些工单有回访的,按最近一次回访计;满意指满意度 ≥ 4。",
            f"无效件 {invalid} 件不计入任何比率;全区合计为统计期内全部工单。",
        ]
    found = [
        "受理量按首次派单的承办单位统计,以受理时间(北京时间)落在统计期内为准。",
        "响应率:在首次派单的签收时限内签收的工单占比。",
        "解决率、满意率:以有回访的工单为分母,按最近一次回访计;满意指满意度 ≥ 4。",
        f"无效件 {invalid} 件不计入任何比率。",
        f"回访未说明是否解决的 {total.unsaid} 件按未解决计(只有 solved: true 计为已解决)。",
        "尚无回访的单位,综合得分只按响应率计(其余权重按比例放大)。",
    ]
    if total.adopted:
        found.append(f"解忧超市货架上被认领的 {total.adopted} 件计入认领单位(adopted 列)。")
    if unplaced:
        where = "部门" if by == "department" else "网格"
        found.append(
            f"首次派往{where}以外的 {unplaced} 件(如区指挥中心、部门)不在本表各行,计入全区合计。"
        )
    return found
