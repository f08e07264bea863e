"""The HTTP reference adapters against a real HTTP server on loopback (pytest-httpserver)."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import TYPE_CHECKING, TypeVar, cast

import pytest
from werkzeug import Request, Response

from regflow import (
    CITIZEN_BY_BHXH,
    SHIPPED_FLOWS,
    ChooseMethod,
    Engine,
    Policy,
    PortUnavailableError,
    RecordValueError,
    ResendOtp,
    State,
)
from regflow.adapters.http import (
    LOOKUP_PATH,
    MESSAGES_PATH,
    NOT_FOUND,
    AsyncHttpBhxhRegistry,
    AsyncHttpSmsGateway,
    CircuitBreaker,
    CircuitOpenError,
    HttpBhxhRegistry,
    HttpSettings,
    HttpSmsGateway,
    UpstreamUnavailableError,
)
from regflow.testing import CITIZEN, BlockingPort, FakePorts, form_for, run_blocking

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytest_httpserver import HTTPServer

A = TypeVar("A", HttpBhxhRegistry, HttpSmsGateway)
TIMEOUT = 0.2
RECORD = {
    "bhxh_number": CITIZEN.bhxh_number,
    "full_name": CITIZEN.full_name,
    "date_of_birth": CITIZEN.date_of_birth.isoformat(),
    "phone": CITIZEN.phone,
    "id_number": CITIZEN.id_number,
}
NOT_FOUND_BODY = {"error": {"code": NOT_FOUND, "message": "no such number"}}
OTP = Policy().otp_message("123456")


class Ticker:
    """A monotonic clock the breaker tests move by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _settings(server: HTTPServer, attempts: int = 3) -> HttpSettings:
    return HttpSettings(
        base_url=server.url_for("").replace("localhost", "127.0.0.1"),  # no IPv6 detour
        token="s3cret-token",
        timeout=TIMEOUT,
        attempts=attempts,
        wait_initial=0.01,
        wait_max=0.02,
    )


@pytest.fixture(params=["sync", "async"])
def bhxh(request: pytest.FixtureRequest, httpserver: HTTPServer) -> Iterator[HttpBhxhRegistry]:
    yield from _either(request.param, HttpBhxhRegistry, AsyncHttpBhxhRegistry, httpserver)


@pytest.fixture(params=["sync", "async"])
def sms(request: pytest.FixtureRequest, httpserver: HTTPServer) -> Iterator[HttpSmsGateway]:
    yield from _either(request.param, HttpSmsGateway, AsyncHttpSmsGateway, httpserver)


def _either(
    kind: str,
    sync: type[A],
    twin: type[AsyncHttpBhxhRegistry | AsyncHttpSmsGateway],
    server: HTTPServer,
) -> Iterator[A]:
    """The sync adapter, or its async twin behind the sync protocol (`BlockingPort`)."""
    settings, breaker = _settings(server), CircuitBreaker(100)
    if kind == "sync":
        adapter = sync(settings, breaker=breaker)
        yield adapter
        adapter.close()
    else:
        async_adapter = twin(settings, breaker=breaker)
        yield cast("A", BlockingPort(async_adapter))  # the same methods, blocking
        run_blocking(async_adapter.aclose())


