"""Generated paths as concrete scenarios on the fakes, for any declared flow.

A path says "send `submit_form` so that `data_mismatch` decides". A *recipe* knows how: it
arranges the fakes (moves the clock, has another flow register the citizen, tightens a limit)
and returns the event to send. Recipes are looked up by (trigger, outcome), so a host app that
declares its own rule adds one entry to a flow's recipes and every generated path through it
runs.

The OTP and password kits' recipes are written once, for every flow that composes the kits: a
recipe that needs the citizen's code screen in another flow asks the scene
(`Scene.otp_elsewhere`), which replays the flow's own `Playbook.otp_screen` recipes there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import attrs

from regflow._domain import Account, BhxhRecord, ChooseMethod
from regflow._limits import RateLimit, RateLimits
from regflow._methods import CITIZEN_BY_BHXH
from regflow._policy import Policy, VneidPassword
from regflow._view import FlowView
from regflow.declare import EXPIRE, FlowSnapshot, FlowSpec
from regflow.engine import Engine
from regflow.flows.recovery import PASSWORD_RECOVERY, SubmitLogin
from regflow.flows.vneid import (
    VNEID_REGISTRATION,
    BeginVneid,
    LinkByOtp,
    LinkByPassword,
    SkipPassword,
)
from regflow.kits.otp import ConfirmOtp, ResendOtp
from regflow.kits.password import SetPassword
from regflow.machine import BHXH_REGISTRATION
from regflow.ports.identity import Refusal
from regflow.tools._declaration import Declaration, Transition, label
from regflow.tools._fakes import CITIZEN, FakePorts, form_for
from regflow.tools._tap import listening

Event = object

if TYPE_CHECKING:
    from regflow.tools._paths import Path

STRONG_PASSWORD: Final = "Mật-khẩu-1A"  # noqa: S105 - a test password, public on purpose
#: The window of every limit across flows in a scenario: longer than any scenario, so no
#: count runs out when a recipe moves the clock.
SCENARIO_WINDOW: Final = timedelta(days=30)
#: Limits across flows small enough to matter, roomy enough for any generated path and the
#: other flows its recipes run; a recipe tightens one to make its rule decide.
SCENARIO_LIMITS: Final = RateLimits(
    otp_sends_per_phone=(RateLimit(20, SCENARIO_WINDOW),),
    attempts_per_bhxh_number=(RateLimit(20, SCENARIO_WINDOW),),
    attempts_per_client=(RateLimit(20, SCENARIO_WINDOW),),
    mismatches_per_client=(RateLimit(20, SCENARIO_WINDOW),),
    mismatches_per_bhxh_number=(RateLimit(20, SCENARIO_WINDOW),),
    otp_failures_per_citizen=(RateLimit(20, SCENARIO_WINDOW),),
    recoveries_per_client=(RateLimit(20, SCENARIO_WINDOW),),
    recoveries_per_login=(RateLimit(20, SCENARIO_WINDOW),),
)
#: The flow's lifetime is long enough that no recipe's clock move ends the flow unless a
#: path asks for it.
SCENARIO_POLICY: Final = Policy(flow_ttl=timedelta(days=1), rate_limits=SCENARIO_LIMITS)
#: The client key (a documentation address) a scenario sends its events from, and the one
#: the other flows its recipes run come from.
SCENARIO_CLIENT: Final = "203.0.113.7"
OTHER_CLIENT: Final = "198.51.100.23"

#: Builds the engine under test on a scenario's fakes; pass ``limiter=ports.limiter`` so
#: the recipes of the limits across flows can make them decide.
EngineFactory = Callable[[FakePorts, Policy], Engine]


class ScenarioError(AssertionError):
    """A step of a generated path did not do what the path says."""


#: Arranges a scene so that one rule decides, and returns the event to send.
Recipe = Callable[["Scene"], Event]
#: Arranges a scene's fakes before its flow starts.
Prepare = Callable[["Scene"], None]


@attrs.define(kw_only=True)
class Scene:
    """One scenario in progress: the fakes, the policy, the engine, one flow of `flow`.

    `prepare` arranges the fakes before the flow starts (a recovery's citizen has an
    account); `otp_screen` are the recipes that take another flow of `flow` to its code
    screen, for the OTP kit's recipes.
    """

    flow: FlowSpec
    ports: FakePorts
    policy: Policy
    make_engine: EngineFactory
    citizen: BhxhRecord
    client: str = SCENARIO_CLIENT
    otp_screen: tuple[Recipe, ...] = ()
    prepare: Prepare | None = None
    engine: Engine = attrs.field(init=False)
    view: FlowView = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.engine = self.make_engine(self.ports, self.policy)
        if self.prepare is not None:
            self.prepare(self)
        self.view = self.engine.start(self.flow.name)

    @property
    def flow_id(self) -> str:
        return self.view.flow_id

    @property
    def snapshot(self) -> FlowSnapshot:
        """The flow as stored (the fakes keep state a recipe may read)."""
        snapshot = self.ports.flows.load(self.flow_id)
        assert snapshot is not None  # noqa: S101 - the scene started it
        return snapshot

    @property
    def context(self) -> Any:  # noqa: ANN401 - the flow's own context class
        """The stored flow's context (what its rules remember)."""
        return self.snapshot.context

    def send(self, event: Event) -> FlowView:
        self.view = self.engine.send(self.flow_id, event, client=self.client)
        return self.view

    def set_policy(self, **limits: Any) -> None:  # noqa: ANN401 - Policy's fields
        """Change limits from now on: a new engine over the same fakes (flows live there)."""
        self.policy = attrs.evolve(self.policy, **limits)
        self.engine = self.make_engine(self.ports, self.policy)

    def allow(self, **minimums: int) -> None:
        """Raise each named count limit to at least the given value."""
        self.set_policy(**{k: max(v, getattr(self.policy, k)) for k, v in minimums.items()})

    def tighten(self, **amounts: int) -> None:
        """Allow each named limit across flows (a `RateLimits` field) only `amount` requests
        from now on: the limiter counts under each limit apart, so a new one starts at 0."""
        limits = {name: (RateLimit(amount, SCENARIO_WINDOW),) for name, amount in amounts.items()}
        self.set_policy(rate_limits=attrs.evolve(self.policy.rate_limits, **limits))

    def elsewhere(self, *recipes: Recipe, client: str = OTHER_CLIENT) -> FlowView:
        """Another flow of this scene's kind, sent from `client`, takes the events `recipes`
        make, in turn."""
        view = self.engine.start(self.flow.name)
        for recipe in recipes:
            view = self.engine.send(view.flow_id, recipe(self), client=client)
        return view

    def otp_elsewhere(self) -> FlowView:
        """Another flow of this citizen at its code screen (a code texted to their phone)."""
        if not self.otp_screen:
            raise ScenarioError(
                f"{self.flow.name}: an OTP recipe needs the runner's otp_screen, the recipes "
                "that take a flow to its code screen"
            )
        return self.elsewhere(*self.otp_screen)

    def register_elsewhere(self) -> None:
        """Another flow registers this citizen to the end (the seed's "đã có tài khoản"), in
        a scene of the registration (or of a flow extending it)."""
        view = self.elsewhere(_supported_method, _matching_form, _right_code, _strong_password)
        assert view.state == "completed", view.errors  # noqa: S101 - a broken arrangement

    def wrong_code(self) -> str:
        code = self.ports.sms.last_code()
        return f"{(int(code) + 1) % 1_000_000:06d}"


