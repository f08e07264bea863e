"""The JSON API example (examples/api) through its ASGI app with httpx: a registration end to
end (on the fakes, and on PostgreSQL), odd input, a failing service, CORS, the OpenAPI schema."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import psycopg
import pytest
import redis
import uvicorn
from playwright.sync_api import expect, sync_playwright

from browser_tests.conftest import CHROMIUM, CHROMIUM_ARGS
from regflow import BhxhRecord, Policy, PortUnavailableError, RateLimit, RateLimits
from regflow.adapters.demo import demo_citizens
from regflow.adapters.memory import InMemoryBhxhRegistry
from regflow.adapters.postgres import create_schema, open_pool
from regflow.declare import limit_key
from regflow.testing import CITIZEN, STRONG_PASSWORD, FakePorts, SmsInbox, form_for
from regflow_api import (
    CSRF_HEADER,
    FLOWS,
    ApiSettings,
    UnsafeSettingsError,
    create_app,
    open_engine,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine, Iterator

    from fastapi import FastAPI

    Call = Callable[..., Awaitable[httpx.Response]]

POSTGRES_DSN = os.environ.get("REGFLOW_TEST_POSTGRES_DSN")
SETTINGS = ApiSettings(origins=("https://app.example.vn",))
FORM = {k: v for k, v in attrs.asdict(form_for(CITIZEN)).items() if v is not None}


def run(app: FastAPI, scenario: Callable[[Call], Coroutine[Any, Any, None]]) -> None:
    """`scenario` given a `call(method, path, body=…)` on the app, sent as the front-end
    would: with the anti-CSRF header, the body as JSON (bytes as they are)."""

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:

            async def call(method: str, path: str, body: object = None, **options: Any) -> Any:
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                headers = {CSRF_HEADER: "1", **options.pop("headers", {})}
                return await client.request(
                    method, path, content=None if body is None else content, headers=headers
                )

            await scenario(call)

    asyncio.run(main())


@pytest.fixture
def ports() -> FakePorts:
    return FakePorts.seeded()


@pytest.fixture
def app(ports: FakePorts) -> FastAPI:
    return create_app(ports.async_engine(*FLOWS), SETTINGS)


def codes(response: httpx.Response) -> list[tuple[str, str | None]]:
    """The answer's errors as (code, field), each with both messages."""
    errors = response.json()["errors"]
    assert all(error["message"]["vi"] and error["message"]["en"] for error in errors)
    return [(error["code"], error["field"]) for error in errors]


def nodes_of(response: httpx.Response) -> dict[str, dict[str, Any]]:
    return {node["name"]: node for node in response.json()["ui"]["nodes"]}


async def _to_form(call: Call) -> str:
    started = await call("POST", "/flows/bhxh_registration")
    flow_id: str = started.json()["id"]
    chosen = {"subject": "citizen", "method": "bhxh"}
    await call("POST", f"/flows/{flow_id}/events/choose_method", chosen)
    return flow_id


