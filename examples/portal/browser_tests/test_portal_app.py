"""The app without a browser: its modes and its storage, through Flask's test client."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from prometheus_client.parser import text_string_to_metric_families

import regflow
from phone_change import InMemoryAccountPhones
from regflow.adapters.demo import demo_citizens
from regflow.adapters.memory import InMemoryBhxhRegistry, InMemoryFlowStore, InMemoryUserStore
from regflow.testing import FastHasher
from regflow_portal import (
    AdjustableClock,
    DevSmsInbox,
    Services,
    build_services,
    create_app,
)

from .citizen import GOOD_PASSWORD, NEW_CITIZEN, typed_form
from .client import csrf_token, last_otp, post, production_settings, reach_otp, settings, submit

if TYPE_CHECKING:
    from pathlib import Path

    from flask.testing import FlaskClient

    from regflow import FlowSnapshot


def test_the_dev_pages_are_absent_outside_development_mode() -> None:
    client = create_app(production_settings()).test_client()

    assert client.get("/dev/sms").status_code == 404
    assert "MÔI TRƯỜNG PHÁT TRIỂN" not in client.get("/").text


def test_accounts_in_the_sqlite_file_survive_a_restart(tmp_path: Path) -> None:
    pytest.importorskip("regflow.adapters.sqlite")
    database = str(tmp_path / "portal.sqlite3")
    services = build_services(settings(database=database))
    client = create_app(settings(database=database), services).test_client()
    reach_otp(client)
    assert services.inbox is not None
    code = re.findall(r"\b\d{6}\b", services.inbox.messages()[0].text)[0]
    post(client, "/register/otp", code=code)
    done = post(client, "/register/password", password=GOOD_PASSWORD, confirmation=GOOD_PASSWORD)
    assert "Mức xác minh 2" in done

    restarted = create_app(settings(database=database)).test_client()
    assert "Tài khoản đã tồn tại" in reach_otp(restarted)


def test_the_otp_screen_says_when_no_resend_is_left() -> None:
    services = build_services(settings())
    client = create_app(settings(), services).test_client()
    page = reach_otp(client)
    assert services.dev_clock is not None
    for _ in range(4):
        services.dev_clock.advance(timedelta(seconds=60))
        page = post(client, "/register/otp/resend")

    assert "Đã gửi OTP quá số lần cho phép." in page
    assert 'id="resend"' not in page
    services.dev_clock.advance(timedelta(minutes=5))
    assert "Đăng ký lại từ đầu" in client.get("/register/otp").text


class FlakyFlowStore(InMemoryFlowStore):
    """A flow store whose database can be switched off."""

    down = False

    def load(self, flow_id: str) -> FlowSnapshot | None:
        if self.down:
            raise ConnectionError("database down")
        return super().load(flow_id)


class CountingFlowStore(InMemoryFlowStore):
    """A flow store that counts its loads."""

    loads = 0

    def load(self, flow_id: str) -> FlowSnapshot | None:
        self.loads += 1
        return super().load(flow_id)


def services_on(flows: InMemoryFlowStore) -> Services:
    """The portal's services, its flows in `flows`."""
    clock, users = AdjustableClock(), InMemoryUserStore()
    inbox = DevSmsInbox(clock)
    engine = regflow.bootstrap(
        bhxh=InMemoryBhxhRegistry(demo_citizens()),
        sms=inbox,
        otp_secret=b"o" * 32,
        users=users,
        flows=flows,
        clock=clock,
        hasher=FastHasher(),
    )
    phones = InMemoryAccountPhones()
    return Services(engine=engine, clock=clock, users=users, phones=phones, inbox=inbox)


def client_on(flows: InMemoryFlowStore) -> FlaskClient:
    """The portal's test client, its flows in `flows`."""
    return create_app(settings(), services_on(flows)).test_client()


def test_a_registration_loads_its_flow_once_a_request() -> None:
    """Nine requests show or step the flow, each loads it once: a form is known to be the
    session's flow's by the name the session keeps, not by loading the flow before
    `Engine.send` loads it again (13 loads before)."""
    flows = CountingFlowStore()
    services = services_on(flows)
    client = create_app(settings(), services).test_client()
    token = csrf_token(client)
    submit(client, "/register", token)
    submit(client, "/register/method", token, subject="citizen", method="bhxh")
    submit(client, "/register/details", token, **typed_form(NEW_CITIZEN))
    submit(client, "/register/otp", token, code=last_otp(services))
    password = {"password": GOOD_PASSWORD, "confirmation": GOOD_PASSWORD}
    submit(client, "/register/password", token, **password)
    assert services.users.find(NEW_CITIZEN.id_number, NEW_CITIZEN.bhxh_number) is not None
    assert flows.loads == 9


def test_a_session_that_kept_no_flow_name_has_its_flow_read_and_goes_on() -> None:
    """A session cookie from before the portal kept the flow's name: the form's flow is
    checked by loading it, as it was, and the step is sent."""
    flows = CountingFlowStore()
    client = client_on(flows)
    token = csrf_token(client)
    submit(client, "/register", token)
    with client.session_transaction() as cookie:
        del cookie["flow"]
    loads = flows.loads
    page = submit(client, "/register/method", token, subject="citizen", method="bhxh")
    assert 'name="bhxh_number"' in page
    assert flows.loads - loads == 3  # the check, Engine.send's, the next screen's


def test_a_storage_outage_is_reported_and_the_flow_goes_on_after_it() -> None:
    flows = FlakyFlowStore()
    client = client_on(flows)
    post(client, "/register")
    flows.down = True

    answer = client.get("/register/method")
    assert answer.status_code == 503
    assert "Hệ thống đang bận" in answer.text
    flows.down = False
    assert "Chọn phương thức đăng ký" in client.get("/register/method").text


def test_the_health_checks_say_alive_always_and_ready_while_the_store_answers() -> None:
    flows = FlakyFlowStore()
    client = client_on(flows)
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json() == {"status": "ok"}

    flows.down = True
    alive, ready = client.get("/healthz"), client.get("/readyz")

    assert alive.status_code == 200
    assert ready.status_code == 503
    assert ready.get_json() == {"status": "unavailable", "errors": ["storage.unavailable"]}
    assert "Set-Cookie" not in ready.headers  # a probe starts no session
    flows.down = False
    assert client.get("/readyz").status_code == 200


def test_metrics_scrape_as_prometheus_text_with_no_personal_data() -> None:
    services = build_services(settings())
    client = create_app(settings(), services).test_client()
    reach_otp(client)

    scraped = client.get("/metrics")

    assert scraped.status_code == 200
    assert scraped.content_type.startswith("text/plain; version=")
    families = {family.name: family for family in text_string_to_metric_families(scraped.text)}
    transitions = families["regflow_transitions"].samples
    moves = {(s.labels["regflow_source"], s.labels["regflow_dest"]) for s in transitions}
    assert ("filling_form", "otp_pending") in moves
    ports = {s.labels["regflow_port"] for s in families["regflow_port_duration_seconds"].samples}
    assert {"bhxh", "sms", "storage"} <= ports
    started = families["regflow_flows_started"].samples
    assert [s.value for s in started if s.name.endswith("_total")] == [1.0]
    for number in (NEW_CITIZEN.bhxh_number, NEW_CITIZEN.id_number, NEW_CITIZEN.phone[-9:]):
        assert number not in scraped.text
