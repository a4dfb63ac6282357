"""The operator's actions on a ticket, forwarded server-side to the intake's
``POST /v1/tickets/{id}/updates`` (so the browser needs no CORS and no intake address).

The browser posts a form to ``/api/view/tickets/{id}/actions``; the console checks the operator's
token, builds the update body (``actor`` is the token's ``sub``), and forwards it with the
operator's token as ``Authorization: Bearer`` and an ``Idempotency-Key`` per form and action (a
double click is one update). The answer is the actions panel again, with the intake's verdict on
top: accepted with its event id, or the problem document's title, detail and field errors.

Transitional: until the intake verifies people's tokens (the ``auth`` issue), it knows API keys
only. ``DISPATCH_CONSOLE_INTAKE_KEY``, when set, is the key the console presents instead of the
operator's token; the operator is still named in ``actor``. Unset by default; drop it once the
intake takes operator tokens.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from services.common.privacy import mask_text
from services.console.signin import Principal
from services.console.site import Console, Operator, operator

# action: its Chinese name and the fields it carries besides action, actor and note
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "approve": ("批准", ("request", "to")),
    "refuse": ("驳回", ("request",)),
    "reassign": ("改派", ("to",)),
    "reclassify": ("重新分类", ("tier", "category")),
    "invalidate": ("无效件", ("reason_code",)),
    "split": ("拆分", ()),
    "merge": ("合并", ("into",)),
    "remind": ("催办", ()),
    "feedback": ("回访", ("satisfaction", "solved", "contacted")),
    "reopen": ("重新办理", ()),
    "supplement": ("补充说明", ()),
}
NUMBERS = {"satisfaction"}
FLAGS = {"solved", "contacted"}
TIMEOUT_S = 10.0


class ActionError(ValueError):
    """The form names no action the console knows."""


def update_body(form: dict[str, str], actor: str) -> dict[str, Any]:
    """The intake's update body for ``form``; fields left empty are left out."""
    action = form.get("action", "")
    if action not in ACTIONS:
        raise ActionError(f"未知操作 {action[:40]!r}")
    body: dict[str, Any] = {"action": action, "actor": actor}
    if form.get("note", "").strip():
        body["note"] = form["note"].strip()
    for name in ACTIONS[action][1]:
        value = form.get(name, "").strip()
        if not value:
            continue
        if name in NUMBERS:
            body[name] = int(value) if value.isdigit() else value
        elif name in FLAGS:
            body[name] = value in ("on", "true", "1")
        else:
            body[name] = value
    return body


def verdict(status: int, answer: dict[str, Any]) -> dict[str, Any]:
    """What the operator reads of the intake's answer (masked: it may quote their input)."""
    if 200 <= status < 300:
        return {"ok": True, "status": status, "event_id": answer.get("event_id", "")}
    errors = [
        mask_text(f"{e.get('pointer', '')} {e.get('detail', '')}".strip())
        for e in answer.get("errors", []) or []
        if isinstance(e, dict)
    ]
    return {
        "ok": False,
        "status": status,
        "title": mask_text(str(answer.get("title", ""))),
        "detail": mask_text(str(answer.get("detail", ""))),
        "errors": errors[:10],
    }


async def forward(
    console: Console, ticket_id: str, body: dict[str, Any], key: str, who: Principal
) -> dict[str, Any]:
    settings = console.settings
    credential = who.token  # the operator's own token: the intake checks what it may do
    url = f"{settings.intake_base}/v1/tickets/{ticket_id}/updates"
    headers = {"Authorization": f"Bearer {credential}", "Idempotency-Key": key}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            response = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        return {
            "ok": False,
            "status": 502,
            "title": "受理服务不可达",
            "detail": type(exc).__name__,
            "errors": [],
        }
    try:
        answer = response.json()
    except ValueError:
        answer = {"title": f"HTTP {response.status_code}", "detail": response.text[:200]}
    return verdict(response.status_code, answer if isinstance(answer, dict) else {})


def router(console: Console) -> APIRouter:
    api = APIRouter(dependencies=[Depends(operator)])

    def panel(ticket_id: str, result: dict[str, Any] | None = None) -> HTMLResponse:
        """The actions panel; after a submit it tells the page (``HX-Trigger: acted``) to
        reload the ticket's timeline at once, whatever the intake answered."""
        page = console.render(
            "actions.html",
            t=console.board.tickets.get(ticket_id),
            ticket_id=ticket_id,
            units=console.units(),
            invalid_reasons=console.policy.lifecycle.invalid_reasons,
            result=result,
            actions=ACTIONS,
            nonce=uuid.uuid4().hex,  # a fresh form: the next submit is a new update
        )
        return HTMLResponse(page, headers={"HX-Trigger": "acted"} if result else None)

    @api.get("/api/view/tickets/{ticket_id}/actions")
    async def actions(ticket_id: str) -> HTMLResponse:
        return panel(ticket_id[:40])

    @api.post("/api/view/tickets/{ticket_id}/actions")
    async def act(ticket_id: str, request: Request, who: Operator) -> HTMLResponse:
        """Rendered as a view (200) whatever the intake said: the verdict is the content."""
        form = {k: str(v) for k, v in (await request.form()).items()}
        ticket_id = ticket_id[:40]
        try:
            body = update_body(form, who.sub)
        except ActionError as exc:
            result = {
                "ok": False,
                "status": 422,
                "title": "无法提交",
                "detail": str(exc),
                "errors": [],
            }
        else:
            key = f"console:{form.get('nonce', uuid.uuid4().hex)[:64]}:{body['action']}"
            result = await forward(console, ticket_id, body, key, who)
        result["action"] = ACTIONS.get(form.get("action", ""), ("", ()))[0]
        return panel(ticket_id, result)

    return api