def test_a_citizen_registers_through_the_json_api(app: FastAPI, ports: FakePorts) -> None:
    async def scenario(call: Call) -> None:
        started = await call("POST", "/flows/bhxh_registration")
        assert started.status_code == 201
        body = started.json()
        assert (body["state"], body["allowed_events"]) == ("choosing_method", ["choose_method"])
        assert body["state_label"]["vi"]
        assert body["details"]["methods"][0]["subject"] == "citizen"
        assert [n["name"] for n in body["ui"]["nodes"]] == ["subject", "method", "choose_method"]
        flow_id = body["id"]
        events = f"/flows/{flow_id}/events"
        form = await call(
            "POST", f"{events}/choose_method", {"subject": "citizen", "method": "bhxh"}
        )
        assert form.status_code == 200
        fields = nodes_of(form)
        assert fields["id_number"]["required"]
        assert not fields["email"]["required"]
        assert fields["date_of_birth"]["type"] == "date"
        assert fields["bhxh_number"]["label"] == {"vi": "Mã số BHXH", "en": "BHXH number"}
        assert fields["bhxh_number"]["constraints"] == {"max_length": 320}
        assert fields["submit_form"]["type"] == "submit"
        otp = await call("POST", f"{events}/submit_form", FORM)
        assert otp.json()["state"] == "otp_pending"
        assert otp.json()["screen"]["phone_hint"].endswith(CITIZEN.phone[-3:])
        assert set(nodes_of(otp)) == {"code", "confirm_otp", "resend_otp"}
        wrong = await call("POST", f"{events}/confirm_otp", {"code": "000000"})
        assert (wrong.status_code, codes(wrong)) == (422, [("otp.invalid", "code")])
        confirmed = await call("POST", f"{events}/confirm_otp", {"code": ports.sms.last_code()})
        assert confirmed.json()["state"] == "setting_password"
        password = {"password": STRONG_PASSWORD, "confirmation": STRONG_PASSWORD}
        done = await call("POST", f"{events}/set_password", password)
        assert done.status_code == 200
        assert (done.json()["state"], done.json()["finished"]) == ("completed", True)
        account = ports.users.find(CITIZEN.id_number, CITIZEN.bhxh_number)
        assert account is not None
        assert done.json()["account_id"] == account.account_id
        assert done.json()["ui"]["nodes"] == []
        again = await call("GET", f"/flows/{flow_id}")
        assert again.json()["state"] == "completed"
        late = await call("POST", f"{events}/set_password", password)
        assert (late.status_code, codes(late)) == (409, [("flow.finished", None)])

    run(app, scenario)


def test_a_citizen_registers_on_postgresql() -> None:
    if not POSTGRES_DSN:
        if os.environ.get("CI") == "true":  # as the store tests: CI runs them all
            pytest.fail("CI=true needs $REGFLOW_TEST_POSTGRES_DSN")
        pytest.skip("needs $REGFLOW_TEST_POSTGRES_DSN (scripts/postgres.sh)")
    # The tables other tests share, emptied as theirs are (tests/stores/conftest.py).
    with closing(open_pool(POSTGRES_DSN, max_size=1)) as pool:
        create_schema(pool)
        with pool.connection() as connection:
            connection.execute("TRUNCATE regflow_flows, regflow_id_numbers, regflow_accounts")
    sms = SmsInbox()
    settings = ApiSettings(database=POSTGRES_DSN, dev=True)

    async def main() -> None:
        bhxh = InMemoryBhxhRegistry([CITIZEN])
        async with open_engine(settings, bhxh=bhxh, sms=sms) as engine:
            transport = httpx.ASGITransport(app=create_app(engine, settings))
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                await _register(client, sms)

    asyncio.run(main())
    with psycopg.connect(POSTGRES_DSN) as connection:
        [(accounts,)] = connection.execute("SELECT count(*) FROM regflow_accounts").fetchall()
    assert accounts == 1


async def _register(client: httpx.AsyncClient, sms: SmsInbox) -> None:
    """The registration, step by step, each answer checked."""
    headers = {CSRF_HEADER: "1"}
    flow_id = (await client.post("/flows/bhxh_registration", headers=headers)).json()["id"]
    password = {"password": STRONG_PASSWORD, "confirmation": STRONG_PASSWORD}
    steps: list[tuple[str, Callable[[], dict[str, str]], str]] = [
        ("choose_method", lambda: {"subject": "citizen", "method": "bhxh"}, "filling_form"),
        ("submit_form", lambda: FORM, "otp_pending"),
        ("confirm_otp", lambda: {"code": sms.last_code()}, "setting_password"),
        ("set_password", lambda: password, "completed"),
    ]
    for event, body, state in steps:
        sent = await client.post(f"/flows/{flow_id}/events/{event}", json=body(), headers=headers)
        assert sent.json()["state"] == state, sent.json()
    assert (await client.get(f"/flows/{flow_id}")).json()["finished"]


