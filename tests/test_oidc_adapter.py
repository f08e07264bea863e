"""The OpenID Connect adapter against a real provider on loopback (`LoopbackProvider`), and
the registration by VNeID through it: every refusal and outage of the platform, with
tokens the tests have the provider make (tampered, expired, forged), none mocked out."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
import httpx
import pytest
from joserfc.jwk import RSAKey

from regflow import VNEID_REGISTRATION, FlowView, VneidCallback, VneidState
from regflow.adapters.http import UpstreamUnavailableError
from regflow.adapters.oidc import AsyncOidcIdentityProvider, OidcIdentityProvider, OidcSettings
from regflow.flows.vneid import BeginVneid, SkipPassword
from regflow.ports.identity import IdentityRefused, Refusal, code_challenge
from regflow.testing import VNEID_CITIZEN, BlockingPort, FakePorts, run_blocking
from regflow.testing.oidc import LoopbackProvider

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from regflow import Engine

REDIRECT_URI = "http://127.0.0.1:5000/vneid/callback"
VERIFIER = "v" * 64
NONCE = "the-nonce"


@pytest.fixture(scope="module")
def started() -> Iterator[LoopbackProvider]:
    with LoopbackProvider() as running:
        yield running


@pytest.fixture
def provider(started: LoopbackProvider) -> LoopbackProvider:
    started.reset()
    return started


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    """Every test runs against both adapters: the async one behind the sync protocol."""
    return str(request.param)


@pytest.fixture
def make(kind: str) -> Iterator[Callable[[OidcSettings], OidcIdentityProvider]]:
    made: list[OidcIdentityProvider | AsyncOidcIdentityProvider] = []

    def adapter_of(settings: OidcSettings) -> OidcIdentityProvider:
        oidc = (OidcIdentityProvider if kind == "sync" else AsyncOidcIdentityProvider)(settings)
        made.append(oidc)
        return oidc if isinstance(oidc, OidcIdentityProvider) else cast("Any", BlockingPort(oidc))

    yield adapter_of
    for oidc in made:
        if isinstance(oidc, OidcIdentityProvider):
            oidc.close()
        else:
            run_blocking(oidc.aclose())


@pytest.fixture
def adapter(
    provider: LoopbackProvider, make: Callable[[OidcSettings], OidcIdentityProvider]
) -> OidcIdentityProvider:
    return make(provider.settings(redirect_uri=REDIRECT_URI))


def at_platform(url: str, decision: str = "approve") -> VneidCallback:
    """The citizen at the platform's consent page: the callback their browser brings."""
    response = httpx.get(f"{url}&{urlencode({'decision': decision})}")
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    return VneidCallback(code=query.get("code"), state=query.get("state"), error=query.get("error"))


def a_code(adapter: OidcIdentityProvider, state: str = "s") -> str:
    url = adapter.authorization_url(
        state=state, nonce=NONCE, code_challenge=code_challenge(VERIFIER)
    )
    callback = at_platform(url)
    assert callback.state == state
    assert callback.code is not None
    return callback.code


def redeem(adapter: OidcIdentityProvider, code: str, nonce: str = NONCE) -> object:
    return adapter.exchange(code=code, code_verifier=VERIFIER, nonce=nonce)


# --- the adapter --------------------------------------------------------------------------------


def test_the_authorization_url_asks_for_a_code_with_s256_pkce(
    adapter: OidcIdentityProvider, provider: LoopbackProvider
) -> None:
    url = adapter.authorization_url(state="st", nonce="no", code_challenge="ch")
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert url.startswith(f"{provider.issuer}/authorize?")
    assert query == {
        "response_type": "code",
        "client_id": "regflow-portal",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile phone",
        "state": "st",
        "nonce": "no",
        "code_challenge": "ch",
        "code_challenge_method": "S256",
    }


def test_a_code_redeemed_with_its_verifier_gives_the_verified_identity(
    adapter: OidcIdentityProvider,
) -> None:
    assert redeem(adapter, a_code(adapter)) == VNEID_CITIZEN


def test_a_replayed_code_is_rejected(adapter: OidcIdentityProvider) -> None:
    code = a_code(adapter)
    redeem(adapter, code)
    assert redeem(adapter, code) == IdentityRefused(Refusal.CODE_REJECTED, "invalid_grant")


def test_an_expired_code_is_rejected(
    adapter: OidcIdentityProvider, provider: LoopbackProvider
) -> None:
    provider.code_lifetime = -1
    assert redeem(adapter, a_code(adapter)) == IdentityRefused(
        Refusal.CODE_REJECTED, "invalid_grant"
    )


