"""Cases, their notes and interactions, tasks ("get next"), and the intake entry point."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Header, Query, Router, Status

from casework.api.auth import actor_of
from casework.api.inbound import accepted_status, prefers_async, queued_answer, queued_headers
from casework.api.schemas import (
    CaseIn,
    CaseOut,
    CasePatch,
    ErrorOut,
    InboundIn,
    InboundOut,
    InboundQueuedOut,
    InboundStatusOut,
    InteractionOut,
    NoteIn,
    ResolveIn,
    ServiceTypeName,
    TaskOut,
)
from casework.cases import services
from casework.cases.queries import CaseFilter, access_case, list_cases
from casework.customers.queries import access_customer
from casework.intake.queue import enqueue, get_entry
from casework.intake.services import ingest
from casework.interactions.queries import list_for_case
from casework.routing.queries import get_agent

router = Router(tags=["cases"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.post("/cases", response={201: CaseOut, **ERRORS})
def create_case(request: HttpRequest, body: CaseIn):  # noqa: ANN201
    actor = actor_of(request)
    if body.customer_id is not None:
        access_customer(actor, body.customer_id)
    new = services.NewCase(
        case_type=services.get_case_type(body.case_type),
        subject=body.subject,
        customer_id=body.customer_id,
        priority=body.priority,
        service_type=body.service_type,
        queue=services.get_queue(body.queue) if body.queue else None,
        parent_id=access_case(actor, body.parent_id).pk if body.parent_id else None,
        data=body.data,
    )
    return Status(201, services.open_case_atomically(new, actor=actor))


@router.get("/cases", response={200: list[CaseOut], **ERRORS})
def search_cases(  # noqa: ANN201
    request: HttpRequest,
    status: list[str] = Query(None),
    queue: str | None = None,
    owner_id: int | None = None,
    customer_id: int | None = None,
    service_type: ServiceTypeName | None = None,
    is_open: bool | None = None,
    offset: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=200),
):
    """Cases the caller may see, most urgent and most recently active first."""
    case_filter = CaseFilter(
        status=status or (),
        queue_code=queue,
        owner_id=owner_id,
        customer_id=customer_id,
        service_type=service_type,
        is_open=is_open,
    )
    return list_cases(actor_of(request), case_filter, offset=offset, limit=limit)


@router.get("/cases/{case_id}", response={200: CaseOut, **ERRORS})
def get_case(request: HttpRequest, case_id: int):  # noqa: ANN201
    return access_case(actor_of(request), case_id)


@router.patch("/cases/{case_id}", response={200: CaseOut, **ERRORS})
def update_case(request: HttpRequest, case_id: int, body: CasePatch):  # noqa: ANN201
    """Change status (new/open/pending), priority, queue, service type, subject, owner.
    Resolving has its own endpoint because it needs a resolution code."""
    actor = actor_of(request)
    case = access_case(actor, case_id)
    given = body.dict(exclude_unset=True)
    changes = services.CaseChanges(
        status=given.get("status"),
        priority=given.get("priority"),
        queue=services.get_queue(given["queue"]) if given.get("queue") else None,
        service_type=given.get("service_type"),
        subject=given.get("subject"),
    )
    case = services.update_case(case, changes, actor=actor)
    if "owner_id" in given:
        owner = get_agent(given["owner_id"]) if given["owner_id"] is not None else None
        case = services.assign_case(case, owner, actor=actor)
    return access_case(actor, case.pk)


@router.post("/cases/{case_id}/notes", response={201: CaseOut, **ERRORS})
def add_note(request: HttpRequest, case_id: int, body: NoteIn):  # noqa: ANN201
    actor = actor_of(request)
    case = access_case(actor, case_id)
    services.add_note(case, body.text, actor=actor)
    return Status(201, access_case(actor, case.pk))


@router.post("/cases/{case_id}/resolve", response={200: CaseOut, **ERRORS})
def resolve(request: HttpRequest, case_id: int, body: ResolveIn):  # noqa: ANN201
    actor = actor_of(request)
    case = access_case(actor, case_id)
    services.resolve_case(case, resolution_code=body.resolution_code, note=body.note, actor=actor)
    return access_case(actor, case.pk)


@router.get("/cases/{case_id}/interactions", response={200: list[InteractionOut], **ERRORS})
def case_interactions(request: HttpRequest, case_id: int):  # noqa: ANN201
    case = access_case(actor_of(request), case_id)
    return list_for_case(case.pk)


@router.post("/tasks/next", response={200: TaskOut, 204: None, **ERRORS})
def get_next(request: HttpRequest):  # noqa: ANN201
    """Take the most urgent waiting task from the caller's queues; 204 if none waits."""
    task = services.get_next_task(actor_of(request))
    if task is None:
        return Status(204, None)
    return task


PREFER_DESCRIPTION = (
    "`respond-async` (RFC 7240): check the message, store it and answer 202 at once; the "
    "worker ingests it moments later (`GET /api/v1/inbound/{id}` tells the outcome)."
)


@router.post(
    "/inbound",
    response={
        200: InboundOut | InboundQueuedOut,
        201: InboundOut,
        202: InboundQueuedOut,
        **ERRORS,
    },
    openapi_extra={
        # An int key, as ninja's own: deep-merged into the 202 response it generates.
        "responses": {
            202: {
                "description": "Accepted for ingestion (with `Prefer: respond-async`)",
                "headers": {
                    "Preference-Applied": {
                        "schema": {"type": "string", "example": "respond-async"}
                    },
                    "Location": {"schema": {"type": "string", "example": "/api/v1/inbound/81723"}},
                },
            }
        }
    },
)
def inbound(  # noqa: ANN201
    request: HttpRequest,
    body: InboundIn,
    response: HttpResponse,
    prefer: str = Header(
        "", alias="Prefer", description=PREFER_DESCRIPTION, example="respond-async"
    ),
):
    """Any channel's message through the intake pipeline: identify the customer, continue
    the referenced case or open a new one, record the interaction, queue a task.
    201 for a first delivery; 200 with the original result for a repeated external_id.

    With `Prefer: respond-async` the message is checked as fully as before (422 or 404 for
    what could not be ingested), stored, and answered with 202 and its status URL; the
    worker ingests it in a batch moments later. A repeated external_id answers the entry
    stored first with 200. The answer has `Preference-Applied: respond-async`."""
    actor_of(request)
    message = body.message()
    if prefers_async(prefer):
        accepted = enqueue(message)
        for name, value in queued_headers(accepted).items():
            response[name] = value
        return Status(accepted_status(accepted), queued_answer(accepted))
    result = ingest(message)
    body_out = {
        "case": result.case,
        "interaction_id": result.interaction.pk,
        "is_new_case": result.is_new_case,
        "is_duplicate": result.is_duplicate,
        "customer_match": result.customer_match,
    }
    return Status((200 if result.is_duplicate else 201), body_out)


@router.get("/inbound/{entry_id}", response={200: InboundStatusOut, **ERRORS})
def inbound_status(request: HttpRequest, entry_id: int):  # noqa: ANN201
    """The outcome of a message accepted with `Prefer: respond-async`: `queued` (waiting,
    or tried again after a passing failure), `ingested` (with its case and interaction) or
    `failed` (with the reason; the message is kept)."""
    actor_of(request)
    return get_entry(entry_id)
