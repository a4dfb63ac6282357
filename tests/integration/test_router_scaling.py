"""``router_scaling``: the drain with one and with two router processes, on the real broker."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from dispatch.bench.scaling import router_scaling
from dispatch.bench.workload import encoded, requests
from schemas.policy import load_policy
from services.common.settings import Settings

pytestmark = pytest.mark.timeout(600)


async def test_router_scaling_drains_the_whole_burst_with_one_and_with_two_routers(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        partitions=4,
        state_dir=tmp_path,
        log_level="WARNING",
    )
    records = encoded(requests(load_policy(None, 1.0), 200, tag=uuid.uuid4().hex[:8]))
    result = await router_scaling(settings, kafka_bootstrap, records)
    assert result["events"] == 200 and result["partitions"] == 4
    assert result["routers_1"] > 0 and result["routers_2"] > 0
    assert result["speedup"] == round(result["routers_2"] / result["routers_1"], 2)
