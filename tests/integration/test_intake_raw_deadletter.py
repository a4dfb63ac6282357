"""What the raw consumer cannot read is dead-lettered with a reason a person can act on, the
original bytes and where it came from; the consumer moves on to the good records after it."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from dispatch.stack import Stack
from schemas import topics
from schemas.envelope import ticket_id_for
from tests.kafka import produce, read_until, with_type
from tests.stacks import running

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "intake"
REJECTED = "dispatch.input.rejected"


@pytest.fixture(scope="module")
def intake(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("raw")
    # one partition: "later" records are really later
    with running(kafka_bootstrap, state, ("intake",), partitions=1) as started:
        yield started


async def test_bad_records_are_dead_lettered_and_later_good_records_still_processed(
    intake: Stack,
) -> None:
    prefix = intake.settings.topic_prefix
    raw_topic = f"{prefix}{topics.INTAKE_RAW}"
    good = json.loads((SAMPLES / "ehu.json").read_text("utf-8"))
    bad: list[tuple[bytes, list[tuple[str, bytes]]]] = [
        (b"\x89PNG\r\n\x1a\n not a work order", [("dispatch-source", b"ehu")]),
        (json.dumps({"编号": 1, "内容": "路灯坏了"}).encode(), [("dispatch-source", b"ehu")]),
        (json.dumps(good, ensure_ascii=False).encode(), [("dispatch-source", b"wechat-group")]),
        (json.dumps(good, ensure_ascii=False).encode(), []),
    ]
    for value, headers in bad:
        await produce(intake.bootstrap, raw_topic, value, key=b"k", headers=headers)
    await produce(
        intake.bootstrap,
        raw_topic,
        json.dumps(good, ensure_ascii=False).encode(),
        headers=[("dispatch-source", b"ehu")],
    )

    letters_topic = f"{prefix}{topics.DEADLETTER}"
    records = await read_until(
        intake.bootstrap, letters_topic, lambda rs: len(with_type(rs, REJECTED)) >= 4
    )
    letters: list[dict[str, Any]] = [orjson.loads(r.value) for r in with_type(records, REJECTED)]
    assert len(letters) == 4
    by_offset = {letter["data"]["origin"]["offset"]: letter["data"] for letter in letters}
    assert sorted(by_offset) == [0, 1, 2, 3]
    for offset, (value, _) in enumerate(bad):
        data = by_offset[offset]
        assert base64.b64decode(data["original"]) == value
        assert data["origin"]["topic"] == raw_topic and data["origin"]["partition"] == 0
        assert data["origin"]["service"] == "intake"
    assert "不是合法的 UTF-8 JSON" in by_offset[0]["reason"]
    assert "事件编号: 缺少必填字段" in by_offset[1]["reason"]
    assert "事件描述: 缺少必填字段 (Field required)" in by_offset[1]["errors"]
    assert "未知来源 'wechat-group'" in by_offset[2]["reason"]
    assert "hotline-12345" in by_offset[2]["reason"]  # says which sources exist
    assert "缺少记录头 dispatch-source" in by_offset[3]["reason"]

    ticket_id = ticket_id_for("ehu", good["事件编号"])
    requests = await read_until(
        intake.bootstrap,
        f"{prefix}{topics.REQUESTS}",
        lambda rs: bool(with_type(rs, "dispatch.request.received", ticket_id)),
    )
    assert len(with_type(requests, "dispatch.request.received")) == 1


async def test_a_duplicate_on_the_raw_topic_is_not_written_twice(intake: Stack) -> None:
    prefix = intake.settings.topic_prefix
    post = json.loads((SAMPLES / "miniprogram.json").read_text("utf-8"))
    value = json.dumps(post, ensure_ascii=False).encode()
    headers = [("dispatch-source", b"miniprogram")]
    for _ in range(2):
        await produce(intake.bootstrap, f"{prefix}{topics.INTAKE_RAW}", value, headers=headers)
    marker = {**post, "帖子编号": "JYCS-MARKER"}
    await produce(
        intake.bootstrap,
        f"{prefix}{topics.INTAKE_RAW}",
        json.dumps(marker, ensure_ascii=False).encode(),
        headers=headers,
    )
    ticket_id = ticket_id_for("miniprogram", post["帖子编号"])
    marker_id = ticket_id_for("miniprogram", "JYCS-MARKER")
    records = await read_until(
        intake.bootstrap,
        f"{prefix}{topics.REQUESTS}",
        lambda rs: bool(with_type(rs, "dispatch.request.received", marker_id)),
    )
    assert len(with_type(records, "dispatch.request.received", ticket_id)) == 1


async def test_a_record_too_big_for_its_dead_letter_is_cut_with_its_digest_and_does_not_block(
    intake: Stack,
) -> None:
    prefix = intake.settings.topic_prefix
    raw_topic = f"{prefix}{topics.INTAKE_RAW}"
    huge = b"\xff" + b"x" * 900_000  # not JSON; base64 of it would pass the 1 MB record limit
    await produce(intake.bootstrap, raw_topic, huge, headers=[("dispatch-source", b"ehu")])
    good = json.loads((SAMPLES / "ehu.json").read_text("utf-8"))
    good["事件编号"] = "EHU-AFTER-HUGE"
    await produce(
        intake.bootstrap,
        raw_topic,
        json.dumps(good, ensure_ascii=False).encode(),
        headers=[("dispatch-source", b"ehu")],
    )
    ticket_id = ticket_id_for("ehu", "EHU-AFTER-HUGE")
    await read_until(
        intake.bootstrap,
        f"{prefix}{topics.REQUESTS}",
        lambda rs: bool(with_type(rs, "dispatch.request.received", ticket_id)),
    )
    records = await read_until(
        intake.bootstrap,
        f"{prefix}{topics.DEADLETTER}",
        lambda rs: any(len(r.value or b"") > 300_000 for r in with_type(rs, REJECTED)),
    )
    letter = orjson.loads(max(with_type(records, REJECTED), key=lambda r: len(r.value)).value)
    kept = base64.b64decode(letter["data"]["original"])
    assert huge.startswith(kept) and 0 < len(kept) < len(huge)
    assert any(hashlib.sha256(huge).hexdigest() in e for e in letter["data"]["errors"])
