"""五闪积分 outside the kernel: who may report for a volunteer, the volunteer adapter's native
kinds, and the ranking (window, ties, masked names)."""

from __future__ import annotations

from datetime import datetime, timedelta

from schemas.events import PointsAwardedData
from schemas.words import CHINA
from services.common.privacy import mask_name
from services.intake.adapters import ADAPTERS, Catalog
from services.intake.models import RequestIn, source_errors
from services.reports.volunteers import Award, ranking

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=CHINA)


def test_only_the_volunteer_source_reports_for_a_volunteer_with_both_fields() -> None:
    both = RequestIn(external_id="v1", description="灯坏了", volunteer_id="WS-1", kind="photo")
    assert source_errors(both, "volunteer") == []
    assert [e["pointer"] for e in source_errors(both, "hotline-12345")] == [
        "#/volunteer_id",
        "#/kind",
    ]
    alone = RequestIn(external_id="v2", description="灯坏了", volunteer_id="WS-1")
    assert [e["pointer"] for e in source_errors(alone, "volunteer")] == ["#/kind"]
    plain = RequestIn(external_id="v3", description="灯坏了")
    assert source_errors(plain, "volunteer") == []


def test_the_volunteer_adapter_maps_the_five_flashes_to_kinds() -> None:
    adapter = ADAPTERS["volunteer"]
    catalog = Catalog(names={})
    request = adapter.adapt(adapter.example, catalog)
    assert (request.volunteer_id, request.kind) == ("WS-RIDER-0231", "photo")  # 随手拍
    for native, kind in (
        ("闪帮", "help"),
        ("闪宣", "publicity"),
        ("闪除", "remove"),
        ("闪报", "report"),
    ):
        assert adapter.adapt({**adapter.example, "上报类型": native}, catalog).kind == kind
    anonymous = {**adapter.example, "志愿者": {"姓名": "黄明"}}
    assert adapter.adapt(anonymous, catalog).volunteer_id is None  # no id: no points to earn
    assert adapter.adapt(anonymous, catalog).kind is None


def award(n: int, volunteer: str, points: int, hours: float, kind: str = "photo") -> Award:
    data = PointsAwardedData(
        ticket_id=f"T{n}",
        volunteer_id=volunteer,
        kind=kind,
        points=points,  # type: ignore[arg-type]
    )
    return Award(f"a{n}", T0 + timedelta(hours=hours), data)


NAMES = {"T1": "黄明", "T2": "黄明", "T3": "赖清香", "T4": "谭秀清", "T5": None}


def masked(ticket_id: str) -> str | None:
    return mask_name(NAMES.get(ticket_id))


def test_the_ranking_sums_points_in_the_window_with_shared_ranks_and_masked_names() -> None:
    awards = [
        award(1, "WS-1", 10, 1, "report"),
        award(2, "WS-1", 2, 2),
        award(3, "WS-2", 12, 3, "help"),
        award(4, "WS-3", 5, 4),
        award(5, "WS-4", 5, 50),  # outside the window
    ]
    found = ranking(awards, masked, T0, T0 + timedelta(days=1), 10)
    assert [(s.rank, s.volunteer_id, s.points) for s in found.volunteers] == [
        (1, "WS-1", 12),  # two reports beat one at equal points
        (1, "WS-2", 12),
        (3, "WS-3", 5),
    ]
    first = found.volunteers[0]
    assert (
        first.name == "黄*" and first.reports == 2 and first.by_kind == {"report": 10, "photo": 2}
    )
    assert found.volunteers[2].name == "谭*清"
    assert found.total == 3
    everything = ranking(awards, masked, None, None, 1)
    assert len(everything.volunteers) == 1 and everything.total == 4


def test_names_are_masked_and_digits_never_shown() -> None:
    assert mask_name("黄明") == "黄*"
    assert mask_name("欧阳秀清") == "欧**清"
    assert mask_name("骑手13905981234") is not None and "13905981234" not in mask_name(
        "骑手13905981234"
    )  # type: ignore[operator]
    assert mask_name(None) is None and mask_name("") is None
