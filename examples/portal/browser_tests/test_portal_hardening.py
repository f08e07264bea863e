"""What an attacker sends the portal: off-site redirects, forged addresses, huge bodies, weak
production settings; and the headers every answer carries. Through Flask's test client
(test_portal_server.py repeats the HTTP-level ones against the real server)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from regflow.adapters.console import ConsoleSmsGateway
from regflow.adapters.http import HttpSmsGateway
from regflow_portal import Settings, UnsafeSettingsError, build_services, create_app

from .citizen import GOOD_PASSWORD, NEW_CITIZEN, typed_form
from .client import (
    OFF_SITE_TARGETS,
    last_otp,
    post,
    production_settings,
    settings,
)

if TYPE_CHECKING:
    from regflow import Engine, FlowView

# --- the language switch ---------------------------------------------------------------------


@pytest.mark.parametrize("target", OFF_SITE_TARGETS)
def test_the_language_switch_returns_only_to_this_site(target: str) -> None:
    client = create_app(settings()).test_client()

    answer = client.get(f"/lang/en?next={target}")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"
    assert "pwned" not in str(answer.headers)
    assert "National Public Service Portal" in client.get("/").text


@pytest.mark.parametrize("target", ["/", "/register/otp", "/dev/sms"])
def test_the_language_switch_returns_to_the_page_it_came_from(target: str) -> None:
    answer = create_app(settings()).test_client().get(f"/lang/en?next={target}")

    assert answer.headers["Location"] == target


# --- the client key the engine's limits count by ---------------------------------------------


def record_clients(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> list[str | None]:
    """Every `client=` the portal passes to `Engine.start` and `Engine.send`, in order."""
    seen: list[str | None] = []
    start, send = engine.start, engine.send

    def recording_start(flow: str, *, client: str | None = None) -> FlowView:
        seen.append(client)
        return start(flow, client=client)

    def recording(flow_id: str, event: object, *, client: str | None = None) -> FlowView:
        seen.append(client)
        return send(flow_id, event, client=client)

    monkeypatch.setattr(engine, "start", recording_start)
    monkeypatch.setattr(engine, "send", recording)
    return seen


@pytest.mark.parametrize(
    ("hops", "forwarded_for", "client"),
    [
        (0, None, "203.0.113.7"),
        (0, "198.51.100.9", "203.0.113.7"),  # no proxy trusted: the header is anyone's
        (1, "198.51.100.9", "198.51.100.9"),
        (1, "192.0.2.66, 198.51.100.9", "198.51.100.9"),  # the left entry came from the client
        (2, "192.0.2.66, 198.51.100.9", "192.0.2.66"),
    ],
)
def test_every_event_is_sent_with_the_client_address(
    monkeypatch: pytest.MonkeyPatch, hops: int, forwarded_for: str | None, client: str
) -> None:
    services = build_services(settings(proxy_hops=hops))
    seen = record_clients(monkeypatch, services.engine)
    browser = create_app(settings(proxy_hops=hops), services).test_client()
    browser.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    if forwarded_for:
        browser.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for

    post(browser, "/register")
    post(browser, "/register/method", subject="citizen", method="bhxh")
    post(browser, "/register/details", **typed_form(NEW_CITIZEN))
    post(browser, "/register/otp", code="000000")
    post(browser, "/register/otp/resend")
    post(browser, "/register/otp", code=last_otp(services))
    post(browser, "/register/password", password=GOOD_PASSWORD, confirmation=GOOD_PASSWORD)

    assert seen == [client] * 7  # the start and six events


@pytest.mark.parametrize(
    ("address", "client"),
    [
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # the same subscriber
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4 over an IPv6 socket
    ],
)
def test_an_ipv6_client_is_counted_by_its_subscribers_network(
    monkeypatch: pytest.MonkeyPatch, address: str, client: str
) -> None:
    """A subscriber gets a /64 (2^64 addresses) or more: counted per address, a bot that
    draws a new one for every form would pass every per-client limit."""
    services = build_services(settings())
    seen = record_clients(monkeypatch, services.engine)
    browser = create_app(settings(), services).test_client()
    browser.environ_base["REMOTE_ADDR"] = address

    post(browser, "/register")
    post(browser, "/register/method", subject="citizen", method="bhxh")

    assert seen == [client, client]  # the start and the method


def test_proxy_hops_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="proxy_hops"):
        settings(proxy_hops=-1)


# --- request bodies ----------------------------------------------------------------------------


def multipart(*parts: tuple[str, str]) -> tuple[bytes, str]:
    boundary = "regflow-boundary"
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in parts
    )
    return f"{body}--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "body",
    [
        (b"full_name=" + b"x" * 20_000, "application/x-www-form-urlencoded"),  # over 16 KiB
        multipart(("full_name", "x" * 8_000)),  # one field over 4 KiB
        multipart(*[(f"f{n}", "x") for n in range(30)]),  # more than 20 parts
    ],
    ids=["body", "field", "parts"],
)
def test_a_body_over_the_limits_is_refused_with_413_before_it_is_parsed(
    body: tuple[bytes, str],
) -> None:
    data, content_type = body
    answer = (
        create_app(settings())
        .test_client()
        .post("/register/details", data=data, content_type=content_type)
    )

    assert answer.status_code == 413
    assert "Dữ liệu gửi lên quá lớn" in answer.text


# --- production mode ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"secret_key": os.urandom(31)}, "secret_key"),
        ({"secret_key": b"k" * 32}, "secret_key"),  # 32 bytes, not random ones
        ({"secret_key": b"password" * 4}, "secret_key"),
        ({"otp_secret": b"o" * 64}, "otp_secret"),
        ({"sms": None}, "SMS gateway"),
        ({"sms": ConsoleSmsGateway()}, "SMS gateway"),  # it prints every OTP to stdout
        ({"previous_otp_secrets": (os.urandom(32), b"p" * 32)}, "a previous OTP secret"),
    ],
)
def test_production_refuses_weak_secrets_and_the_console_gateway(
    change: dict[str, object], refusal: str
) -> None:
    with pytest.raises(UnsafeSettingsError, match=refusal):
        production_settings(**change)


def test_production_starts_with_random_secrets_and_a_real_gateway() -> None:
    client = create_app(production_settings()).test_client()

    assert client.get("/").status_code == 200


PRODUCTION_ENV = {
    "REGFLOW_PORTAL_SECRET_KEY": os.urandom(32).hex(),
    "REGFLOW_PORTAL_OTP_SECRET": os.urandom(32).hex(),
    "REGFLOW_PORTAL_SMS_URL": "https://sms.example.invalid",
}


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"REGFLOW_PORTAL_SECRET_KEY": None}, "REGFLOW_PORTAL_SECRET_KEY"),
        ({"REGFLOW_PORTAL_OTP_SECRET": None}, "REGFLOW_PORTAL_OTP_SECRET"),
        ({"REGFLOW_PORTAL_SECRET_KEY": "x" * 64}, "REGFLOW_PORTAL_SECRET_KEY must be hex"),
        ({"REGFLOW_PORTAL_SECRET_KEY": os.urandom(31).hex()}, "REGFLOW_PORTAL_SECRET_KEY"),
        ({"REGFLOW_PORTAL_SMS_URL": None}, "REGFLOW_PORTAL_SMS_URL"),
        ({"REGFLOW_PORTAL_PREVIOUS_OTP_SECRETS": "old"}, "hex keys separated by commas"),
    ],
)
def test_production_settings_from_the_environment_refuse_what_is_unsafe(
    monkeypatch: pytest.MonkeyPatch, change: dict[str, str | None], refusal: str
) -> None:
    monkeypatch.delenv("REGFLOW_PORTAL_DEV", raising=False)
    for name, value in (PRODUCTION_ENV | change).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)

    with pytest.raises(UnsafeSettingsError, match=refusal):
        Settings.from_env()


def test_production_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REGFLOW_PORTAL_DEV", raising=False)
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REGFLOW_PORTAL_PROXY_HOPS", "1")
    monkeypatch.setenv("REGFLOW_PORTAL_PURGE_MINUTES", "0")
    previous = [os.urandom(32).hex(), os.urandom(32).hex()]
    monkeypatch.setenv("REGFLOW_PORTAL_PREVIOUS_OTP_SECRETS", ",".join(previous))

    found = Settings.from_env()
    assert found.previous_otp_secrets == tuple(bytes.fromhex(key) for key in previous)
    assert found.secret_key == bytes.fromhex(PRODUCTION_ENV["REGFLOW_PORTAL_SECRET_KEY"])
    assert isinstance(found.sms, HttpSmsGateway)
    assert found.secure_cookies
    assert found.proxy_hops == 1
    assert found.purge_every is None


# --- headers -----------------------------------------------------------------------------------


def test_production_answers_carry_hsts_and_development_ones_do_not() -> None:
    production = create_app(production_settings()).test_client()
    development = create_app(settings()).test_client()

    for path in ("/", "/register/otp", "/static/portal.css", "/no-such-page"):
        with production.get(path) as answer:
            hsts = answer.headers["Strict-Transport-Security"]
        assert hsts == "max-age=31536000; includeSubDomains"
        with development.get(path) as answer:
            assert "Strict-Transport-Security" not in answer.headers


def test_the_content_security_policy_limits_forms_and_the_base_url() -> None:
    headers = create_app(settings()).test_client().get("/").headers

    policy = dict(
        directive.strip().split(" ", 1)
        for directive in headers["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["form-action"] == "'self'"
    assert policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