def _supported_method(_: Scene) -> Event:
    return ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method)


def _unsupported_method(_: Scene) -> Event:
    return ChooseMethod("organisation", "vneid")


def _matching_form(scene: Scene) -> Event:
    return form_for(scene.citizen)


def _invalid_form(scene: Scene) -> Event:
    return form_for(scene.citizen, bhxh_number="12345")


def _form_without_id_number(scene: Scene) -> Event:
    """Version 2's form left without the CMND/CCCD number it asks for."""
    return form_for(scene.citizen, id_number="")


def _typo(scene: Scene) -> Event:
    return form_for(scene.citizen, full_name=scene.citizen.full_name + " Bình")


def _mismatch(scene: Scene) -> Event:
    scene.allow(max_mismatches=scene.context.mismatches + 2)
    return _typo(scene)


def _last_mismatch(scene: Scene) -> Event:
    scene.set_policy(max_mismatches=scene.context.mismatches + 1)
    return _typo(scene)


def _form_of_registered_citizen(scene: Scene) -> Event:
    scene.register_elsewhere()
    return _matching_form(scene)


def _right_code(scene: Scene) -> Event:
    return ConfirmOtp(scene.ports.sms.last_code())


def _failed_send_then_code(scene: Scene) -> Event:
    """Only a failed resend leaves a flow waiting for a code that was never sent."""
    scene.allow(otp_max_sends=scene.context.otp_sends + 1)
    _wait_for_resend(scene)
    scene.ports.sms.fail_next()
    scene.send(ResendOtp())
    return ConfirmOtp("000000")


