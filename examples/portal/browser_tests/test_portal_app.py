"""The app without a browser: its modes and its storage, through Flask's test client."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

import regflow
from regflow.adapters.demo import demo_citizens
from regflow.adapters.memory import InMemoryBhxhRegistry, InMemoryFlowStore, InMemoryUserStore
from regflow.testing import FastHasher
from regflow_portal import (
    AdjustableClock,
    DevSmsInbox,
    Services,
    Settings,
    build_services,
    create_app,
)

from .citizen import GOOD_PASSWORD, NEW_CITIZEN, typed_form

if TYPE_CHECKING:
    from pathlib import Path

    from flask.testing import FlaskClient

    from regflow import FlowSnapshot

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def settings(**changes: object) -> Settings:
    defaults: dict[str, object] = {
        "secret_key": b"k" * 32,
        "otp_secret": b"o" * 32,
        "dev_mode": True,
        "secure_cookies": False,
        "hasher": FastHasher(),
    }
    return Settings(**(defaults | changes))  # type: ignore[arg-type]


def post(client: FlaskClient, path: str, **form: str) -> str:
    """Submit a form with the session's CSRF token, as its page does; return the next page."""
    match = _CSRF.search(client.get("/").text)
    assert match is not None
    answer = client.post(path, data={"csrf_token": match.group(1), **form})
    assert answer.status_code == 303
    return client.get(answer.headers["Location"]).text


def reach_otp(client: FlaskClient) -> str:
    post(client, "/register")
    post(client, "/register/method", subject="citizen", method="bhxh")
    return post(client, "/register/details", **typed_form(NEW_CITIZEN))


def test_the_dev_pages_are_absent_outside_development_mode() -> None:
    client = create_app(settings(dev_mode=False, secure_cookies=True)).test_client()

    assert client.get("/dev/sms").status_code == 404
    assert "MÔI TRƯỜNG PHÁT TRIỂN" not in client.get("/").text


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example"])
def test_the_language_switch_returns_only_to_this_site(target: str) -> None:
    client = create_app(settings()).test_client()

    answer = client.get("/lang/en", query_string={"next": target})
    assert answer.headers["Location"] == "/"
    assert "National Public Service Portal" in client.get("/").text


def test_secrets_are_required_outside_development_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGFLOW_PORTAL_DEV", raising=False)
    monkeypatch.delenv("REGFLOW_PORTAL_SECRET_KEY", raising=False)

    with pytest.raises(RuntimeError, match="REGFLOW_PORTAL_SECRET_KEY"):
        Settings.from_env()


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


def test_a_storage_outage_is_reported_and_the_flow_goes_on_after_it() -> None:
    flows = FlakyFlowStore()
    clock = AdjustableClock()
    engine = regflow.bootstrap(
        bhxh=InMemoryBhxhRegistry(demo_citizens()),
        sms=DevSmsInbox(clock),
        otp_secret=b"o" * 32,
        users=InMemoryUserStore(),
        flows=flows,
        clock=clock,
    )
    services = Services(engine=engine, clock=clock, users=InMemoryUserStore())
    client = create_app(settings(), services).test_client()
    post(client, "/register")
    flows.down = True

    answer = client.get("/register/method")
    assert answer.status_code == 503
    assert "Hệ thống đang bận" in answer.text
    flows.down = False
    assert "Chọn phương thức đăng ký" in client.get("/register/method").text
