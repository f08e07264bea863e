"""The development pages: the SMS inbox a person reads the OTP from, and the test clock.

Registered only when the portal runs in development mode (`REGFLOW_PORTAL_DEV=1`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from flask import Blueprint, redirect, render_template, request, url_for

from regflow import mask_phone
from regflow_portal._app import services

if TYPE_CHECKING:
    from werkzeug.wrappers import Response

dev_pages = Blueprint("dev", __name__, url_prefix="/dev")
CLOCK_STEPS_MINUTES = (1, 5, 31)


@dev_pages.get("/sms")
def inbox() -> str:
    found = services()
    messages = found.inbox.messages() if found.inbox else ()
    return render_template(
        "dev_sms.html",
        messages=[(mask_phone(m.phone), m.message, m.sent_at) for m in messages],
        now=found.clock.now(),
        clock_steps=CLOCK_STEPS_MINUTES,
    )


@dev_pages.post("/clock")
def advance_clock() -> Response:
    clock = services().dev_clock
    minutes = request.form.get("minutes", type=int)
    if clock is not None and minutes in CLOCK_STEPS_MINUTES:
        clock.advance(timedelta(minutes=minutes))
    return redirect(url_for("dev.inbox"), code=303)