def _code_too_late(scene: Scene) -> Event:
    otp = scene.context.otp
    assert otp is not None  # noqa: S101 - otp_expired needs a code
    scene.ports.clock.set(max(scene.ports.clock.now(), otp.expires_at))
    return _right_code(scene)


def _wrong_code(scene: Scene) -> Event:
    scene.allow(otp_max_attempts=scene.context.otp_failures + 2)
    return ConfirmOtp(scene.wrong_code())


def _code_over_citizen_limit(scene: Scene) -> Event:
    """Another flow of this citizen already had a wrong code, under a limit of one: even
    the right code is then not judged."""
    code = scene.ports.sms.last_code()
    scene.tighten(otp_failures_per_citizen=1)
    other = scene.otp_elsewhere()
    scene.engine.send(other.flow_id, ConfirmOtp(scene.wrong_code()), client=OTHER_CLIENT)
    return ConfirmOtp(code)


def _code_of_registered_citizen(scene: Scene) -> Event:
    """The right code, in a flow whose citizen registered in another flow meanwhile (as a
    probed form lets happen: it did not tell that the account exists)."""
    code = scene.ports.sms.last_code()
    scene.register_elsewhere()
    return ConfirmOtp(code)


def _last_wrong_code(scene: Scene) -> Event:
    scene.set_policy(otp_max_attempts=scene.context.otp_failures + 1)
    return ConfirmOtp(scene.wrong_code())


def _wait_for_resend(scene: Scene) -> None:
    last = scene.context.otp_last_sent_at
    if last is not None:
        clock = scene.ports.clock
        clock.set(max(clock.now(), last + scene.policy.otp_resend_after))


def _resend(scene: Scene) -> Event:
    scene.allow(otp_max_sends=scene.context.otp_sends + 1)
    _wait_for_resend(scene)
    return ResendOtp()


def _resend_over_limit(scene: Scene) -> Event:
    scene.set_policy(otp_max_sends=max(1, scene.context.otp_sends))
    return ResendOtp()


def _resend_at_once(scene: Scene) -> Event:
    snapshot = scene.snapshot
    last = snapshot.context.otp_last_sent_at
    assert last is not None  # noqa: S101 - resend_too_soon needs a code sent
    scene.allow(otp_max_sends=snapshot.context.otp_sends + 1)
    scene.set_policy(otp_resend_after=scene.ports.clock.now() - last + timedelta(minutes=1))
    return ResendOtp()


def _strong_password(_: Scene) -> Event:
    return SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)


def _weak_password(_: Scene) -> Event:
    return SetPassword("matkhau", "matkhau")


def _vetoed_password(scene: Scene) -> Event:
    """The host's veto (the fakes' `FakeVeto`) refuses the account from now on."""
    scene.ports.veto.refusing = True
    return _strong_password(scene)


def _password_of_registered_citizen(scene: Scene) -> Event:
    scene.register_elsewhere()
    return _strong_password(scene)


