"""docs/adapters.md, run: its template files, its Python, and its SMS gateway on a mock provider."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from regflow import CITIZEN_BY_BHXH, SHIPPED_FLOWS, Account, ChooseMethod, Engine
from regflow.testing import CITIZEN, STRONG_PASSWORD, FakePorts, form_for

if TYPE_CHECKING:
    import pytest

DOC = Path(__file__).parent.parent / "docs" / "adapters.md"
BLOCK = re.compile(r"```(python|toml)\n(.*?)```", re.DOTALL)
NAMED = re.compile(r"# (\S+\.toml)\n")


def blocks(kind: str) -> list[str]:
    return [body for found, body in BLOCK.findall(DOC.read_text(encoding="utf-8")) if found == kind]


def run_the_doc(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Write the doc's named TOML files into `folder`, then run its Python blocks there."""
    for body in blocks("toml"):
        if named := NAMED.match(body):
            (folder / named.group(1)).write_text(body, encoding="utf-8")
    monkeypatch.chdir(folder)
    namespace: dict[str, Any] = {}
    for body in blocks("python"):
        exec(compile(body, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


def test_the_doc_shows_the_shipped_template_as_it_ships() -> None:
    shipped = resources.files("regflow").joinpath("sms_templates.toml").read_text("utf-8")
    shown = next(body for body in blocks("toml") if not NAMED.match(body))

    assert tomllib.loads(shown) == tomllib.loads(shipped)


def test_the_docs_template_and_gateway_send_the_otp_as_the_provider_takes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace = run_the_doc(tmp_path, monkeypatch)
    assert capsys.readouterr().out.startswith(
        "BHXHVN: Ma OTP dang ky tai khoan Cong Dich vu cong Quoc gia cua ban la {code:6}. "
    )
    posted: list[dict[str, Any]] = []

    def provider(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(200, json={"status": "accepted"})

    client = httpx.Client(base_url="https://sms.example", transport=httpx.MockTransport(provider))
    ports = FakePorts.seeded()
    engine = Engine(
        *SHIPPED_FLOWS,
        bhxh=ports.bhxh,
        sms=namespace["ProviderSmsGateway"](client),
        users=ports.users,
        flows=ports.flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        policy=namespace["policy"],
        ports={"identity": ports.identity},
    )
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method))

    view = engine.send(flow_id, form_for())

    assert view.ok
    (sent,) = posted
    assert sent["brandname"] == "BHXHVN"
    assert sent["template_id"] == "TPL-20418"
    assert sent["phone"] == "84912345678"
    assert re.fullmatch(r"\d{6}", sent["params"][0])
    assert sent["params"][1] == "5"
    assert namespace["templates"]["otp"].brandname == "BHXHVN"  # the doc's own file loaded


def test_the_docs_login_page_takes_the_password_the_recovery_set_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = FakePorts.seeded()
    account = Account(
        account_id="acc-1",
        id_number=CITIZEN.id_number,
        bhxh_number=CITIZEN.bhxh_number,
        full_name=CITIZEN.full_name,
        date_of_birth=CITIZEN.date_of_birth,
        phone=CITIZEN.phone,
        email=None,
        verification_level=2,
        source="bhxh",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        flow_id="flow-1",
        former_id_numbers=("012345678",),
    )
    ports.users.add(account, ports.hasher.hash("Mật-khẩu-cũ-1A"))
    page = run_the_doc(tmp_path, monkeypatch)["LoginPage"](ports.users, ports.hasher)

    assert page.log_in(CITIZEN.id_number, "Mật-khẩu-cũ-1A") == account
    assert page.log_in("012345678", "Mật-khẩu-cũ-1A") == account  # by its former CMND
    assert page.log_in(CITIZEN.id_number, STRONG_PASSWORD) is None
    assert page.log_in("999999999", "Mật-khẩu-cũ-1A") is None
    ports.users.set_password_hash(account.account_id, ports.hasher.hash(STRONG_PASSWORD))
    assert page.log_in(CITIZEN.id_number, "Mật-khẩu-cũ-1A") is None
    assert page.log_in(CITIZEN.id_number, STRONG_PASSWORD) == account
