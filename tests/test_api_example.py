"""The JSON API example (examples/api) through its ASGI app with httpx: a registration end to
end (on the fakes, and on PostgreSQL), odd input, a failing service, CORS, the OpenAPI schema."""

from __future__ import annotations

import asyncio
import json
import os
from typing import TYPE_CHECKING, Any

import attrs
import httpx
import psycopg
import pytest

from regflow import PortUnavailableError
from regflow.adapters.memory import InMemoryBhxhRegistry
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
    from collections.abc import Awaitable, Callable, Coroutine

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
        assert fields["id_number"]["required"] and not fields["email"]["required"]
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
        assert done.json()["account_id"] == ports.users.find(CITIZEN.id_number, None).account_id
        assert done.json()["ui"]["nodes"] == []
        again = await call("GET", f"/flows/{flow_id}")
        assert again.json()["state"] == "completed"
        late = await call("POST", f"{events}/set_password", password)
        assert (late.status_code, codes(late)) == (409, [("flow.finished", None)])

    run(app, scenario)


@pytest.mark.skipif(not POSTGRES_DSN, reason="needs $REGFLOW_TEST_POSTGRES_DSN")
def test_a_citizen_registers_on_postgresql() -> None:
    assert POSTGRES_DSN is not None
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as connection:
        connection.execute(
            "DROP TABLE IF EXISTS regflow_flows, regflow_id_numbers, regflow_accounts"
        )
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