def _stranger_form(scene: Scene) -> Event:
    """A well-formed form for a BHXH number no seeded record has (every digit moved on)."""
    number = "".join(str((int(digit) + 1) % 10) for digit in scene.citizen.bhxh_number)
    return form_for(scene.citizen, bhxh_number=number)


def _form_over_client_limit(scene: Scene) -> Event:
    """This client already sent a form (for someone else) under a limit of one."""
    scene.tighten(attempts_per_client=1)
    scene.elsewhere(_supported_method, _stranger_form, client=scene.client)
    return _matching_form(scene)


def _form_over_client_mismatch_limit(scene: Scene) -> Event:
    """This client already failed to match a number, under a limit of one."""
    scene.tighten(mismatches_per_client=1)
    scene.elsewhere(_supported_method, _typo, client=scene.client)
    return _matching_form(scene)


def _form_for_probed_number(scene: Scene) -> Event:
    """Another flow already failed to match this BHXH number, under a limit of one: the
    right details then get a real code, as wrong ones would get a decoy."""
    scene.tighten(mismatches_per_bhxh_number=1)
    scene.elsewhere(_supported_method, _typo)
    return _matching_form(scene)


def _form_over_otp_send_limit(scene: Scene) -> Event:
    """Another flow already had a code texted to this phone, under a limit of one."""
    scene.tighten(otp_sends_per_phone=1)
    scene.otp_elsewhere()
    return _matching_form(scene)


def _resend_over_otp_send_limit(scene: Scene) -> Event:
    """A resend this flow may make, to a phone another flow just had a code texted to,
    under a limit of one."""
    event = _resend(scene)
    scene.tighten(otp_sends_per_phone=1)
    scene.otp_elsewhere()
    return event


def _flow_too_old(scene: Scene) -> Event:
    scene.ports.clock.set(max(scene.ports.clock.now(), scene.snapshot.expires_at))
    return ResendOtp()  # any event: the engine checks the flow's lifetime first


def _citizens_login(scene: Scene) -> Event:
    """The "Quên mật khẩu" screen with the citizen's login (their CMND/CCCD number)."""
    return SubmitLogin(scene.citizen.id_number)


def _invalid_login(_: Scene) -> Event:
    return SubmitLogin("12345")


def _login_over_client_limit(scene: Scene) -> Event:
    """This client already asked for a recovery, under a limit of one."""
    scene.tighten(recoveries_per_client=1)
    scene.elsewhere(_citizens_login, client=scene.client)
    return _citizens_login(scene)


def give_account(scene: Scene) -> None:
    """The citizen has an account (with `STRONG_PASSWORD`) before the scene's flow starts:
    what a password recovery needs to send a real code."""
    ports = scene.ports
    account = Account.for_citizen(
        scene.citizen,
        account_id="scenario-account",
        email=None,
        created_at=ports.clock.now(),
        flow_id="scenario-registration",
    )
    ports.users.add(account, ports.hasher.hash(STRONG_PASSWORD))


def _has_account(scene: Scene) -> Account | None:
    return scene.ports.users.find_by_login(scene.citizen.id_number)


def ensure_account(scene: Scene) -> None:
    """The citizen has an account (`give_account`) unless they have one already."""
    if _has_account(scene) is None:
        give_account(scene)


def _begin(_: Scene) -> Event:
    return BeginVneid()


def _approve(scene: Scene) -> Event:
    return scene.ports.identity.approve()


def _approve_with(scene: Scene, **changes: Any) -> Event:  # noqa: ANN401 - identity fields
    """The platform asserts the citizen with `changes` (its `citizen` stays as it was)."""
    platform = scene.ports.identity
    return platform.approve(attrs.evolve(platform.citizen, **changes))


def _approve_registered(scene: Scene) -> Event:
    ensure_account(scene)
    return _approve(scene)


def _forged_state(scene: Scene) -> Event:
    return attrs.evolve(scene.ports.identity.approve(), state="forged-state")


def _server_error(scene: Scene) -> Event:
    return attrs.evolve(scene.ports.identity.cancel(), error="server_error")


def _unknown_code(scene: Scene) -> Event:
    return attrs.evolve(scene.ports.identity.approve(), code="a-code-never-issued")


