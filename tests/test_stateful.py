"""Random event sequences against the invariants that must hold after every step.

Hypothesis drives several flows at once, for citizens who share a phone and an ID number,
with valid and invalid payloads, clock jumps and SMS outages. CI runs a few thousand steps;
``REGFLOW_SLOW=1`` runs ten times more.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import date, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from regflow import (
    BhxhRecord,
    ChooseMethod,
    ConfirmOtp,
    FlowView,
    Policy,
    ResendOtp,
    SetPassword,
    State,
    SubmitForm,
)
from regflow.analysis import regflow_declaration
from regflow.engine import codec
from regflow.testing import CITIZEN, STRONG_PASSWORD, FakePorts, form_for

DECLARED_STATES = frozenset(regflow_declaration().states)
#: Two records BHXH holds for one ID number and phone (a re-issued BHXH number), where a
#: duplicate account or a crossed OTP would come from, and a second citizen.
CITIZENS = (
    CITIZEN,
    BhxhRecord(
        bhxh_number="0123456700",
        full_name="Nguyễn Văn An",
        date_of_birth=date(1990, 5, 17),
        phone="+84912345678",
        id_number=CITIZEN.id_number,
    ),
    BhxhRecord(
        bhxh_number="7901234567",
        full_name="Trần Thị Bích Ngọc",
        date_of_birth=date(1985, 12, 2),
        phone="+84987654321",
        id_number="079185000111",
    ),
)
#: Values that differ from every record's, whatever the normalisation.
WRONG = {"full_name": "Lê Thị Hồng", "date_of_birth": "01/01/2000", "phone": "0911000000"}
#: Small limits, so a few steps reach the locks and the send limit.
POLICY = Policy(max_mismatches=3, otp_max_attempts=3, otp_max_sends=3)
SLOW = os.environ.get("REGFLOW_SLOW", "") not in {"", "0"}

fields = st.sampled_from(["bhxh_number", "full_name", "date_of_birth", "phone", "email"])
typed = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(["", "0912345678", "17/05/1990", "31/02/1990", "Nguyen Van An", "a@b.vn"]),
)
passwords = st.one_of(
    st.just(STRONG_PASSWORD), st.text(max_size=20), st.sampled_from(["matkhau", "Abc-1234"])
)


class Registration(RuleBasedStateMachine):
    flows = Bundle("flows")

    def __init__(self) -> None:
        super().__init__()
        self.ports = FakePorts.seeded(*CITIZENS)
        self.engine = self.ports.engine(policy=POLICY)
        self.verified: set[str] = set()  # flows past the OTP step with a code that was sent

    def send(self, flow_id: str, event: object) -> FlowView:
        before = self.ports.flows.load(flow_id)
        view = self.engine.send(flow_id, event)
        assert view.state is not None, view.errors
        assert view.state in DECLARED_STATES
        if before and before.state == State.OTP_PENDING and view.state is State.SETTING_PASSWORD:
            self.check_verified(flow_id, event)
        return view

    def check_verified(self, flow_id: str, event: object) -> None:
        """The OTP step is passed only with a code texted to the phone BHXH holds."""
        citizen = self.ports.flows.flows[flow_id].context.citizen
        assert citizen is not None
        assert self.ports.bhxh.lookup(citizen.bhxh_number) == citizen
        assert isinstance(event, ConfirmOtp)
        texted = {code for sms in self.ports.sms.sent if sms.phone == citizen.phone
                  for code in re.findall(r"\b\d{6}\b", sms.text)}  # fmt: skip
        assert event.code in texted
        self.verified.add(flow_id)

    def new_flow(self) -> str:
        view = self.engine.start("bhxh_registration")
        assert view.state is State.CHOOSING_METHOD
        return view.flow_id

    @initialize(target=flows)
    def first_flow(self) -> str:
        return self.new_flow()

    @rule(target=flows)
    def another_flow(self) -> str:
        return self.new_flow()

    @rule(flow=flows, subject=st.sampled_from(["citizen", "citizen", "organisation", ""]))
    def choose(self, flow: str, subject: str) -> None:
        self.send(flow, ChooseMethod(subject, "bhxh"))

    @rule(flow=flows, citizen=st.sampled_from(CITIZENS))
    def submit_matching_form(self, flow: str, citizen: BhxhRecord) -> None:
        self.send(flow, form_for(citizen))

    @rule(flow=flows, citizen=st.sampled_from(CITIZENS), field=fields, value=typed)
    def submit_altered_form(
        self, flow: str, citizen: BhxhRecord, field: str, value: str | None
    ) -> None:
        self.send(flow, form_for(citizen, **{field: value}))

    @rule(flow=flows, citizen=st.sampled_from(CITIZENS))
    def register_as_told(self, flow: str, citizen: BhxhRecord) -> None:
        """A citizen who gets every step right, from wherever the flow is."""
        self.send(flow, ChooseMethod("citizen", "bhxh"))
        self.send(flow, form_for(citizen))
        self.confirm_last_code(flow, citizen.phone)

    @rule(flow=flows, citizen=st.sampled_from(CITIZENS))
    def register_to_the_end(self, flow: str, citizen: BhxhRecord) -> None:
        self.register_as_told(flow, citizen)
        self.send(flow, SetPassword(STRONG_PASSWORD, STRONG_PASSWORD))

    @rule(flow=flows, citizen=st.sampled_from(CITIZENS), field=st.sampled_from(sorted(WRONG)))
    def submit_mismatching_form(self, flow: str, citizen: BhxhRecord, field: str) -> None:
        before = self.ports.flows.flows[flow].state
        view = self.send(flow, form_for(citizen, **{field: WRONG[field]}))
        if before in {State.FILLING_FORM, State.DATA_MISMATCH}:
            assert view.state not in {State.OTP_PENDING, State.ACCOUNT_EXISTS}
            assert self.ports.flows.flows[flow].context.citizen is None

    @rule(flow=flows, phone=st.sampled_from(sorted({c.phone for c in CITIZENS})))
    def confirm_last_code(self, flow: str, phone: str) -> None:
        try:
            code = self.ports.sms.last_code(phone)
        except LookupError:
            code = "123456"
        self.send(flow, ConfirmOtp(code))

    @rule(flow=flows, code=st.text(alphabet="0123456789 x", max_size=8))
    def confirm_typed_code(self, flow: str, code: str) -> None:
        self.send(flow, ConfirmOtp(code))

    @rule(flow=flows)
    def resend(self, flow: str) -> None:
        self.send(flow, ResendOtp())

    @rule(flow=flows, password=passwords, same=st.booleans())
    def set_password(self, flow: str, password: str, same: bool) -> None:
        self.send(flow, SetPassword(password, password if same else password + "!"))

    @rule(flow=flows)
    def send_what_is_not_an_event(self, flow: str) -> None:
        view = self.engine.send(flow, SubmitForm)  # the class, not an event of it
        assert view.error_codes() == ("event.invalid",)

    @rule()
    def send_to_an_unknown_flow(self) -> None:
        view = self.engine.send("no-such-flow", ResendOtp())
        assert (view.state, view.error_codes()) == (None, ("flow.not_found",))

    @rule(seconds=st.sampled_from([1, 59, 61, 299, 301]) | st.integers(0, 40 * 60))
    def time_passes(self, seconds: int) -> None:
        self.ports.clock.advance(timedelta(seconds=seconds))

    @rule(times=st.integers(min_value=1, max_value=2))
    def sms_gateway_fails(self, times: int) -> None:
        self.ports.sms.fail_next(times)

    @invariant()
    def every_account_is_a_verified_bhxh_match_at_level_2(self) -> None:
        for account in self.ports.users.accounts.values():
            record = self.ports.bhxh.lookup(account.bhxh_number)
            assert record is not None
            assert (record.id_number, record.full_name) == (account.id_number, account.full_name)
            assert account.flow_id in self.verified
            assert account.verification_level == 2
            assert self.ports.flows.flows[account.flow_id].state == State.COMPLETED

    @invariant()
    def never_two_accounts_for_one_id_number(self) -> None:
        ids = Counter(account.id_number for account in self.ports.users.accounts.values())
        assert all(count == 1 for count in ids.values()), ids

    @invariant()
    def every_flow_is_in_a_declared_state_and_round_trips(self) -> None:
        specs = {spec.name: spec for spec in self.engine.flows}
        for snapshot in self.ports.flows.flows.values():
            assert snapshot.state in DECLARED_STATES
            stored = codec.loads(codec.dumps(snapshot))
            assert codec.typed(stored, specs[snapshot.flow]) == snapshot


Registration.TestCase.settings = settings(
    max_examples=2000 if SLOW else 200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRegistration = Registration.TestCase
