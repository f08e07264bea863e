"""The pages the account-exists screen's remedies link to, beside "Quên mật khẩu" (which starts
the recovery): the service counter and the complaint. What they say is the portal's own (its
counters, its complaint desk); the reference portal says what a citizen brings and does."""

from __future__ import annotations

from flask import Blueprint, render_template

help_pages = Blueprint("help", __name__)
#: Each remedy with a page of its own (`Remedy.code`), as the account-exists screen links it.
TOPICS = ("service_counter", "complaint")


@help_pages.get("/help/<any(service_counter, complaint):topic>")
def topic(topic: str) -> str:
    return render_template("help.html", topic=topic)
