"""What the portal keeps about a citizen, and for how long: nothing personal in the cookie,
nothing shown from an old cookie, expired flows deleted on a schedule."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from regflow_portal import build_services, create_app

from .citizen import GOOD_PASSWORD, NEW_CITIZEN, typed_form
from .client import COOKIE, cookie_text, last_otp, post, settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from flask.testing import FlaskClient

    from regflow_portal import Services

A_LONG_TIME_AGO = datetime(2000, 1, 1, tzinfo=UTC)
EMAIL = "mau@example.vn"
#: Every way the citizen's data could be written: as typed, as BHXH stores it, in parts.
PERSONAL = (
    NEW_CITIZEN.bhxh_number,
    NEW_CITIZEN.full_name,
    NEW_CITIZEN.full_name.split()[-1],
    NEW_CITIZEN.date_of_birth.strftime("%d/%m/%Y"),
    NEW_CITIZEN.date_of_birth.isoformat(),
    NEW_CITIZEN.phone,
    NEW_CITIZEN.phone.removeprefix("+84"),
    NEW_CITIZEN.id_number,
    EMAIL,
    GOOD_PASSWORD,
)


def assert_nothing_personal_in_the_cookie(client: FlaskClient) -> None:
    text = cookie_text(client)
    assert text  # the session exists: the check below reads a real cookie
    found = [value for value in PERSONAL if value in text]
    assert not found, f"personal data in the session cookie: {found}"


def register(client: FlaskClient, services: Services) -> list[str]:
    """A whole registration with every detour; the pages, each checked against the cookie."""
    clock = services.dev_clock
    assert clock is not None
    form = typed_form(NEW_CITIZEN, email=EMAIL)

    def resend_after_the_wait() -> str:
        clock.advance(timedelta(seconds=60))
        return post(client, "/register/otp/resend")

    steps: list[Callable[[], str]] = [
        lambda: client.get("/").text,
        lambda: post(client, "/register"),
        lambda: post(client, "/register/method", subject="citizen", method="bhxh"),
        lambda: post(client, "/register/details", **(form | {"bhxh_number": "12345"})),
        lambda: post(client, "/register/details", **(form | {"date_of_birth": "16/01/1990"})),
        lambda: client.get("/register/details").text,
        lambda: post(client, "/register/details", **form),
        lambda: post(client, "/register/otp", code="000000"),
        resend_after_the_wait,
        lambda: post(client, "/register/otp", code=last_otp(services)),
        lambda: post(client, "/register/password", password="short", confirmation="other"),
        lambda: post(
            client, "/register/password", password=GOOD_PASSWORD, confirmation=GOOD_PASSWORD
        ),
        lambda: client.get("/register/result").text,
    ]
    pages = []
    for take in steps:
        pages.append(take())
        assert_nothing_personal_in_the_cookie(client)
    return pages


def test_the_session_cookie_never_holds_personal_data() -> None:
    services = build_services(settings())
    client = create_app(settings(), services).test_client()

    pages = register(client, services)
    after_field_error, after_mismatch = pages[3], pages[5]
    assert 'value="15/01/1990"' in after_field_error  # what was typed is kept, on the server
    assert 'value="16/01/1990"' in after_mismatch
    assert "Đăng ký tài khoản thành công" in pages[-1]
    assert NEW_CITIZEN.full_name in pages[-1]


def test_a_finished_flow_is_not_shown_from_an_old_cookie() -> None:
    services = build_services(settings())
    client = create_app(settings(), services).test_client()
    register(client, services)
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    assert services.dev_clock is not None
    services.dev_clock.advance(services.engine.policy.flow_ttl)

    later = create_app(settings(), services).test_client()
    later.set_cookie(COOKIE, cookie.value)
    page = later.get("/register/result").text
    assert "Phiên đăng ký đã hết hạn" in page
    assert NEW_CITIZEN.full_name not in page
    services.engine.purge_expired()
    gone = later.get("/register/result", follow_redirects=True).text
    assert "Không tìm thấy phiên đăng ký" in gone


def test_the_portal_deletes_expired_flows_on_a_schedule() -> None:
    services = build_services(settings())
    every = timedelta(milliseconds=20)
    app = create_app(settings(purge_every=every), services)
    client = app.test_client()
    post(client, "/register")
    post(client, "/register/method", subject="citizen", method="bhxh")
    post(client, "/register/details", **typed_form(NEW_CITIZEN, bhxh_number="12345"))
    flow_id = _session_flow(client)
    assert services.drafts.get(flow_id, services.clock.now())
    assert services.dev_clock is not None

    services.dev_clock.advance(timedelta(minutes=31))
    deadline = time.monotonic() + 10
    while services.engine.view(flow_id).state is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    app.extensions["regflow_purger"].stop()

    assert services.engine.view(flow_id).error_codes() == ("flow.not_found",)
    assert services.drafts.get(flow_id, A_LONG_TIME_AGO) == {}  # the typed form went too


def _session_flow(client: FlaskClient) -> str:
    with client.session_transaction() as session:
        flow_id: str = session["flow_id"]
    return flow_id
