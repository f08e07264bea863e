"""The JSON API: create a flow, read it, send it an event; its routes and OpenAPI schema
built from the flows' declarations.

- ``POST /flows/{flow_name}`` begins a flow (201), ``GET /flows/{flow_id}`` reads one,
  ``POST /flows/{flow_id}/events/{event}`` sends an event with its fields as a JSON object;
  each answers the flow (`regflow_api._answers.flow_json`) with the status its errors call for.
- One route per flow and per event name, so the schema lists every flow and every event's
  body (`regflow_api._bodies.body_model`); a name no flow declares gets a JSON 404.
- Every refusal is JSON with a catalogued code, field and vi/en message: bodies over
  `ApiSettings.max_body` (413), POSTs without the anti-CSRF header (403), malformed bodies (400),
  fields of the wrong kind (422); a service that fails is a 503 and the flow stays resumable.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from starlette.exceptions import HTTPException

from regflow_api._answers import errors_json, flow_json, status_of
from regflow_api._bodies import body_model, parse, refusal
from regflow_api._limits import BodyLimit
from regflow_api._settings import ApiSettings
from regflow_api._wiring import FLOWS, open_engine

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

    import pydantic

    from regflow import AsyncEngine, FlowError, FlowView
    from regflow.declare import FlowSpec
    from regflow.ports import AsyncBhxhRegistry, AsyncSmsGateway, BhxhRegistry, SmsGateway

STATIC = Path(__file__).parent.parent / "static"
_FLOW_ANSWER = {"description": "The flow: state, errors, allowed events, ui nodes"}
_REFUSED = {"description": "Refused: errors [{code, field, message: {vi, en}}]"}


class _Api:
    """The routes' shared state: the engine (once the app runs), the declarations by name and
    version, and each event's body models (per flow version)."""

    def __init__(self, specs: Sequence[FlowSpec], engine: AsyncEngine | None) -> None:
        self.engine = engine
        self.specs = {(spec.name, spec.version): spec for spec in specs}
        self.bodies: dict[tuple[str, int, str], type[pydantic.BaseModel]] = {
            (spec.name, spec.version, name): body_model(spec, name, info)
            for spec in specs
            for name, info in spec.events.items()
        }

    def running(self) -> AsyncEngine:
        assert self.engine is not None, "the app's lifespan opens the engine"  # noqa: S101
        return self.engine

    def answer(self, view: FlowView, *, ok: int = 200) -> JSONResponse:
        return JSONResponse(flow_json(view, self.specs), status_code=status_of(view.errors, ok=ok))


def refused(status: int, errors: tuple[FlowError, ...]) -> JSONResponse:
    return JSONResponse({"errors": errors_json(errors)}, status_code=status)


def create_app(
    engine: AsyncEngine | None = None,
    settings: ApiSettings | None = None,
    *,
    bhxh: AsyncBhxhRegistry | BhxhRegistry | None = None,
    sms: AsyncSmsGateway | SmsGateway | None = None,
) -> FastAPI:
    """The app on `engine`, or on the one `settings` describe (opened when the app starts,
    in its event loop, as an async pool must be), with `bhxh` and `sms` if given in place of
    the settings' services (`open_engine`)."""
    settings = settings or ApiSettings.from_env()
    api = _Api(engine.flows if engine else FLOWS, engine)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if api.engine is not None:
            yield
            return
        async with open_engine(settings, bhxh=bhxh, sms=sms) as opened:
            api.engine = opened
            yield

    app = FastAPI(title="regflow JSON API", version="1", lifespan=lifespan)
    _routes(app, api)
    app.add_exception_handler(HTTPException, _http_refusal)
    app.add_middleware(BodyLimit, max_body=settings.max_body, csrf_header=settings.csrf_header)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", *([settings.csrf_header] if settings.csrf_header else [])],
    )
    return app


async def _http_refusal(_: Request, exc: Exception) -> JSONResponse:
    """Starlette's own refusals (no such route, no such method on it) in the API's shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return refused(status, (refusal("request.not_found"),))


def _client(request: Request) -> str | None:
    """Who asks, for the engine's limits: the peer's address (behind a proxy, the app
    server's `--forwarded-allow-ips` makes it the client's)."""
    return request.client.host if request.client else None


def _routes(app: FastAPI, api: _Api) -> None:
    names = sorted({spec.name for spec in api.specs.values()})
    for name in names:
        app.add_api_route(
            f"/flows/{name}",
            _starter(api, name),
            methods=["POST"],
            name=f"start_{name}",
            status_code=201,
            responses={201: _FLOW_ANSWER, 404: _REFUSED, 429: _REFUSED, 503: _REFUSED},
        )
    app.add_api_route(
        "/flows/{flow_name}", _unknown_flow, methods=["POST"], include_in_schema=False
    )

    async def read(flow_id: str) -> JSONResponse:
        return api.answer(await api.running().view(flow_id))

    app.add_api_route(
        "/flows/{flow_id}", read, methods=["GET"], responses={200: _FLOW_ANSWER, 404: _REFUSED}
    )
    events = sorted({event for spec in api.specs.values() for event in spec.events})
    for event in events:
        app.add_api_route(
            f"/flows/{{flow_id}}/events/{event}",
            _sender(api, event),
            methods=["POST"],
            name=f"send_{event}",
            openapi_extra={"requestBody": _request_body(api, event)},
            responses=dict.fromkeys((400, 403, 404, 409, 413, 422, 429, 503), _REFUSED),
        )
    app.add_api_route(
        "/flows/{flow_id}/events/{event}", _unknown_event, methods=["POST"], include_in_schema=False
    )
    app.add_api_route("/", _index, methods=["GET"], include_in_schema=False)


def _starter(api: _Api, name: str) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def start(request: Request) -> JSONResponse:
        return api.answer(await api.running().start(name, client=_client(request)), ok=201)

    start.__doc__ = f"Begin a flow of `{name}`."
    return start


def _sender(api: _Api, event: str) -> Callable[[str, Request], Awaitable[JSONResponse]]:
    async def send(flow_id: str, request: Request) -> JSONResponse:
        engine = api.running()
        view = await engine.view(flow_id)
        model = api.bodies.get((view.flow or "", view.flow_version, event))
        if view.state is None:
            return api.answer(view)
        if model is None:
            return refused(404, (refusal("event.invalid"),))
        fields = parse(model, await request.body())
        if isinstance(fields, tuple):
            malformed = any(error.code == "request.malformed" for error in fields)
            return refused(400 if malformed else 422, fields)
        payload = api.specs[view.flow or "", view.flow_version].events[event].payload(**fields)
        return api.answer(await engine.send(flow_id, payload, client=_client(request)))

    send.__doc__ = f"Send `{event}` to a flow whose current step allows it."
    return send


def _request_body(api: _Api, event: str) -> dict[str, Any]:
    """The body `event` takes in each flow (version) that declares it."""
    schemas = [
        model.model_json_schema() for (_, _, name), model in api.bodies.items() if name == event
    ]
    schema = schemas[0] if len(schemas) == 1 else {"oneOf": schemas}
    return {"required": False, "content": {"application/json": {"schema": schema}}}


async def _unknown_flow(flow_name: str) -> JSONResponse:  # noqa: ARG001 - the route's
    return refused(404, (refusal("flow.unknown"),))


async def _unknown_event(flow_id: str, event: str) -> JSONResponse:  # noqa: ARG001 - the route's
    return refused(404, (refusal("event.invalid"),))


async def _index() -> FileResponse:
    """The tiny front-end (static/index.html) that renders the ui nodes."""
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})
