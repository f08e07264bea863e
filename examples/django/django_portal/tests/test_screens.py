"""Every screen of the registration through Django's test client, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from regflow import ERRORS, State, mask_phone
from regflow.adapters.demo import demo_citizens
from regflow.testing import FastHasher

if TYPE_CHECKING:
    from django.http import HttpResponse

    from .conftest import Portal

#: The demo citizen without an account, and the one who has one (regflow.adapters.demo).
CITIZEN, HAS_ACCOUNT = demo_citizens()[0], demo_citizens()[2]
PASSWORD = "Mật-khẩu-1A"


def form_of(citizen: object = CITIZEN, **changes: str) -> dict[str, str]:
    """The BHXH form as the citizen types it (the demo phones are 09…)."""
    record = CITIZEN if citizen is CITIZEN else HAS_ACCOUNT
    typed = {
        "bhxh_number": record.bhxh_number,
        "id_number": record.id_number,
        "full_name": record.full_name,
        "date_of_birth": record.date_of_birth.strftime("%d/%m/%Y"),
        "phone": "0" + record.phone.removeprefix("+84"),
        "email": "",
    }
    return typed | changes


def screen(response: HttpResponse) -> str:
    """The path the response ended on, after its redirects."""
    return str(response.wsgi_request.path)  # type: ignore[attr-defined]


def text(response: HttpResponse) -> str:
    return response.content.decode()


def message(code: str, lang: str = "vi") -> str:
    return ERRORS[code].message.in_language(lang)


def to_details(portal: Portal) -> HttpResponse:
    started = portal.post("/")
    assert screen(started) == "/register/method"
    return portal.post("/register/method", subject="citizen", method="bhxh")


def to_otp(portal: Portal, citizen: object = CITIZEN) -> HttpResponse:
    assert screen(to_details(portal)) == "/register/details"
    return portal.post("/register/details", **form_of(citizen))


def test_a_citizen_registers_through_every_screen(portal: Portal) -> None:
    home = portal.get("/")
    assert 'id="register"' in text(home)
    assert "Bảo hiểm xã hội" in text(portal.post("/"))  # the method's label, in Vietnamese
    details = portal.post("/register/method", subject="citizen", method="bhxh")
    assert screen(details) == "/register/details"

    otp = portal.post("/register/details", **form_of())
    assert screen(otp) == "/register/otp"
    assert mask_phone(CITIZEN.phone) in text(otp)  # the masked phone the code went to
    password = portal.post("/register/otp", code=portal.sms.last_code())
    assert screen(password) == "/register/password"
    done = portal.post("/register/password", password=PASSWORD, confirmation=PASSWORD)

    assert screen(done) == "/register/done"
    assert CITIZEN.full_name in text(done)
    account = portal.services.users.find_by_login(CITIZEN.id_number)
    assert account is not None
    assert account.full_name == CITIZEN.full_name
    stored = portal.services.users.password_hash(account.account_id)
    assert stored is not None
    assert FastHasher().verify(stored, PASSWORD)


def test_field_errors_show_next_to_their_field_in_either_language(portal: Portal) -> None:
    to_details(portal)

    refused = portal.post("/register/details", **form_of(phone="123"))
    assert screen(refused) == "/register/details"
    assert f'<p class="error" id="phone-error">{message("phone.invalid")}</p>' in text(refused)
    assert 'value="123"' in text(refused)  # what was typed is kept
    portal.get("/lang/en?next=/register/details")
    again = portal.post("/register/details", **form_of(phone="123"))

    assert message("phone.invalid", "en") in text(again)
    assert 'lang="en"' in text(again)


def test_a_mismatch_shows_its_screen_and_the_form_can_be_corrected(portal: Portal) -> None:
    to_details(portal)

    mismatch = portal.post("/register/details", **form_of(full_name="Nguyễn Văn Khác"))
    assert screen(mismatch) == "/register/mismatch"
    assert message("bhxh.data_mismatch") in text(mismatch)
    assert screen(portal.get("/register/details")) == "/register/details"
    assert screen(portal.post("/register/details", **form_of())) == "/register/otp"


def test_a_citizen_with_an_account_gets_its_remedies(portal: Portal) -> None:
    exists = to_otp(portal, HAS_ACCOUNT)

    assert screen(exists) == "/register/exists"
    assert message("account.exists") in text(exists)
    assert "<li>" in text(exists)


def test_a_wrong_code_says_how_many_tries_are_left(portal: Portal) -> None:
    to_otp(portal)

    wrong = portal.post("/register/otp", code="000000")

    assert screen(wrong) == "/register/otp"
    assert message("otp.invalid") in text(wrong)
    assert 'id="tries-left"' in text(wrong)


def test_a_resend_waits_then_sends_another_code(portal: Portal) -> None:
    to_otp(portal)

    too_soon = portal.post("/register/otp", resend="1")
    assert message("otp.resend_too_soon") in text(too_soon)
    assert len(portal.sms.sent) == 1
    portal.clock.advance(minutes=2)
    portal.post("/register/otp", resend="1")

    assert len(portal.sms.sent) == 2
    assert screen(portal.post("/register/otp", code=portal.sms.last_code())) == "/register/password"


def test_a_password_refused_shows_why(portal: Portal) -> None:
    to_otp(portal)
    portal.post("/register/otp", code=portal.sms.last_code())

    refused = portal.post("/register/password", password=PASSWORD, confirmation="other")

    assert screen(refused) == "/register/password"
    assert 'id="confirmation-error"' in text(refused)
    assert portal.services.users.find_by_login(CITIZEN.id_number) is None


def test_too_many_wrong_codes_end_the_registration(portal: Portal) -> None:
    to_otp(portal)
    attempts = portal.services.engine.policy.otp_max_attempts

    for _ in range(attempts):
        ended = portal.post("/register/otp", code="000000")

    assert screen(ended) == "/register/ended"
    assert message("flow.locked") in text(ended)
    assert screen(portal.post("/")) == "/register/method"  # "start again"


def test_a_registration_past_its_lifetime_shows_it_ended(portal: Portal) -> None:
    to_otp(portal)
    portal.clock.advance(portal.services.engine.policy.flow_ttl)

    ended = portal.get("/register/otp")

    assert screen(ended) == "/register/ended"
    assert message("flow.expired") in text(ended)


@pytest.mark.parametrize("path", ["/register/password", "/register/done", "/register/mismatch"])
def test_an_old_or_early_url_shows_the_current_screen(portal: Portal, path: str) -> None:
    portal.post("/")

    assert screen(portal.get(path)) == "/register/method"


@pytest.mark.parametrize("path", ["/register/details", "/register/otp", "/register/password"])
def test_a_form_of_another_screen_is_not_sent(portal: Portal, path: str) -> None:
    portal.post("/")

    answer = portal.post(path, **form_of(), code="123456", password=PASSWORD)

    assert screen(answer) == "/register/method"
    flow_id = portal.client.session["flow_id"]
    assert portal.services.engine.view(flow_id).version == 1  # nothing was sent


def test_without_a_flow_every_screen_leads_home(portal: Portal) -> None:
    assert screen(portal.get("/register/otp")) == "/"


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(portal: Portal) -> None:
    portal.post("/")

    refused = portal.client.post("/register/method", {"subject": "citizen", "method": "bhxh"})

    assert refused.status_code == 403
    flow_id = portal.client.session["flow_id"]
    assert portal.services.engine.view(flow_id).state == State.CHOOSING_METHOD


def refuse(*_: object) -> None:
    raise ConnectionError("the database is down")


def test_a_start_during_an_outage_says_to_try_again(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal.services.flows, "save", refuse)

    refused = portal.post("/")

    assert refused.status_code == 503
    assert message("storage.unavailable") in text(refused)


@pytest.mark.parametrize("failing", ["save", "load"])
def test_a_step_during_an_outage_keeps_the_screen_and_says_to_retry(
    portal: Portal, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    portal.post("/")
    flows = portal.services.flows
    loads = iter([flows.load])  # the page's own view of the flow works, the step's does not

    def load_once(flow_id: str) -> object:
        return next(loads, refuse)(flow_id)

    monkeypatch.setattr(flows, failing, refuse if failing == "save" else load_once)

    refused = portal.post("/register/method", subject="citizen", method="bhxh")

    assert refused.status_code == 503
    assert screen(refused) == "/register/method"
    assert message("storage.unavailable") in text(refused)
    monkeypatch.undo()
    assert screen(portal.post("/register/method", subject="citizen", method="bhxh")) == (
        "/register/details"
    )


def test_the_language_switch_stays_on_the_site(portal: Portal) -> None:
    response = portal.client.get("/lang/en?next=https://evil.example/")

    assert response.status_code == 302
    assert response["Location"] == "/"