def _tampered_token(scene: Scene) -> Event:
    scene.ports.identity.refuse_next(Refusal.TOKEN_INVALID, "signature")
    return _approve(scene)


def _landline_identity(scene: Scene) -> Event:
    return _approve_with(scene, phone="02438123456")


def _level_one_identity(scene: Scene) -> Event:
    return _approve_with(scene, level=1)


def _linked_account_id(scene: Scene) -> str:
    account = scene.context.account
    assert account is not None  # noqa: S101 - the link screen has its account
    return str(account.account_id)


def _no_password_link(scene: Scene) -> Event:
    scene.ports.users.password_hashes.pop(_linked_account_id(scene), None)
    return LinkByPassword(STRONG_PASSWORD)


def _right_password(scene: Scene) -> Event:
    ports = scene.ports
    ports.users.set_password_hash(_linked_account_id(scene), ports.hasher.hash(STRONG_PASSWORD))
    return LinkByPassword(STRONG_PASSWORD)


def _wrong_password(scene: Scene) -> Event:
    _right_password(scene)
    scene.allow(otp_max_attempts=scene.context.password_failures + 2)
    return LinkByPassword("Sai-mat-khau-9")


def _last_wrong_password(scene: Scene) -> Event:
    _right_password(scene)
    scene.set_policy(otp_max_attempts=scene.context.password_failures + 1)
    return LinkByPassword("Sai-mat-khau-9")


def _link_otp(_: Scene) -> Event:
    return LinkByOtp()


def _link_otp_over_send_limit(scene: Scene) -> Event:
    """Another flow already had a code texted to the account's phone, under a limit of one."""
    scene.tighten(otp_sends_per_phone=1)
    scene.otp_elsewhere()
    return LinkByOtp()


def _password_with(password: VneidPassword, event: Event) -> Recipe:
    def recipe(scene: Scene) -> Event:
        scene.set_policy(vneid_password=password)
        return event

    return recipe


def _registered_meanwhile(event: Event) -> Recipe:
    def recipe(scene: Scene) -> Event:
        ensure_account(scene)
        return event

    return recipe


_STRONG: Final = SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)

#: The recipes of the OTP and password kits, and of the engine's own `expire`: every flow
#: that composes the kits shares them.
KIT_RECIPES: Final[Mapping[tuple[str, str], Recipe]] = {
    (EXPIRE, "flow_expired"): _flow_too_old,
    ("confirm_otp", "otp_not_sent"): _failed_send_then_code,
    ("confirm_otp", "otp_expired"): _code_too_late,
    ("confirm_otp", "otp_guess_rate_limited"): _code_over_citizen_limit,
    ("confirm_otp", "too_many_attempts"): _last_wrong_code,
    ("confirm_otp", "otp_wrong"): _wrong_code,
    ("confirm_otp", "otherwise"): _right_code,
    ("resend_otp", "send_limit_reached"): _resend_over_limit,
    ("resend_otp", "resend_too_soon"): _resend_at_once,
    ("resend_otp", "otp_send_rate_limited"): _resend_over_otp_send_limit,
    ("resend_otp", "otherwise"): _resend,
    ("set_password", "password_invalid"): _weak_password,
    ("set_password", "otherwise"): _strong_password,
}

#: (trigger, outcome) → how to make that outcome decide in the BHXH registration; outcome is
#: the rule name, or "otherwise" for the unguarded edge. Host apps extend a copy:
#: ``{**RECIPES, …}``.
RECIPES: Final[Mapping[tuple[str, str], Recipe]] = {
    **KIT_RECIPES,
    ("choose_method", "method_unsupported"): _unsupported_method,
    ("choose_method", "otherwise"): _supported_method,
    ("submit_form", "form_invalid"): _invalid_form,
    ("submit_form", "id_form_invalid"): _form_without_id_number,
    ("submit_form", "client_rate_limited"): _form_over_client_limit,
    ("submit_form", "client_mismatch_rate_limited"): _form_over_client_mismatch_limit,
    ("submit_form", "bhxh_number_probed"): _form_for_probed_number,
    ("submit_form", "mismatch_limit_reached"): _last_mismatch,
    ("submit_form", "data_mismatch"): _mismatch,
    ("submit_form", "account_exists"): _form_of_registered_citizen,  # version 1's
    ("submit_form", "account_exists_at_match"): _form_of_registered_citizen,
    ("submit_form", "otp_send_rate_limited"): _form_over_otp_send_limit,
    ("submit_form", "otherwise"): _matching_form,
    ("confirm_otp", "account_exists"): _code_of_registered_citizen,
    ("set_password", "account_exists"): _password_of_registered_citizen,
    ("set_password", "account_creation_veto"): _vetoed_password,
}