def test_the_limits_are_counted_in_the_settings_redis(tmp_path: Path) -> None:
    """`REGFLOW_API_REDIS_URL`: every worker's limits in one Redis, with a production app's
    services given to `create_app` (opened by its lifespan, as uvicorn runs it)."""
    url = os.environ.get("REGFLOW_REDIS_URL")
    if not url:
        pytest.skip("no redis-server (scripts/redis.sh starts one)")
    address = f"10.{os.getpid() % 250}.{time.time_ns() % 250}.7"  # this run's own client
    database = str(tmp_path / "api.sqlite3")
    settings = ApiSettings(database=database, otp_secret="ab" * 32, redis_url=url)
    sms = SmsInbox()
    app = create_app(settings=settings, bhxh=InMemoryBhxhRegistry([CITIZEN]), sms=sms)

    async def main() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=(address, 4321))
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                await _register(client, sms)

    asyncio.run(main())
    counted = redis.Redis.from_url(url)
    key = limit_key(settings.secret(), "start", address)
    keys = list(counted.scan_iter(f"LIMITS:*{key}/*"))
    assert len(keys) == 2, "the starts per client, in both their windows, counted in Redis"
    counted.delete(*keys)


#: Each: a body of choose_method as sent, the status and the (code, field) it answers.
ODD_BODIES = [
    (b"{", 400, ("request.malformed", None)),
    (
        b'{"subject": "\\ud800", "method": "bhxh"}',
        400,
        ("request.malformed", None),
    ),  # lone surrogate
    (b"\xff\xfe", 400, ("request.malformed", None)),  # not UTF-8
    (b"[1, 2]", 400, ("request.malformed", None)),
    (b"subject=citizen&method=bhxh", 400, ("request.malformed", None)),  # a form's body
    (b'"citizen"', 400, ("request.malformed", None)),
    ({"subject": 1, "method": "bhxh"}, 422, ("request.field_type", "subject")),
    ({"subject": None, "method": "bhxh"}, 422, ("request.field_type", "subject")),
    ({"subject": ["citizen"], "method": "bhxh"}, 422, ("request.field_type", "subject")),
    ({"method": "bhxh"}, 422, ("request.field_missing", "subject")),
    (
        {"subject": "citizen", "method": "bhxh", "admin": True},
        422,
        ("request.field_unknown", "admin"),
    ),
    ({"subject": "x" * 321, "method": "bhxh"}, 422, ("request.field_too_long", "subject")),
    ({"subject": "c\x00", "method": "bhxh"}, 422, ("method.unsupported", "method")),
    (
        b'{"subject": "citizen", "method": "' + b"x" * 20_000 + b'"}',
        413,
        ("request.too_large", None),
    ),
]


@pytest.mark.parametrize(("body", "status", "error"), ODD_BODIES)
def test_odd_bodies_get_a_json_refusal_and_change_nothing(
    app: FastAPI, body: object, status: int, error: tuple[str, str | None]
) -> None:
    async def scenario(call: Call) -> None:
        started = await call("POST", "/flows/bhxh_registration")
        flow_id = started.json()["id"]
        sent = await call("POST", f"/flows/{flow_id}/events/choose_method", body)
        assert (sent.status_code, codes(sent)) == (status, [error])
        assert (await call("GET", f"/flows/{flow_id}")).json()["state"] == "choosing_method"

    run(app, scenario)


def test_a_form_of_odd_text_is_the_flows_to_judge(app: FastAPI) -> None:
    """NUL, a lone surrogate sent as UTF-8's replacement and text the rules refuse reach the
    flow, whose rules answer with their own codes."""

    async def scenario(call: Call) -> None:
        flow_id = await _to_form(call)
        odd = {**FORM, "full_name": "Nguyễn\x00Văn", "phone": "\ufffd" * 10, "bhxh_number": "١٢٣"}
        sent = await call("POST", f"/flows/{flow_id}/events/submit_form", odd)
        assert sent.status_code == 422
        assert set(codes(sent)) >= {("full_name.invalid", "full_name"), ("phone.invalid", "phone")}
        assert sent.json()["state"] == "filling_form"

    run(app, scenario)


#: Each: the method, the path, the status and the code it answers.
ODD_ADDRESSES = [
    ("POST", "/flows/no_such_flow", 404, "flow.unknown"),
    ("GET", "/flows/AAAAAAAAAAAAAAAAAAAAAA", 404, "flow.not_found"),
    ("GET", "/flows/%ED%A0%80%00", 404, "flow.not_found"),
    ("POST", "/flows/AAAAAAAAAAAAAAAAAAAAAA/events/confirm_otp", 404, "flow.not_found"),
    ("POST", "/flows/{flow_id}/events/no_such_event", 404, "event.invalid"),
    ("POST", "/flows/{flow_id}/events/submit_login", 404, "event.invalid"),  # another flow's
    ("POST", "/flows/{flow_id}/events/resend_otp", 409, "event.not_allowed"),
    ("GET", "/nowhere", 404, "request.not_found"),
    ("PUT", "/flows/bhxh_registration", 405, "request.not_found"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), ODD_ADDRESSES)