def test_a_code_with_another_verifier_is_rejected(adapter: OidcIdentityProvider) -> None:
    answer = adapter.exchange(code=a_code(adapter), code_verifier="w" * 64, nonce=NONCE)
    assert answer == IdentityRefused(Refusal.CODE_REJECTED, "invalid_grant")


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"iss": "https://attacker.example"}, "issuer"),
        ({"aud": "another-client"}, "audience"),
        ({"nonce": "another-nonce"}, "nonce"),
        ({"exp": 1_000_000_000}, "expiry"),
        ({"sub": 42}, "claims"),
        ({"birthdate": "17/05/1990"}, "claims"),
        ({"id_number": 1090012345}, "claims"),
        ({"former_id_numbers": "001090012345"}, "claims"),
    ],
)
def test_a_token_whose_claims_fail_a_check_is_refused(
    adapter: OidcIdentityProvider,
    provider: LoopbackProvider,
    changes: dict[str, object],
    detail: str,
) -> None:
    code = a_code(adapter)
    provider.token_changes = dict(changes)
    assert redeem(adapter, code) == IdentityRefused(Refusal.TOKEN_INVALID, detail)


def test_a_token_signed_by_another_key_of_the_same_id_is_refused(
    adapter: OidcIdentityProvider, provider: LoopbackProvider
) -> None:
    code = a_code(adapter)
    kid = provider.key.kid
    assert kid is not None
    provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": kid})
    assert redeem(adapter, code) == IdentityRefused(Refusal.TOKEN_INVALID, "signature")


def test_a_token_of_a_key_the_platform_never_published_is_refused(
    adapter: OidcIdentityProvider, provider: LoopbackProvider
) -> None:
    code = a_code(adapter)
    provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "forged"})
    assert redeem(adapter, code) == IdentityRefused(Refusal.TOKEN_INVALID, "signature")


def _raise_the_level(token: str) -> str:
    """The token with its payload re-encoded by an attacker (the signature left as it was)."""
    import base64  # noqa: PLC0415 - this helper's alone
    import json  # noqa: PLC0415

    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["acr"] = "2" if claims["acr"] != "2" else "1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    "tamper",
    [_raise_the_level, lambda token: token[:-6] + "AAAAAA", lambda _: "not.a.token"],
    ids=["payload", "signature", "malformed"],
)
def test_a_token_tampered_in_transit_is_refused(
    adapter: OidcIdentityProvider, provider: LoopbackProvider, tamper: object
) -> None:
    code = a_code(adapter)
    provider.tamper = tamper  # type: ignore[assignment]
    answer = redeem(adapter, code)
    assert isinstance(answer, IdentityRefused)
    assert answer.refusal is Refusal.TOKEN_INVALID


def test_rotated_keys_are_fetched_again(
    adapter: OidcIdentityProvider, provider: LoopbackProvider
) -> None:
    assert redeem(adapter, a_code(adapter)) == VNEID_CITIZEN
    provider.rotate_key()
    assert redeem(adapter, a_code(adapter)) == VNEID_CITIZEN


def test_the_level_is_the_one_the_acr_claim_asserts(
    adapter: OidcIdentityProvider, provider: LoopbackProvider
) -> None:
    provider.citizen = attrs.evolve(VNEID_CITIZEN, level=1)
    assert redeem(adapter, a_code(adapter)) == provider.citizen
    code = a_code(adapter)
    provider.token_changes = {"acr": "urn:unknown"}
    answer = redeem(adapter, code)
    assert isinstance(answer, type(VNEID_CITIZEN))
    assert answer.level == 0


def test_a_failing_token_endpoint_is_an_outage_not_a_refusal(
    adapter: OidcIdentityProvider, provider: LoopbackProvider
) -> None:
    code = a_code(adapter)
    provider.fail_token(503)
    with pytest.raises(UpstreamUnavailableError, match="HTTP 503"):
        redeem(adapter, code)


def test_a_client_the_platform_refuses_is_an_outage(
    provider: LoopbackProvider, make: Callable[[OidcSettings], OidcIdentityProvider]
) -> None:
    settings = attrs.evolve(provider.settings(redirect_uri=REDIRECT_URI), client_secret="wrong")
    oidc = make(settings)
    code = a_code(oidc)
    with pytest.raises(UpstreamUnavailableError, match="token endpoint answered 401"):
        redeem(oidc, code)


def test_a_discovery_document_of_another_issuer_is_an_outage(
    provider: LoopbackProvider, make: Callable[[OidcSettings], OidcIdentityProvider]
) -> None:
    settings = provider.settings(redirect_uri=REDIRECT_URI)
    oidc = make(attrs.evolve(settings, issuer=provider.issuer + "/"))
    with pytest.raises(UpstreamUnavailableError, match="another issuer"):
        oidc.authorization_url(state="s", nonce="n", code_challenge="c")


def _closed_port() -> int:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port: int = listener.getsockname()[1]
    return port


def test_an_unreachable_platform_is_an_outage(
    provider: LoopbackProvider, make: Callable[[OidcSettings], OidcIdentityProvider]
) -> None:
    settings = provider.settings(redirect_uri=REDIRECT_URI)
    oidc = make(attrs.evolve(settings, issuer=f"http://127.0.0.1:{_closed_port()}"))
    with pytest.raises(UpstreamUnavailableError, match="ConnectError"):
        oidc.authorization_url(state="s", nonce="n", code_challenge="c")