#: The recipes of the password recovery (`regflow.PASSWORD_RECOVERY`), for a citizen who
#: has an account (`give_account`).
RECOVERY_RECIPES: Final[Mapping[tuple[str, str], Recipe]] = {
    **KIT_RECIPES,
    ("submit_login", "login_invalid"): _invalid_login,
    ("submit_login", "recovery_rate_limited"): _login_over_client_limit,
    ("submit_login", "otherwise"): _citizens_login,
}


#: The recipes of the registration by VNeID (`regflow.VNEID_REGISTRATION`), on the fake
#: platform (`FakeIdentityPlatform`): an account for the citizen exists only once a recipe
#: makes one (`ensure_account`).
VNEID_RECIPES: Final[Mapping[tuple[str, str], Recipe]] = {
    **KIT_RECIPES,
    ("begin", "otherwise"): _begin,
    ("vneid_callback", "state_mismatch"): _forged_state,
    ("vneid_callback", "citizen_cancelled"): lambda scene: scene.ports.identity.cancel(),
    ("vneid_callback", "platform_failed"): _server_error,
    ("vneid_callback", "code_rejected"): _unknown_code,
    ("vneid_callback", "token_invalid"): _tampered_token,
    ("vneid_callback", "identity_invalid"): _landline_identity,
    ("vneid_callback", "assurance_too_low"): _level_one_identity,
    ("vneid_callback", "account_found"): _approve_registered,
    ("vneid_callback", "otherwise"): _approve,
    ("link_password", "account_has_no_password"): _no_password_link,
    ("link_password", "too_many_wrong_passwords"): _last_wrong_password,
    ("link_password", "password_wrong"): _wrong_password,
    ("link_password", "otherwise"): _right_password,
    ("link_otp", "otp_send_rate_limited"): _link_otp_over_send_limit,
    ("link_otp", "otherwise"): _link_otp,
    ("set_password", "password_not_offered"): _password_with(VneidPassword.NONE, _STRONG),
    ("set_password", "account_appeared"): _registered_meanwhile(_STRONG),
    ("set_password", "otherwise"): _password_with(VneidPassword.OPTIONAL, _STRONG),
    ("skip_password", "password_required"): _password_with(VneidPassword.REQUIRED, SkipPassword()),
    ("skip_password", "account_appeared"): _registered_meanwhile(SkipPassword()),
    ("skip_password", "otherwise"): _password_with(VneidPassword.OPTIONAL, SkipPassword()),
}


@attrs.frozen(kw_only=True)
class Playbook:
    """How the scenarios of one flow are played: its `recipes`, the `otp_screen` recipes
    that take a new flow of it to its code screen (`Scene.otp_elsewhere`), and what the
    fakes need before it starts (`prepare`)."""

    recipes: Mapping[tuple[str, str], Recipe]
    otp_screen: tuple[Recipe, ...] = ()
    prepare: Prepare | None = None


#: Flow name → how the runner plays it by default; a host's extended flow keeps its
#: name, so it gets the playbook of the flow it extends (and passes its own `recipes`).
PLAYBOOKS: Final[Mapping[str, Playbook]] = {
    BHXH_REGISTRATION.name: Playbook(
        recipes=RECIPES, otp_screen=(_supported_method, _matching_form)
    ),
    PASSWORD_RECOVERY.name: Playbook(
        recipes=RECOVERY_RECIPES, otp_screen=(_citizens_login,), prepare=give_account
    ),
    VNEID_REGISTRATION.name: Playbook(
        recipes=VNEID_RECIPES, otp_screen=(_begin, _approve_registered, _link_otp)
    ),
}
_NO_PLAYBOOK: Final = Playbook(recipes={})