def test_what_does_not_exist_is_a_json_404(
    app: FastAPI, method: str, path: str, status: int, code: str
) -> None:
    async def scenario(call: Call) -> None:
        flow_id = (await call("POST", "/flows/bhxh_registration")).json()["id"]
        sent = await call(method, path.format(flow_id=flow_id), {})
        assert sent.status_code == status
        assert [c for c, _ in codes(sent)] == [code]

    run(app, scenario)


def test_a_post_without_the_anti_csrf_header_is_refused(app: FastAPI) -> None:
    async def scenario(call: Call) -> None:
        sent = await call("POST", "/flows/bhxh_registration", headers={CSRF_HEADER: ""})
        assert (sent.status_code, codes(sent)) == (403, [("request.header_missing", None)])

    run(app, scenario)


def test_a_host_that_checks_requests_otherwise_may_drop_the_header(ports: FakePorts) -> None:
    app = create_app(ports.async_engine(*FLOWS), ApiSettings(csrf_header=""))

    async def scenario(call: Call) -> None:
        sent = await call("POST", "/flows/bhxh_registration", headers={CSRF_HEADER: ""})
        assert sent.status_code == 201

    run(app, scenario)


def test_a_limit_across_flows_is_a_429_with_its_time(ports: FakePorts) -> None:
    limits = RateLimits(starts_per_client=(RateLimit(1, timedelta(hours=1)),))
    engine = ports.async_engine(*FLOWS, policy=Policy(rate_limits=limits), limiter=ports.limiter)
    app = create_app(engine, SETTINGS)

    async def scenario(call: Call) -> None:
        assert (await call("POST", "/flows/bhxh_registration")).status_code == 201
        refused = await call("POST", "/flows/bhxh_registration")
        assert (refused.status_code, codes(refused)) == (429, [("client.start_rate_limited", None)])
        assert refused.json()["errors"][0]["retry_at"]

    run(app, scenario)


def test_cors_lets_only_the_allowed_origins_in(app: FastAPI) -> None:
    async def scenario(call: Call) -> None:
        for origin, allowed in (("https://app.example.vn", True), ("https://evil.example", False)):
            preflight = {
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": CSRF_HEADER,
            }
            answer = await call("OPTIONS", "/flows/bhxh_registration", headers=preflight)
            assert (answer.headers.get("access-control-allow-origin") == origin) is allowed

    run(app, scenario)


class _FlakyBhxh(InMemoryBhxhRegistry):
    """A BHXH registry that is down while `down` is set."""

    down = True

    def lookup(self, bhxh_number: str) -> BhxhRecord | None:
        if self.down:
            raise PortUnavailableError("BHXH is down")
        return super().lookup(bhxh_number)


def test_a_failing_service_is_a_503_and_the_flow_goes_on_after() -> None:
    bhxh = _FlakyBhxh([CITIZEN])
    app = create_app(FakePorts(bhxh=bhxh).async_engine(*FLOWS), SETTINGS)

    async def scenario(call: Call) -> None:
        flow_id = await _to_form(call)
        failed = await call("POST", f"/flows/{flow_id}/events/submit_form", FORM)
        assert (failed.status_code, codes(failed)) == (503, [("bhxh.unavailable", None)])
        assert failed.json()["errors"][0]["retryable"]
        assert failed.json()["state"] == "filling_form"
        bhxh.down = False
        again = await call("POST", f"/flows/{flow_id}/events/submit_form", FORM)
        assert (again.status_code, again.json()["state"]) == (200, "otp_pending")

    run(app, scenario)


