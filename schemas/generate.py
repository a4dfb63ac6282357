"""Generate the JSON Schema of every event and the AsyncAPI 3 document of the topics.

``python -m schemas.generate`` (``make schemas``) writes them to ``generated/``; a test
fails when the checked-in copies drift from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas import topics
from schemas.envelope import CloudEvent
from schemas.events import EVENT_TYPES

GENERATED = Path(__file__).parent / "generated"


def event_type(model: type[CloudEvent]) -> str:
    default: str = model.model_fields["type"].default
    return default


def json_schema(model: type[CloudEvent]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:dispatch:schema:{event_type(model)}",
        **schema,
    }


def asyncapi() -> dict[str, Any]:
    by_topic: dict[str, list[type[CloudEvent]]] = {}
    for model in EVENT_TYPES:
        by_topic.setdefault(model.TOPIC, []).append(model)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in topics.CATALOG:
        channel_id = spec.name.replace(".", "_")
        refs = {}
        for model in by_topic.get(spec.name, []):
            name = event_type(model).replace(".", "_")
            messages[name] = {
                "name": event_type(model),
                "contentType": "application/cloudevents+json",
                "headers": {
                    "type": "object",
                    "properties": {"content-type": {"const": "application/cloudevents+json"}},
                },
                "payload": {"$ref": f"./{event_type(model)}.schema.json"},
            }
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        if spec.name == topics.INTAKE_RAW:
            messages["raw_source_payload"] = {
                "name": "raw source payload",
                "contentType": "application/json",
                "headers": {
                    "type": "object",
                    "required": ["dispatch-source"],
                    "properties": {
                        "dispatch-source": {"type": "string", "description": "the source adapter"}
                    },
                },
                "payload": {"type": "object"},
            }
            refs["raw_source_payload"] = {"$ref": "#/components/messages/raw_source_payload"}
        channels[channel_id] = {
            "address": spec.name,
            "description": f"{spec.holds}. Written by {spec.written_by}. Key: the ticket id "
            f"(UTF-8). cleanup.policy={spec.cleanup}.",
            "messages": refs,
        }
        operations[f"publish_{channel_id}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"written by {spec.written_by}",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "接诉即办 dispatch engine",
            "version": "1.0.0",
            "description": "Topics and CloudEvents of the dispatch engine (CONTRACT.md).",
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render() -> dict[str, str]:
    """File name → text of every generated document."""
    files = {
        f"{event_type(model)}.schema.json": json.dumps(
            json_schema(model), ensure_ascii=False, indent=2, sort_keys=True
        )
        + "\n"
        for model in EVENT_TYPES
    }
    files["asyncapi.json"] = (
        json.dumps(asyncapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    )
    return files


def write(directory: Path = GENERATED) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
