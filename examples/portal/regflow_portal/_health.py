"""Health checks for a load balancer or an orchestrator (docs/deployment.md).

`/healthz` (liveness) answers as soon as the process serves requests and asks nothing of any
service: restart the process when it fails. `/readyz` (readiness) asks the flow store through
the engine, as every request does: take the server out of rotation while it fails, and put it
back when it answers again. BHXH and the SMS gateway are not asked: when they fail, every
server fails alike and each request says so (`bhxh.unavailable`, retryable), so taking
servers out would only turn a message into an outage.
"""

from __future__ import annotations

from flask import Blueprint, current_app

health = Blueprint("health", __name__)
#: A flow id of the engine's shape (22 characters of base64url, so it is looked up) that no
#: flow has (the engine's are random): "not found" while the store is up, a retryable error
#: when it is not.
PROBE = "readiness-probe-000000"


@health.get("/healthz")
def alive() -> dict[str, str]:
    return {"status": "ok"}


@health.get("/readyz")
def ready() -> tuple[dict[str, object], int]:
    view = current_app.extensions["regflow"].engine.view(PROBE)
    if view.retryable:
        return {"status": "unavailable", "errors": view.error_codes()}, 503
    return {"status": "ok"}, 200
