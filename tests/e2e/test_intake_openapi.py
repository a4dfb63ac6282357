"""schemathesis against the intake's own OpenAPI document, on a running intake and the real
broker: no 5xx, and every response (status, media type, headers, body) is the documented one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dispatch.broker import free_port
from dispatch.stack import Stack
from services.common.settings import Settings

EXAMPLES = 30
KEY = {"Authorization": "Bearer demo-hotline-12345"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def running_intake(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    config = Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        http_port=free_port(),
        console_port=free_port(),
        state_dir=tmp_path_factory.mktemp("openapi"),
        partitions=3,
    )
    stack = Stack(config, services=("intake",))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def test_no_5xx_and_every_response_is_the_documented_one(running_intake: Stack) -> None:
    api = schemathesis.openapi.from_url(f"{running_intake.intake_url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 11
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=KEY, checks=CHECKS, timeout=30)

        try:
            conforms()
        except Exception as exc:
            raise AssertionError(f"{operation.label}: {exc}") from exc
