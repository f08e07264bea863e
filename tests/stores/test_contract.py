"""The contract of `UserStore` and `FlowStore`: every adapter passes the same tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

from regflow import (
    Account,
    DuplicateAccountError,
    FlowSnapshot,
    OtpChallenge,
    SetPassword,
    StaleFlowError,
    State,
)
from regflow.adapters.argon2 import Argon2Hasher
from regflow.flows.registration import RegistrationContext
from regflow.testing import CITIZEN, FakePorts

from .conftest import STRONG_PASSWORD, Backend, at_password, engine_on, typed

HANOI = timezone(timedelta(hours=7))
#: The CMND (9 digits) the citizen's documents carried before the CCCD of `CITIZEN`.
CMND = "012345678"
START = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)


def account_for(**changes: Any) -> Account:
    account = Account(
        account_id="acc-1",
        id_number=CITIZEN.id_number,
        bhxh_number=CITIZEN.bhxh_number,
        full_name=CITIZEN.full_name,
        date_of_birth=CITIZEN.date_of_birth,
        phone=CITIZEN.phone,
        email="an@example.vn",
        verification_level=2,
        source="bhxh",
        created_at=START,
        flow_id="flow-1",
    )
    return attrs.evolve(account, **changes)


def snapshot(
    flow_id: str = "flow-1", version: int = 1, context: Any = None, **changes: Any
) -> FlowSnapshot:
    first = FlowSnapshot(
        flow_id=flow_id,
        flow="bhxh_registration",
        version=version,
        state=State.CHOOSING_METHOD,
        created_at=START,
        expires_at=START + timedelta(minutes=30),
        updated_at=START,
        context=context or RegistrationContext(),
    )
    return attrs.evolve(first, **changes)


# --- FlowStore ------------------------------------------------------------------------------


def test_an_unknown_flow_loads_as_none(backend: Backend) -> None:
    _, flows = backend.open()

    assert flows.load("no-such-flow") is None


def test_every_field_of_a_snapshot_survives_a_save(backend: Backend) -> None:
    _, flows = backend.open()
    full = snapshot(
        state=State.OTP_PENDING,
        path=(State.FILLING_FORM, State.DATA_MISMATCH, State.FILLING_FORM),
        context=RegistrationContext(
            subject="citizen",
            method="bhxh",
            citizen=attrs.evolve(CITIZEN, former_id_numbers=(CMND,)),
            email="an@example.vn",
            mismatches=2,
            otp=OtpChallenge(code_hash="ab" * 32, expires_at=START.astimezone(HANOI)),
            otp_sends=3,
            otp_last_sent_at=START + timedelta(seconds=61),
            otp_failures=4,
            account_id="account-1",
            account_created_at=START + timedelta(minutes=2),
            probed=True,
            decoy=True,
            decoy_phone=CITIZEN.phone,
        ),
    )

    flows.save(full)

    assert typed(flows.load("flow-1")) == full


def test_a_first_save_of_a_known_flow_id_is_stale(backend: Backend) -> None:
    _, flows = backend.open()
    flows.save(snapshot())

    with pytest.raises(StaleFlowError):
        flows.save(snapshot(state=State.FILLING_FORM))

    assert typed(flows.load("flow-1")) == snapshot()


@pytest.mark.parametrize("version", [2, 4], ids=["repeated", "skipped"])
def test_a_save_must_follow_the_stored_version(backend: Backend, version: int) -> None:
    _, flows = backend.open()
    flows.save(snapshot())
    second = snapshot(version=2, state=State.FILLING_FORM)
    flows.save(second)

    with pytest.raises(StaleFlowError):
        flows.save(snapshot(version=version, state=State.LOCKED))

    assert typed(flows.load("flow-1")) == second


def test_a_later_version_of_an_unknown_flow_is_stale(backend: Backend) -> None:
    _, flows = backend.open()

    with pytest.raises(StaleFlowError):
        flows.save(snapshot(version=2))

    assert flows.load("flow-1") is None


def test_purging_deletes_exactly_the_flows_whose_time_is_up(backend: Backend) -> None:
    _, flows = backend.open()
    now = START + timedelta(minutes=30)
    for flow_id, expires_at in [("past", now - timedelta(seconds=1)), ("now", now)]:
        flows.save(snapshot(flow_id, expires_at=expires_at))
    flows.save(snapshot("later", expires_at=(now + timedelta(microseconds=1)).astimezone(HANOI)))

    assert flows.purge_expired(now) == 2
    assert flows.load("past") is None
    assert flows.load("now") is None
    assert flows.load("later") is not None
    assert flows.purge_expired(now) == 0


# --- UserStore ------------------------------------------------------------------------------

OTHER_ID = "123123123"


class UserStoreContract:
    """The contract of `UserStore`: a host's own adapter subclasses it in a `Test…` class
    beside a `backend` fixture of its own (examples/django does), and passes the same tests."""

    def test_a_citizen_without_an_account_finds_none(self, backend: Backend) -> None:
        users, _ = backend.open()

        assert users.find(CITIZEN.id_number, CITIZEN.bhxh_number) is None

    @pytest.mark.parametrize("by", ["id_number", "bhxh_number"])
    def test_an_added_account_is_found_by_either_number(self, backend: Backend, by: str) -> None:
        users, _ = backend.open()
        account = account_for()
        users.add(account, "hash")

        numbers = {"id_number": "999999999", "bhxh_number": "9999999999"}
        numbers[by] = getattr(CITIZEN, by)

        assert users.find(**numbers) == account

    def test_find_prefers_the_account_of_the_id_number(self, backend: Backend) -> None:
        users, _ = backend.open()
        by_bhxh = account_for(account_id="acc-1", id_number="111111111", bhxh_number="1111111111")
        by_id = account_for(account_id="acc-2", id_number="222222222", bhxh_number="2222222222")
        users.add(by_bhxh, "hash")
        users.add(by_id, "hash")

        assert users.find("222222222", "1111111111") == by_id

    @pytest.mark.parametrize("shared", ["id_number", "bhxh_number"])
    def test_a_second_account_for_either_number_is_refused(
        self, backend: Backend, shared: str
    ) -> None:
        users, _ = backend.open()
        first = account_for()
        users.add(first, "hash")
        other = {"id_number": "123456789", "bhxh_number": "9876543210"}
        other.pop(shared)
        second = account_for(account_id="acc-2", flow_id="flow-2", **other)

        with pytest.raises(DuplicateAccountError):
            users.add(second, "hash-2")

        assert users.find(second.id_number, second.bhxh_number) == first
        assert users.find(other.get("id_number", "-"), other.get("bhxh_number", "-")) is None

    def test_account_dates_survive_a_save(self, backend: Backend) -> None:
        users, _ = backend.open()
        account = account_for(
            date_of_birth=date(1900, 1, 2),
            created_at=START.astimezone(HANOI),
            email=None,
        )
        users.add(account, "hash")

        assert users.find(CITIZEN.id_number, CITIZEN.bhxh_number) == account

    @pytest.mark.parametrize("by", ["current", "former"])
    def test_an_account_is_found_by_any_of_its_id_numbers(self, backend: Backend, by: str) -> None:
        users, _ = backend.open()
        account = account_for(former_id_numbers=(CMND, "013456789"))
        users.add(account, "hash")
        known = CITIZEN.id_number if by == "current" else "013456789"

        assert users.find("999999999", "9999999999", ("888888888", known)) == account
        assert users.find(known, "9999999999") == account

    def test_an_account_s_former_numbers_survive_a_save_in_order(self, backend: Backend) -> None:
        users, _ = backend.open()
        account = account_for(former_id_numbers=("013456789", CMND))
        users.add(account, "hash")

        found = users.find(CITIZEN.id_number, CITIZEN.bhxh_number)

        assert found == attrs.evolve(account, former_id_numbers=(CMND, "013456789"))

    @pytest.mark.parametrize(
        ("first_former", "rival_current", "rival_former"),
        [((), OTHER_ID, (CITIZEN.id_number,)), ((CMND,), CMND, ()), ((CMND,), OTHER_ID, (CMND,))],
        ids=["current-as-former", "former-as-current", "former-as-former"],
    )
    def test_no_two_accounts_share_an_id_number_current_or_former(
        self,
        backend: Backend,
        first_former: tuple[str, ...],
        rival_current: str,
        rival_former: tuple[str, ...],
    ) -> None:
        users, _ = backend.open()
        users.add(account_for(former_id_numbers=first_former), "hash")
        rival = account_for(
            account_id="acc-2",
            flow_id="flow-2",
            id_number=rival_current,
            bhxh_number="9876543210",
            former_id_numbers=rival_former,
        )

        with pytest.raises(DuplicateAccountError):
            users.add(rival, "hash-2")

        assert users.find("000000000", "9876543210") is None  # nothing of the rival was kept
        assert users.find(OTHER_ID, "0000000000") is None

    def test_a_flow_s_own_account_gets_the_new_password_hash(self, backend: Backend) -> None:
        users, _ = backend.open()
        account = account_for()
        users.add(account, "first-hash")

        users.replace_password_hash(account, "second-hash")

        assert backend.password_hash(account.account_id) == "second-hash"
        assert users.find(CITIZEN.id_number, CITIZEN.bhxh_number) == account

    @pytest.mark.parametrize(
        "changes", [{"flow_id": "flow-2"}, {"account_id": "acc-2"}], ids=["other-flow", "unknown"]
    )
    def test_no_other_account_s_password_hash_is_replaced(
        self, backend: Backend, changes: dict[str, Any]
    ) -> None:
        users, _ = backend.open()
        account = account_for()
        users.add(account, "first-hash")

        with pytest.raises(LookupError):
            users.replace_password_hash(attrs.evolve(account, **changes), "second-hash")

        assert backend.password_hash(account.account_id) == "first-hash"

    # --- what the password recovery and a host's login page use ---------------------------

    @pytest.mark.parametrize("by", ["current", "former"])
    def test_an_account_is_found_by_its_login_current_or_former(
        self, backend: Backend, by: str
    ) -> None:
        users, _ = backend.open()
        account = account_for(former_id_numbers=(CMND,))
        users.add(account, "hash")

        assert users.find_by_login(CITIZEN.id_number if by == "current" else CMND) == account

    @pytest.mark.parametrize("login", ["999999999", CITIZEN.bhxh_number], ids=["unknown", "bhxh"])
    def test_no_account_is_found_by_a_login_that_is_none_of_its_id_numbers(
        self, backend: Backend, login: str
    ) -> None:
        users, _ = backend.open()
        users.add(account_for(former_id_numbers=(CMND,)), "hash")

        assert users.find_by_login(login) is None

    def test_the_password_hash_of_an_account_is_the_one_it_was_added_with(
        self, backend: Backend
    ) -> None:
        users, _ = backend.open()
        users.add(account_for(), "first-hash")

        assert users.password_hash("acc-1") == "first-hash"
        assert users.password_hash("acc-2") is None

    def test_setting_a_password_hash_replaces_that_account_s_alone(self, backend: Backend) -> None:
        users, _ = backend.open()
        account = account_for()
        other = account_for(account_id="acc-2", id_number=OTHER_ID, bhxh_number="9876543210")
        users.add(account, "first-hash")
        users.add(other, "other-hash")

        users.set_password_hash(account.account_id, "second-hash")

        assert users.password_hash(account.account_id) == "second-hash"
        assert backend.password_hash(account.account_id) == "second-hash"
        assert users.password_hash(other.account_id) == "other-hash"
        assert users.find_by_login(CITIZEN.id_number) == account

    def test_setting_the_password_hash_of_an_unknown_account_raises_lookup_error(
        self,
        backend: Backend,
    ) -> None:
        users, _ = backend.open()
        users.add(account_for(), "first-hash")

        with pytest.raises(LookupError):
            users.set_password_hash("acc-2", "second-hash")

        assert users.password_hash("acc-1") == "first-hash"
        assert users.password_hash("acc-2") is None

    def test_the_old_password_stops_working_once_a_new_hash_is_set(self, backend: Backend) -> None:
        users, _ = backend.open()
        hasher = Argon2Hasher()
        users.add(account_for(), hasher.hash("old password"))

        users.set_password_hash("acc-1", hasher.hash(STRONG_PASSWORD))

        stored = users.password_hash("acc-1")
        assert stored is not None
        assert not hasher.verify(stored, "old password")
        assert hasher.verify(stored, STRONG_PASSWORD)


class TestUserStore(UserStoreContract):
    """On memory, SQLite and PostgreSQL (`backend`, in conftest.py)."""


# --- the engine on every store --------------------------------------------------------------


def test_a_registration_completes_and_is_purged_on_every_store(
    backend: Backend, ports: FakePorts
) -> None:
    users, flows = backend.open()
    engine = engine_on(ports, users, flows)
    flow_id = at_password(engine, ports).flow_id

    view = engine.send(flow_id, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    assert view.state is State.COMPLETED
    assert users.find(CITIZEN.id_number, CITIZEN.bhxh_number) == view.account
    ports.clock.advance(engine.policy.flow_ttl)
    assert engine.purge_expired() == 1
    assert flows.load(flow_id) is None