# --- the flow through the adapter ---------------------------------------------------------------


def engine_on(adapter: OidcIdentityProvider, ports: FakePorts | None = None) -> Engine:
    fakes = ports or FakePorts.seeded()
    return fakes.engine(VNEID_REGISTRATION, ports={"identity": adapter})


def signed_in(engine: Engine, decision: str = "approve") -> tuple[str, FlowView]:
    flow = engine.start("vneid_registration")
    begun = engine.send(flow.flow_id, BeginVneid())
    assert begun.state is VneidState.AWAITING_CALLBACK
    return flow.flow_id, engine.send(
        flow.flow_id, at_platform(begun.details.authorization_url, decision)
    )


def test_a_citizen_registers_by_vneid_through_the_real_provider(
    adapter: OidcIdentityProvider,
) -> None:
    ports = FakePorts.seeded()
    engine = engine_on(adapter, ports)
    flow_id, view = signed_in(engine)
    assert view.state is VneidState.SETTING_PASSWORD
    done = engine.send(flow_id, SkipPassword())
    assert done.state is VneidState.COMPLETED
    assert done.account is not None
    assert done.account.verification_level == 2
    assert ports.users.password_hash(done.account.account_id) is None


def test_a_cancel_at_the_provider_is_told_as_such(adapter: OidcIdentityProvider) -> None:
    _, view = signed_in(engine_on(adapter), decision="cancel")
    assert view.state is VneidState.READY
    assert view.error_codes() == ("vneid.cancelled",)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"nonce": "replayed-from-another-sign-in"}, "vneid.token_invalid"),
        ({"exp": 1_000_000_000}, "vneid.token_invalid"),
        ({"acr": "1"}, "vneid.level_too_low"),
        ({"phone_number": "02438123456"}, "vneid.identity_invalid"),
    ],
)
def test_a_token_the_flow_must_refuse_sends_the_citizen_back(
    adapter: OidcIdentityProvider, provider: LoopbackProvider, changes: dict[str, str], code: str
) -> None:
    provider.token_changes = dict(changes)
    _, view = signed_in(engine_on(adapter))
    assert view.state is VneidState.READY
    assert view.error_codes() == (code,)


def test_a_replayed_callback_is_refused(adapter: OidcIdentityProvider) -> None:
    engine = engine_on(adapter)
    flow = engine.start("vneid_registration")
    first = engine.send(flow.flow_id, BeginVneid())
    callback = at_platform(first.details.authorization_url)
    engine.send(flow.flow_id, attrs.evolve(callback, error="server_error"))  # back to the start
    again = engine.send(flow.flow_id, BeginVneid())
    state = parse_qs(urlsplit(again.details.authorization_url).query)["state"][0]
    view = engine.send(flow.flow_id, attrs.evolve(callback, state=state))
    assert view.error_codes() == ("vneid.code_rejected",)


def test_a_platform_down_at_the_callback_is_retryable_and_changes_nothing(
    adapter: OidcIdentityProvider, provider: LoopbackProvider
) -> None:
    engine = engine_on(adapter)
    flow = engine.start("vneid_registration")
    begun = engine.send(flow.flow_id, BeginVneid())
    callback = at_platform(begun.details.authorization_url)
    provider.fail_token(503)  # a code is redeemed once: no retry
    view = engine.send(flow.flow_id, callback)
    assert view.error_codes() == ("identity.unavailable",)
    assert view.retryable
    assert view.state is VneidState.AWAITING_CALLBACK
    assert engine.send(flow.flow_id, callback).state is VneidState.SETTING_PASSWORD


def test_the_async_adapter_registers_a_citizen_under_the_async_engine(
    provider: LoopbackProvider,
) -> None:
    """The async adapter as an asyncio host wires it: awaited by `AsyncEngine`, refused by
    the sync `Engine` at wiring."""
    oidc = AsyncOidcIdentityProvider(provider.settings(redirect_uri=REDIRECT_URI))
    ports = FakePorts.seeded()
    with pytest.raises(ValueError, match="async"):
        ports.engine(VNEID_REGISTRATION, ports={"identity": oidc})

    async def register() -> FlowView:
        engine = ports.async_engine(VNEID_REGISTRATION, ports={"identity": oidc})
        flow = await engine.start("vneid_registration")
        begun = await engine.send(flow.flow_id, BeginVneid())
        url = begun.details.authorization_url
        callback = await asyncio.to_thread(at_platform, url)
        assert (await engine.send(flow.flow_id, callback)).state is VneidState.SETTING_PASSWORD
        done = await engine.send(flow.flow_id, SkipPassword())
        await oidc.aclose()
        return done

    done = asyncio.run(register())
    assert done.state is VneidState.COMPLETED
    assert done.account is not None
    assert done.account.verification_level == 2
