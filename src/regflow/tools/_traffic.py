"""Simulated citizens: traffic with known answers, for `regflow report` and its tests.

`simulate` drives a `Crowd` of citizens through the real engine on the fakes, each its own
BHXH record, with the chosen proportions (a first form with a wrong name, a first code
typed wrong, giving up at each step) and delays between their steps on a fake clock. The
citizens arrive over a window and act in the order of their clocks, on several app servers
(one engine each, over shared stores) that each write their own audit log, the JSON lines
docs/operations.md configures. It returns what really happened to every citizen, so a
report read from the logs can be checked against it.
"""

from __future__ import annotations

import functools
import heapq
import random
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

import attrs
import structlog

from regflow._domain import BhxhRecord, ChooseMethod
from regflow._methods import CITIZEN_BY_BHXH
from regflow._policy import Policy
from regflow.engine import Engine
from regflow.kits.otp import ConfirmOtp
from regflow.kits.password import SetPassword
from regflow.machine import (
    BHXH_REGISTRATION,
    BHXH_REGISTRATION_V1,
    BHXH_REGISTRATION_V2,
    State,
)
from regflow.tools._fakes import FakePorts, form_for
from regflow.tools._report import abandoned
from regflow.tools._scenario import STRONG_PASSWORD

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from regflow._view import FlowView
    from regflow.declare import FlowSpec

#: Seconds a citizen spends in each state before acting, drawn uniformly from the range.
DELAYS: Final[Mapping[str, tuple[int, int]]] = {
    State.CHOOSING_METHOD: (5, 25),
    State.FILLING_FORM: (40, 160),
    State.DATA_MISMATCH: (20, 80),
    State.OTP_PENDING: (15, 75),
    State.SETTING_PASSWORD: (10, 50),
}
_WRONG_NAME: Final = "Trần Thị Khác"


@attrs.frozen(kw_only=True)
class Crowd:
    """Who comes, and how they behave.

    `mismatch_rate`: the share whose first form has a wrong name (they see `data_mismatch`,
    then send the right one unless they give up there); `wrong_otp_rate`: the share whose
    first code is wrong; `abandon`: the chance a citizen gives up in each state (never
    acting again); `delays`: the seconds spent in each state (uniform ranges). Citizens
    arrive uniformly over `arrivals`, spread evenly over `versions` of the registration
    (a flow keeps the version it began with) and their requests over `servers`.
    """

    citizens: int = 1_000
    mismatch_rate: float = 0.1
    wrong_otp_rate: float = 0.1
    abandon: Mapping[str, float] = attrs.field(factory=dict)
    delays: Mapping[str, tuple[int, int]] = DELAYS
    arrivals: timedelta = timedelta(hours=4)
    versions: tuple[int, ...] = (1,)
    servers: int = 1
    seed: int = 0


@attrs.define
class Truth:
    """What happened, counted by the simulation itself: the answers a report must give."""

    #: By declaration version: the flows begun, and where each ended (its terminal state,
    #: or `abandoned(state)`).
    started: Counter[int] = attrs.Factory(Counter)
    outcomes: dict[int, Counter[str]] = attrs.Factory(dict)
    mismatches: Counter[int] = attrs.Factory(Counter)
    wrong_codes: Counter[int] = attrs.Factory(Counter)
    #: The logs written, one per server, and a time by which every flow is past its
    #: lifetime (the report's `as_of`).
    logs: list[Path] = attrs.Factory(list)
    as_of: datetime | None = None


class _Router:
    """The file structlog writes to: the log of the server handling the current request."""

    def __init__(self, files: Sequence[TextIO]) -> None:
        self.files = files
        self.current = files[0]

    def write(self, text: str) -> None:
        self.current.write(text)

    def flush(self) -> None:
        self.current.flush()


def _record(number: int) -> BhxhRecord:
    """The `number`th citizen: numbers of their own, so each registers once."""
    return BhxhRecord(
        bhxh_number=f"79{number:08d}",
        full_name="Nguyễn Văn An",
        date_of_birth=date(1990, 1, 1) + timedelta(days=number % 365),
        phone=f"+8491{number:07d}",
        id_number=f"079090{number:06d}",  # a CCCD: province, century and year, then its own
    )


@attrs.define
class _World:
    crowd: Crowd
    ports: FakePorts
    engines: dict[int, list[Engine]]
    router: _Router
    truth: Truth
    rng: random.Random

    def send(self, version: int, act: Callable[[Engine], FlowView]) -> FlowView:
        """One request, on a server the load balancer picks."""
        server = self.rng.randrange(self.crowd.servers)
        self.router.current = self.router.files[server]
        return act(self.engines[version][server])

    def wait(self, state: str) -> int:
        low, high = self.crowd.delays.get(state, (1, 1))
        return self.rng.randint(low, high)

    def gives_up(self, state: str) -> bool:
        return self.rng.random() < self.crowd.abandon.get(state, 0.0)