def test_the_openapi_schema_lists_every_flows_events_and_fields(app: FastAPI) -> None:
    async def scenario(call: Call) -> None:
        schema = (await call("GET", "/openapi.json")).json()
        paths = schema["paths"]
        for spec in FLOWS:
            assert "post" in paths[f"/flows/{spec.name}"]
            for name, info in spec.events.items():
                body = paths[f"/flows/{{flow_id}}/events/{name}"]["post"]["requestBody"]
                models = body["content"]["application/json"]["schema"]
                found = [
                    m for m in models.get("oneOf", [models]) if m["title"].startswith(spec.name)
                ]
                model = next(
                    m for m in found if m["title"] == f"{spec.name}_v{spec.version}_{name}"
                )
                assert list(model.get("properties", {})) == [f.name for f in info.fields]
                assert set(model.get("required", [])) == {f.name for f in info.fields if f.required}
        submit = paths["/flows/{flow_id}/events/submit_form"]["post"]["requestBody"]
        v2 = next(
            m
            for m in submit["content"]["application/json"]["schema"]["oneOf"]
            if m["title"] == "bhxh_registration_v2_submit_form"
        )
        assert v2["properties"]["phone"]["x-label"] == {"vi": "Số điện thoại", "en": "Phone number"}
        assert v2["properties"]["phone"]["maxLength"] == 320

    run(app, scenario)


def test_settings_come_from_the_environment_and_refuse_an_unsafe_production() -> None:
    environ = {
        "REGFLOW_API_DATABASE": "postgresql://db/regflow",
        "REGFLOW_API_ORIGINS": "https://a.vn, https://b.vn,",
        "REGFLOW_API_OTP_SECRET": "ab" * 32,
    }
    settings = ApiSettings.from_env(environ)
    assert (settings.postgres, settings.origins) == (True, ("https://a.vn", "https://b.vn"))
    assert settings.secret() == bytes.fromhex("ab" * 32)
    assert len(ApiSettings(dev=True).secret()) == 32
    for secret in ("", "zz" * 32, "ab" * 8):
        with pytest.raises(UnsafeSettingsError, match="OTP_SECRET"):
            ApiSettings(otp_secret=secret).secret()

    async def production_without_services() -> None:
        async with open_engine(ApiSettings(database=":memory:", otp_secret="ab" * 32)):
            pass

    with pytest.raises(UnsafeSettingsError, match="BHXH_URL"):
        asyncio.run(production_without_services())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in development mode on a SQLite file
    (its own engine, opened by the app's lifespan)."""
    settings = ApiSettings(dev=True, database=str(tmp_path / "api.sqlite3"))
    config = uvicorn.Config(create_app(settings=settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    listening = socket.create_server(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    server.should_exit = True
    thread.join()
    listening.close()


def _walk_to_the_otp_screen(url: str) -> str:
    """The tiny front-end in Chromium, from "Đăng ký" to the OTP screen; its lead."""
    citizen = demo_citizens()[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(base_url=url)
        page.goto("/")
        page.click("#start")
        expect(page.locator("#state")).to_have_attribute("data-state", "choosing_method")
        page.fill("#subject", "citizen")
        page.fill("#method", "bhxh")
        page.click("#send-choose_method")
        expect(page.locator("#state")).to_have_attribute("data-state", "filling_form")
        page.fill("#bhxh_number", citizen.bhxh_number)
        page.click("#send-submit_form")  # the browser's own check: the required fields
        expect(page.locator("#state")).to_have_attribute("data-state", "filling_form")
        for name, value in attrs.asdict(form_for(citizen)).items():
            if value is not None:
                page.fill(f"#{name}", value)
        page.fill("#phone", "0999")
        page.click("#send-submit_form")
        expect(page.locator("[data-code='phone.invalid']")).to_be_visible()
        page.fill("#phone", form_for(citizen).phone)
        page.click("#send-submit_form")
        expect(page.locator("#state")).to_have_attribute("data-state", "otp_pending")
        expect(page.locator("#code")).to_be_visible()
        lead = page.locator("#state").inner_text()
        page.reload()  # the flow id is kept: the same screen comes back
        expect(page.locator("#state")).to_have_attribute("data-state", "otp_pending")
        browser.close()
    return lead


def test_the_static_front_end_renders_the_ui_nodes_to_the_otp_screen(served: str) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/chromium.sh (scripts/test.sh does)")
    # Playwright's sync API refuses a thread where another browser's event loop runs (the
    # portal's tests keep theirs open for the whole run): this one runs on a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as thread:
        lead = thread.submit(_walk_to_the_otp_screen, served).result()
    assert lead == "Chờ nhập OTP"
