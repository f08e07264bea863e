"""What a SQL store keeps of a flow: a short document (snapshot schema 3) that loads back equal."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import TYPE_CHECKING, Any

import attrs

from regflow import (
    BHXH_REGISTRATION,
    ChooseMethod,
    ConfirmOtp,
    FlowSnapshot,
    ResendOtp,
    SetPassword,
    State,
)
from regflow.adapters.sqlite import SqliteFlowStore, SqliteUserStore
from regflow.engine import codec
from regflow.flows.registration import account_of
from regflow.ports import FlowStore
from regflow.testing import FakePorts, form_for

from .conftest import STRONG_PASSWORD, Backend, engine_on

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path


@attrs.define
class Recording:
    """A flow store that remembers the snapshot the engine saved last."""

    store: FlowStore
    saved: FlowSnapshot | None = None

    def load(self, flow_id: str) -> FlowSnapshot | None:
        return self.store.load(flow_id)

    def save(self, snapshot: FlowSnapshot) -> None:
        self.store.save(snapshot)
        self.saved = snapshot

    def purge_expired(self, now: datetime) -> int:
        return self.store.purge_expired(now)


class Walk:
    """One flow over a backend; each step checks that the snapshot saved loads back equal."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.ports = FakePorts.seeded()
        users, store = backend.open()
        self.flows = Recording(store)
        self.engine = engine_on(self.ports, users, self.flows)
        self.flow_id = self.engine.start("bhxh_registration").flow_id

    def reloaded(self, event: object | None = None) -> str:
        """The state after `event`, once the saved snapshot loaded back equal elsewhere."""
        if event is not None:
            self.engine.send(self.flow_id, event)
        _, elsewhere = self.backend.open()  # as another process would
        assert self.flows.saved is not None
        loaded = elsewhere.load(self.flow_id)
        assert loaded is not None
        assert codec.typed(loaded, BHXH_REGISTRATION) == self.flows.saved
        return self.flows.saved.state


def test_every_step_of_a_flow_loads_back_equal(shared_backend: Backend) -> None:
    walk = Walk(shared_backend)

    states = [
        walk.reloaded(),
        walk.reloaded(ChooseMethod("citizen", "bhxh")),
        walk.reloaded(form_for(full_name="Trần Thị Bình")),
        walk.reloaded(form_for()),
        walk.reloaded(ConfirmOtp("000000")),
    ]
    walk.ports.clock.advance(seconds=61)
    states += [
        walk.reloaded(ResendOtp()),
        walk.reloaded(ConfirmOtp(walk.ports.sms.last_code())),
        walk.reloaded(SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)),
    ]

    assert states == [
        State.CHOOSING_METHOD,
        State.FILLING_FORM,
        State.DATA_MISMATCH,
        *[State.OTP_PENDING] * 3,
        State.SETTING_PASSWORD,
        State.COMPLETED,
    ]


def test_an_expired_flow_loads_back_equal(shared_backend: Backend) -> None:
    walk = Walk(shared_backend)
    walk.ports.clock.advance(hours=1)

    assert walk.reloaded(ChooseMethod("citizen", "bhxh")) is State.EXPIRED


# --- the document itself --------------------------------------------------------------------

BASE64URL_SHA256 = re.compile(r"[A-Za-z0-9_-]{43}")


def stored(path: Path, flow_id: str) -> tuple[str, dict[str, Any]]:
    """The readable `state` column and the JSON document of a flow in a SQLite file."""
    with sqlite3.connect(path) as connection:
        state, text = connection.execute(
            "SELECT state, snapshot FROM regflow_flows WHERE flow_id = ?", (flow_id,)
        ).fetchone()
    connection.close()
    return state, json.loads(text)


def test_a_flow_in_flight_is_stored_short(tmp_path: Path) -> None:
    path = tmp_path / "regflow.sqlite3"
    ports = FakePorts.seeded()
    engine = engine_on(ports, SqliteUserStore(path), SqliteFlowStore(path))
    view = engine.send(engine.start("bhxh_registration").flow_id, ChooseMethod("citizen", "bhxh"))
    view = engine.send(view.flow_id, form_for())

    state, document = stored(path, view.flow_id)

    assert state == "otp_pending"  # the column stays readable
    assert "state" not in document  # the path says it: [..., "otp_pending"]
    context = document["context"]
    assert all(type(document[name]) is int for name in ["created_at", "expires_at"])
    assert "updated_at" not in document  # unsaid: every step of it ran in the same second
    assert type(context["otp_last_sent_at"]) is int
    assert type(context["otp"]["expires_at"]) is int
    assert BASE64URL_SHA256.fullmatch(context["otp"]["code_hash"])
    assert document["schema"] == 4
    assert document["flow_version"] == 3  # the version of the declaration it runs on
    assert len(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()) < 544


def test_a_completed_flow_is_stored_short_and_reads_back_its_account(tmp_path: Path) -> None:
    path = tmp_path / "regflow.sqlite3"
    ports = FakePorts.seeded()
    flows = SqliteFlowStore(path)
    engine = engine_on(ports, SqliteUserStore(path), flows)
    view = engine.send(engine.start("bhxh_registration").flow_id, ChooseMethod("citizen", "bhxh"))
    view = engine.send(view.flow_id, form_for())
    view = engine.send(view.flow_id, ConfirmOtp(ports.sms.last_code()))
    ports.clock.advance(minutes=2)  # the account is made later than the flow
    view = engine.send(view.flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    state, document = stored(path, view.flow_id)
    loaded = flows.load(view.flow_id)

    assert (state, "state" in document, "finished" in document) == ("completed", False, False)
    assert loaded is not None
    account = account_of(codec.typed(loaded, BHXH_REGISTRATION))
    assert account is not None
    assert account.created_at == loaded.updated_at != loaded.created_at
    assert (account.source, account.verification_level) == ("bhxh", 2)
    assert account == view.account
    assert "account_created_at" not in document["context"]  # made by the completing save
    assert len(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()) < 512