def _playbook(runner: ScenarioRunner) -> Playbook:
    return PLAYBOOKS.get(runner.flow.name, _NO_PLAYBOOK)


@attrs.frozen(kw_only=True)
class ScenarioRunner:
    """Runs generated paths of `flow` through the public engine API on fresh fakes, one
    path each.

    `recipes` say how to make each outcome decide, `otp_screen` how another flow reaches
    its code screen, `prepare` what the fakes need first: by default the flow's `PLAYBOOKS`
    entry. `engine` builds the engine under test (by default: on the fakes, running
    `flow`); `ports` builds the fakes for one scenario.
    """

    flow: FlowSpec = BHXH_REGISTRATION
    recipes: Mapping[tuple[str, str], Recipe] = attrs.field(
        default=attrs.Factory(lambda self: _playbook(self).recipes, takes_self=True)
    )
    otp_screen: tuple[Recipe, ...] = attrs.field(
        default=attrs.Factory(lambda self: _playbook(self).otp_screen, takes_self=True)
    )
    prepare: Prepare | None = attrs.field(
        default=attrs.Factory(lambda self: _playbook(self).prepare, takes_self=True)
    )
    engine: EngineFactory | None = None
    ports: Callable[[], FakePorts] = FakePorts.seeded
    policy: Policy = SCENARIO_POLICY
    citizen: BhxhRecord = CITIZEN
    client: str = SCENARIO_CLIENT
    #: The flow as the path generators read it.
    declaration: Declaration = attrs.field(
        init=False,
        default=attrs.Factory(lambda self: Declaration.from_spec(self.flow), takes_self=True),
    )

    def run(self, path: Path) -> list[str | None]:
        """Run `path` from a new flow; returns the states visited, asserting each one."""
        scene = self.scene()
        visited = [scene.view.state]
        for number, step in enumerate(path.steps, 1):
            event = self.arrange(scene, step)
            taken: list[Mapping[str, Any]] = []
            with listening(taken.append):
                view = scene.send(event)
            _expect(number, step, view, taken)
            visited.append(view.state)
        return visited

    def scene(self) -> Scene:
        """A new flow on fresh fakes: what `run` starts from (a test may walk it itself)."""
        return Scene(
            flow=self.flow,
            ports=self.ports(),
            policy=self.policy,
            make_engine=self.engine or self._fake_engine,
            citizen=self.citizen,
            client=self.client,
            otp_screen=self.otp_screen,
            prepare=self.prepare,
        )

    def arrange(self, scene: Scene, step: Transition) -> Event:
        """Arrange `scene` so that `step`'s rule decides; returns the event to send."""
        return self.recipe(step.trigger, step.outcome)(scene)

    def _fake_engine(self, ports: FakePorts, policy: Policy) -> Engine:
        return ports.engine(self.flow, policy=policy, limiter=ports.limiter)

    def recipe(self, trigger: str, outcome: str) -> Recipe:
        try:
            return self.recipes[trigger, outcome]
        except KeyError:
            raise ScenarioError(
                f"no recipe for {trigger} [{outcome}] of {self.flow.name}: add ({trigger!r}, "
                f"{outcome!r}) to the runner's recipes (see regflow.testing.PLAYBOOKS)"
            ) from None


def _expect(number: int, step: Transition, view: FlowView, taken: list[Mapping[str, Any]]) -> None:
    """The step's own edge fired (the last transition logged) and left the flow in its target."""
    last = taken[-1] if taken else {}
    fired = (last.get("source"), last.get("trigger"), last.get("rule"))
    if fired != (step.source, step.trigger, step.rule) or label(view.state) != step.target:
        raise ScenarioError(
            f"step {number} ({step}): the engine took {fired} and is in {view.state}"
            f" with errors {list(view.error_codes())}"
        )