def _citizen(world: _World, number: int, version: int) -> Iterator[int]:
    """One citizen's registration, acting as the crowd's proportions say: it acts, then
    yields the seconds that pass before it acts again."""
    record, rng, truth = _record(number), world.rng, world.truth
    ended = truth.outcomes.setdefault(version, Counter())
    view = world.send(version, lambda engine: engine.start(BHXH_REGISTRATION.name))
    flow_id = view.flow_id
    truth.started[version] += 1
    wrong_name = rng.random() < world.crowd.mismatch_rate
    wrong_code = rng.random() < world.crowd.wrong_otp_rate
    while view.state not in BHXH_REGISTRATION.terminal:
        state = str(view.state)
        if world.gives_up(state):
            ended[abandoned(state)] += 1
            return
        yield world.wait(state)
        event: object
        if state == State.CHOOSING_METHOD:
            event = ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method)
        elif state in {State.FILLING_FORM, State.DATA_MISMATCH}:
            event = form_for(record, full_name=_WRONG_NAME) if wrong_name else form_for(record)
            truth.mismatches[version] += wrong_name
            wrong_name = False
        elif state == State.OTP_PENDING:
            code = world.ports.sms.last_code(record.phone)
            event = ConfirmOtp(f"{(int(code) + 1) % 1_000_000:06d}" if wrong_code else code)
            truth.wrong_codes[version] += wrong_code
            wrong_code = False
        else:
            event = SetPassword(STRONG_PASSWORD, STRONG_PASSWORD)
        view = world.send(version, functools.partial(_send, flow_id=flow_id, event=event))
    ended[str(view.state)] += 1


def _send(engine: Engine, *, flow_id: str, event: object) -> FlowView:
    return engine.send(flow_id, event)


def _engines(ports: FakePorts, crowd: Crowd) -> dict[int, list[Engine]]:
    """Per version of the registration, one engine per server, all on the same fakes."""
    return {
        version: [ports.engine(_registration(version)) for _ in range(crowd.servers)]
        for version in crowd.versions
    }


def _registration(version: int) -> FlowSpec:
    """The shipped declaration of `version`, or else the current one released as `version`
    (a version the simulation makes up, with no migration)."""
    shipped = {
        spec.version: spec
        for spec in (BHXH_REGISTRATION_V1, BHXH_REGISTRATION_V2, BHXH_REGISTRATION)
    }
    made_up = attrs.evolve(BHXH_REGISTRATION, version=version, migrations=())
    return shipped.get(version, made_up)


def _audit_logging(router: _Router) -> None:
    """structlog as docs/operations.md configures it for a SIEM, into the servers' logs."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="logged_at"),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        logger_factory=structlog.WriteLoggerFactory(file=router),  # type: ignore[arg-type]
        wrapper_class=structlog.make_filtering_bound_logger(20),
        cache_logger_on_first_use=False,
    )


def simulate(crowd: Crowd, out: Path) -> Truth:
    """Run `crowd` and write one audit log per server into `out` (``server-N.jsonl``)."""
    out.mkdir(parents=True, exist_ok=True)
    records = [_record(number) for number in range(crowd.citizens)]
    ports = FakePorts.seeded(*records)
    truth = Truth(logs=[out / f"server-{n + 1}.jsonl" for n in range(crowd.servers)])
    files = [path.open("w", encoding="utf-8") for path in truth.logs]
    world = _World(
        crowd,
        ports,
        _engines(ports, crowd),
        _Router(files),
        truth,
        random.Random(crowd.seed),  # noqa: S311 - a simulation's choices, no secret
    )
    saved = structlog.get_config()
    _audit_logging(world.router)
    try:
        _run(world, ports.clock.now())
    finally:
        structlog.configure(**saved)
        for file in files:
            file.close()
    truth.as_of = ports.clock.now() + BHXH_REGISTRATION.lifetime_under(Policy())
    return truth


def _run(world: _World, opening: datetime) -> None:
    """Every citizen's script, in the order of their clocks (one fake clock for all)."""
    crowd, rng = world.crowd, world.rng
    window = int(crowd.arrivals.total_seconds())
    due: list[tuple[datetime, int, Iterator[int]]] = []
    for number in range(crowd.citizens):
        version = crowd.versions[number % len(crowd.versions)]
        arrives = opening + timedelta(seconds=rng.randint(0, window))
        heapq.heappush(due, (arrives, number, _citizen(world, number, version)))
    while due:
        when, number, script = heapq.heappop(due)
        world.ports.clock.set(when)
        wait = next(script, None)
        if wait is not None:
            heapq.heappush(due, (when + timedelta(seconds=wait), number, script))