def _answers(*responses: Response) -> Callable[[Request], Response]:
    """A handler giving `responses` in turn, then the last one again."""
    queue = list(responses)

    def handle(_: Request) -> Response:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handle


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class Slow:
    """A handler that answers only after the client gave up; `settle` lets it finish,
    so its late request cannot land in the next test's log."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.released = threading.Event()

    def __call__(self, _: Request) -> Response:
        self.released.wait(TIMEOUT * 5)
        return _json(RECORD)

    def settle(self, requests: int) -> None:
        self.released.set()
        deadline = time.monotonic() + 5
        while len(self.server.log) < requests and time.monotonic() < deadline:
            time.sleep(0.01)


def _requests(server: HTTPServer) -> int:
    return len(server.log)


# --- BHXH look-ups ----------------------------------------------------------------------


def test_a_lookup_posts_the_number_with_the_token_and_reads_the_record(
    httpserver: HTTPServer, bhxh: HttpBhxhRegistry
) -> None:
    httpserver.expect_request(
        LOOKUP_PATH,
        method="POST",
        json={"bhxh_number": CITIZEN.bhxh_number},
        headers={"Authorization": "Bearer s3cret-token"},
    ).respond_with_json(RECORD)
    assert bhxh.lookup(CITIZEN.bhxh_number) == CITIZEN
    assert CITIZEN.bhxh_number not in httpserver.log[0][0].url  # not in any access log


def test_a_not_found_with_the_contract_code_is_no_record(
    httpserver: HTTPServer, bhxh: HttpBhxhRegistry
) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_json(NOT_FOUND_BODY, status=404)
    assert bhxh.lookup("0000000000") is None


@pytest.mark.parametrize(
    "answer",
    [
        Response("Not Found", status=404),  # a wrong URL or a proxy, not BHXH's answer
        Response("<html>oops</html>", status=200, content_type="text/html"),
        _json({**RECORD, "phone": 84912345678}),
        _json({k: v for k, v in RECORD.items() if k != "id_number"}),
        _json({**RECORD, "former_id_numbers": "012345678"}),
        _json({**RECORD, "former_id_numbers": [12345678]}),
        _json([RECORD]),
        _json({"error": {"code": "bad_request"}}, status=400),
        _json({"error": {"code": "unauthorized"}}, status=401),
    ],
    ids=[
        "404-html",
        "not-json",
        "int-phone",
        "missing",
        "former-not-a-list",
        "former-not-text",
        "list",
        "400",
        "401",
    ],
)
def test_an_off_contract_answer_is_an_outage_and_is_not_retried(
    httpserver: HTTPServer, bhxh: HttpBhxhRegistry, answer: Response
) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_response(answer)
    with pytest.raises(UpstreamUnavailableError):
        bhxh.lookup(CITIZEN.bhxh_number)
    assert _requests(httpserver) == 1


@pytest.mark.parametrize("born", ["17/05/1990", "17/5/1990", "17-05-1990", " 1990-05-17 "])
def test_a_record_date_in_a_spelling_of_the_form_is_read(
    httpserver: HTTPServer, bhxh: HttpBhxhRegistry, born: str
) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_json({**RECORD, "date_of_birth": born})
    assert bhxh.lookup(CITIZEN.bhxh_number) == CITIZEN


@pytest.mark.parametrize(
    ("born", "reason"),
    [("1960", "incomplete_date"), ("00/00/1960", "incomplete_date"), ("May 1960", "not_a_date")],
)
def test_a_record_without_a_whole_date_is_bhxh_s_error_and_never_opens_the_circuit(
    httpserver: HTTPServer, born: str, reason: str
) -> None:
    registry = HttpBhxhRegistry(_settings(httpserver), breaker=CircuitBreaker(2))
    httpserver.expect_request(LOOKUP_PATH).respond_with_json({**RECORD, "date_of_birth": born})
    for _ in range(3):
        with pytest.raises(RecordValueError) as raised:
            registry.lookup(CITIZEN.bhxh_number)
        assert (raised.value.field, raised.value.reason) == ("date_of_birth", reason)
    assert not registry.breaker.is_open
    assert _requests(httpserver) == 3
    registry.close()


def test_transient_failures_are_retried_until_an_answer(
    httpserver: HTTPServer, bhxh: HttpBhxhRegistry
) -> None:
    handler = _answers(Response(status=503), Response(status=502), _json(RECORD))
    httpserver.expect_request(LOOKUP_PATH).respond_with_handler(handler)
    assert bhxh.lookup(CITIZEN.bhxh_number) == CITIZEN
    assert _requests(httpserver) == 3


@pytest.mark.parametrize("status", [429, 500, 503, 504])
def test_retries_are_bounded(httpserver: HTTPServer, bhxh: HttpBhxhRegistry, status: int) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_response(Response(status=status))
    with pytest.raises(UpstreamUnavailableError):
        bhxh.lookup(CITIZEN.bhxh_number)
    assert _requests(httpserver) == 3


def test_a_slow_service_times_out_and_is_retried(httpserver: HTTPServer) -> None:
    registry = HttpBhxhRegistry(_settings(httpserver, attempts=2), breaker=CircuitBreaker(100))
    slow = Slow(httpserver)
    httpserver.expect_request(LOOKUP_PATH).respond_with_handler(slow)
    with pytest.raises(UpstreamUnavailableError) as raised:
        registry.lookup(CITIZEN.bhxh_number)
    slow.settle(requests=2)
    assert "Timeout" in str(raised.value)
    assert _requests(httpserver) == 2
    registry.close()


def test_a_refused_connection_is_an_outage() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the look-up: nobody listens
    registry = HttpBhxhRegistry(HttpSettings(base_url=f"http://127.0.0.1:{port}", attempts=1))
    with pytest.raises(PortUnavailableError):
        registry.lookup(CITIZEN.bhxh_number)
    registry.close()


# --- the circuit breaker ----------------------------------------------------------------


def test_the_circuit_opens_after_repeated_failures_and_then_fails_fast(
    httpserver: HTTPServer,
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_after=30, monotonic=Ticker())
    registry = HttpBhxhRegistry(_settings(httpserver, attempts=1), breaker=breaker)
    httpserver.expect_request(LOOKUP_PATH).respond_with_response(Response(status=503))
    for _ in range(2):
        with pytest.raises(UpstreamUnavailableError):
            registry.lookup(CITIZEN.bhxh_number)
    assert breaker.is_open
    with pytest.raises(CircuitOpenError):
        registry.lookup(CITIZEN.bhxh_number)
    assert _requests(httpserver) == 2  # the third call never left the process
    registry.close()


def test_after_the_pause_one_trial_call_closes_the_circuit(httpserver: HTTPServer) -> None:
    ticker = Ticker()
    breaker = CircuitBreaker(failure_threshold=1, reset_after=30, monotonic=ticker)
    registry = HttpBhxhRegistry(_settings(httpserver, attempts=1), breaker=breaker)
    handler = _answers(Response(status=503), Response(status=503), _json(RECORD))
    httpserver.expect_request(LOOKUP_PATH).respond_with_handler(handler)
    with pytest.raises(UpstreamUnavailableError):
        registry.lookup(CITIZEN.bhxh_number)
    ticker.now = 30
    with pytest.raises(UpstreamUnavailableError):  # the trial fails: open again
        registry.lookup(CITIZEN.bhxh_number)
    assert breaker.is_open
    ticker.now = 60
    assert registry.lookup(CITIZEN.bhxh_number) == CITIZEN
    assert not breaker.is_open
    registry.close()


# --- SMS sends --------------------------------------------------------------------------


def test_a_send_posts_the_brandname_template_and_params_as_providers_take_them(
    httpserver: HTTPServer, sms: HttpSmsGateway
) -> None:
    httpserver.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        {"id": "m-1"}, status=202
    )
    sms.send(CITIZEN.phone, OTP)

    body = json.loads(httpserver.log[0][0].get_data())
    assert body == {
        "to": CITIZEN.phone,
        "brandname": "DVCQG",
        "template_id": "regflow-otp-v1",
        "params": {"code": "123456", "minutes": "5"},
        "text": OTP.text,
    }
    assert list(body["params"]) == list(OTP.template.params)  # numbered providers: in order


@pytest.mark.parametrize("status", [400, 500, 503])
def test_a_failed_send_is_an_outage_and_is_never_retried(
    httpserver: HTTPServer, sms: HttpSmsGateway, status: int
) -> None:
    httpserver.expect_request(MESSAGES_PATH).respond_with_response(Response(status=status))
    with pytest.raises(UpstreamUnavailableError):
        sms.send(CITIZEN.phone, OTP)
    assert _requests(httpserver) == 1  # a retry could text the citizen twice


def test_a_slow_send_times_out(httpserver: HTTPServer, sms: HttpSmsGateway) -> None:
    slow = Slow(httpserver)
    httpserver.expect_request(MESSAGES_PATH).respond_with_handler(slow)
    with pytest.raises(UpstreamUnavailableError):
        sms.send(CITIZEN.phone, OTP)
    slow.settle(requests=1)
    assert _requests(httpserver) == 1


# --- the engine on the HTTP adapters ----------------------------------------------------


def _engine(bhxh: HttpBhxhRegistry, sms: HttpSmsGateway) -> tuple[Engine, str]:
    """An engine on the HTTP adapters, and a flow of it waiting for the BHXH form."""
    ports = FakePorts()
    engine = Engine(
        *SHIPPED_FLOWS,
        bhxh=bhxh,
        sms=sms,
        users=ports.users,
        flows=ports.flows,
        hasher=ports.hasher,
        clock=ports.clock,
        otp_secret=ports.otp_secret,
        ports={"identity": ports.identity},
    )
    flow = engine.start("bhxh_registration")
    engine.send(flow.flow_id, ChooseMethod(CITIZEN_BY_BHXH.subject, CITIZEN_BY_BHXH.method))
    return engine, flow.flow_id


@pytest.mark.parametrize(
    "answer",
    [Response(status=503), _json({"unexpected": True}), Response("Not Found", status=404)],
    ids=["down", "malformed", "bare-404"],
)
def test_the_engine_reports_a_broken_bhxh_as_retryable_never_as_a_mismatch(
    httpserver: HTTPServer, bhxh: HttpBhxhRegistry, sms: HttpSmsGateway, answer: Response
) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_response(answer)
    engine, flow_id = _engine(bhxh, sms)
    view = engine.send(flow_id, form_for())
    assert view.error_codes() == ("bhxh.unavailable",)
    assert view.retryable
    assert view.state is State.FILLING_FORM


#: CITIZEN's record as an agency's staff typed it, with the CMND the CCCD replaced.
AS_STORED = {
    **RECORD,
    "full_name": "  Nguyễn  Văn An",
    "phone": "0912 345 678",
    "id_number": "001.090.012.345",
    "former_id_numbers": ["012 345 678"],
}


def test_a_record_as_stored_is_read_as_it_is_and_matches_the_form(
    httpserver: HTTPServer, bhxh: HttpBhxhRegistry, sms: HttpSmsGateway
) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_json(AS_STORED)
    httpserver.expect_request(MESSAGES_PATH).respond_with_json({"id": "m-1"}, status=202)
    engine, flow_id = _engine(bhxh, sms)

    record = bhxh.lookup(CITIZEN.bhxh_number)
    view = engine.send(flow_id, form_for())

    assert record is not None
    assert (record.phone, record.former_id_numbers) == ("0912 345 678", ("012 345 678",))
    assert view.state is State.OTP_PENDING, view.errors
    assert json.loads(httpserver.log[-1][0].data)["to"] == CITIZEN.phone


@pytest.mark.parametrize(
    "changes",
    [
        {"phone": "024 3825 1234"},  # a landline: no OTP can reach it
        {"id_number": ""},  # every later citizen would "have an account"
        {"id_number": "12345"},
        {"full_name": " "},
        {"bhxh_number": "9999999999"},  # the record of someone else
    ],
    ids=["landline", "no-id", "short-id", "no-name", "other"],
)
def test_a_record_bhxh_holds_wrongly_is_a_record_error_not_an_outage(
    httpserver: HTTPServer, bhxh: HttpBhxhRegistry, sms: HttpSmsGateway, changes: dict[str, str]
) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_json({**RECORD, **changes})
    engine, flow_id = _engine(bhxh, sms)

    view = engine.send(flow_id, form_for())

    assert view.error_codes() == ("bhxh.record_invalid",)
    assert view.retryable
    assert view.state is State.FILLING_FORM
    assert not bhxh.breaker.is_open


def test_an_sms_outage_leaves_the_flow_resumable_by_a_resend(
    httpserver: HTTPServer, bhxh: HttpBhxhRegistry, sms: HttpSmsGateway
) -> None:
    httpserver.expect_request(LOOKUP_PATH).respond_with_json(RECORD)
    handler = _answers(Response(status=503), _json({"id": "m-2"}, status=202))
    httpserver.expect_request(MESSAGES_PATH).respond_with_handler(handler)
    engine, flow_id = _engine(bhxh, sms)
    failed = engine.send(flow_id, form_for())
    assert failed.error_codes() == ("sms.unavailable",)
    assert failed.state is State.OTP_PENDING
    resent = engine.send(flow_id, ResendOtp())
    assert resent.ok
    assert resent.otp_sends_left == 4
