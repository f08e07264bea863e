"""The registration by VNeID in a browser, against a real OpenID Connect provider on
loopback (`LoopbackProvider`): the method screen's VNeID option, the redirect to the
platform and back, a new account with or without a password, an existing account linked by
its password or an OTP, and every refusal the citizen can meet on the way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import pytest
from playwright.sync_api import Browser, Page, expect

from regflow import Policy, VerifiedIdentity, VneidPassword
from regflow.adapters.oidc import OidcIdentityProvider
from regflow.testing import FastHasher
from regflow.testing.oidc import LoopbackProvider

from .citizen import GOOD_PASSWORD, HAS_ACCOUNT, NEW_CITIZEN, Portal, last_otp, shoot, start
from .conftest import serve

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from regflow import BhxhRecord


def identity_of(record: BhxhRecord, level: int = 2) -> VerifiedIdentity:
    return VerifiedIdentity(
        id_number=record.id_number,
        full_name=record.full_name,
        date_of_birth=record.date_of_birth,
        phone=record.phone,
        level=level,
        former_id_numbers=record.former_id_numbers,
    )


@attrs.define
class LateIdentity:
    """The adapter, made once the portal's port (and so its redirect URI) is known."""

    adapter: OidcIdentityProvider | None = None

    def _ready(self) -> OidcIdentityProvider:
        assert self.adapter is not None
        return self.adapter

    def authorization_url(self, **request: str) -> str:
        return self._ready().authorization_url(**request)

    def exchange(self, **redemption: str) -> Any:  # noqa: ANN401 - the port's answer
        return self._ready().exchange(**redemption)


@pytest.fixture(scope="module")
def platform() -> Iterator[LoopbackProvider]:
    with LoopbackProvider() as running:
        yield running


@pytest.fixture
def provider(platform: LoopbackProvider) -> LoopbackProvider:
    platform.reset(identity_of(NEW_CITIZEN))
    return platform


def vneid_portal(
    screenshots: Path,
    provider: LoopbackProvider,
    **settings: Any,  # noqa: ANN401
) -> Iterator[Portal]:
    late = LateIdentity()
    for portal in serve(screenshots, identity=late, **settings):
        redirect_uri = f"{portal.url}/vneid/callback"
        provider.redirect_uris = {redirect_uri}  # the platform compares it exactly
        late.adapter = OidcIdentityProvider(provider.settings(redirect_uri=redirect_uri))
        yield portal
        late.adapter.close()


@pytest.fixture
def portal(screenshots: Path, provider: LoopbackProvider) -> Iterator[Portal]:
    yield from vneid_portal(screenshots, provider)


def to_platform(page: Page) -> None:
    """From the home page through the method screen's VNeID option to the platform."""
    start(page)
    page.get_by_role("button", name="Tài khoản định danh điện tử VNeID").click()
    expect(page.get_by_role("heading", name="Chuyển tới VNeID")).to_be_visible()
    page.get_by_role("link", name="Tiếp tục tới VNeID").click()
    expect(page.get_by_role("heading", name="Đăng nhập bằng VNeID")).to_be_visible()


def signed_in(page: Page, decision: str = "Đồng ý") -> None:
    to_platform(page)
    page.get_by_role("button", name=decision).click()


def reason(page: Page, code: str) -> None:
    expect(page.locator(f'[data-code="{code}"]')).to_be_visible()


def test_a_new_citizen_registers_by_vneid_without_a_password(page: Page, portal: Portal) -> None:
    signed_in(page)
    expect(page.get_by_role("heading", name="Hoàn tất đăng ký")).to_be_visible()
    expect(page.locator("#finish-lead")).to_contain_text(NEW_CITIZEN.full_name)
    shoot(page, portal, "vneid-finish")
    page.locator("#skip").click()

    expect(page.get_by_role("heading", name="Đăng ký thành công")).to_be_visible()
    expect(page.locator("#completed-lead")).to_contain_text("mức 2")
    account = portal.services.users.find_by_login(NEW_CITIZEN.id_number)
    assert account is not None
    assert (account.source, account.verification_level) == ("vneid", 2)
    assert portal.services.users.password_hash(account.account_id) is None


def test_a_new_citizen_sets_a_password_under_the_rules(page: Page, portal: Portal) -> None:
    signed_in(page)
    page.locator("#password").fill("matkhau")
    page.locator("#confirmation").fill("matkhau")
    page.locator("#finish").click()
    expect(page.locator(".field-error").first).to_be_visible()

    page.locator("#password").fill(GOOD_PASSWORD)
    page.locator("#confirmation").fill(GOOD_PASSWORD)
    page.locator("#finish").click()

    expect(page.get_by_role("heading", name="Đăng ký thành công")).to_be_visible()
    account = portal.services.users.find_by_login(NEW_CITIZEN.id_number)
    assert account is not None
    assert portal.services.users.password_hash(account.account_id) is not None


def test_a_cancel_at_the_platform_comes_back_to_the_start(page: Page, portal: Portal) -> None:
    accounts = portal.accounts()
    signed_in(page, decision="Hủy")

    expect(page.get_by_role("heading", name="Đăng ký bằng tài khoản định danh")).to_be_visible()
    reason(page, "vneid.cancelled")
    page.get_by_role("button", name="Đăng nhập bằng VNeID").click()  # and can begin again
    expect(page.get_by_role("heading", name="Chuyển tới VNeID")).to_be_visible()
    assert portal.accounts() == accounts


def _give_password(portal: Portal, record: BhxhRecord) -> None:
    """The demo's account gets `GOOD_PASSWORD` (the portal's hasher is the tests' own)."""
    users = portal.services.users
    account = users.find_by_login(record.id_number)
    assert account is not None
    users.set_password_hash(account.account_id, FastHasher().hash(GOOD_PASSWORD))


def test_an_existing_account_is_linked_by_its_password(
    page: Page, portal: Portal, provider: LoopbackProvider
) -> None:
    provider.citizen = identity_of(HAS_ACCOUNT)
    _give_password(portal, HAS_ACCOUNT)
    signed_in(page)
    expect(page.get_by_role("heading", name="Liên kết tài khoản đã có")).to_be_visible()
    shoot(page, portal, "vneid-link")

    page.locator("#password").fill("Sai-Mat-Khau-1")
    page.locator("#link-password").click()
    expect(page.locator(".field-error")).to_have_text("Mật khẩu không đúng.")
    page.locator("#password").fill(GOOD_PASSWORD)
    page.locator("#link-password").click()

    expect(page.get_by_role("heading", name="Đăng ký thành công")).to_be_visible()
    account = portal.services.users.find_by_login(HAS_ACCOUNT.id_number)
    assert account is not None
    assert account.vneid_verified_at is not None


def test_an_existing_account_is_linked_by_an_otp(
    page: Page, portal: Portal, provider: LoopbackProvider
) -> None:
    provider.citizen = identity_of(HAS_ACCOUNT)
    signed_in(page)
    page.locator("#link-password").click()  # the demo's account has no password to give
    expect(page.locator(".field-error")).to_have_text("Mật khẩu không đúng.")
    page.locator("#link-otp").click()
    expect(page.get_by_role("heading", name="Xác thực OTP")).to_be_visible()

    page.locator("#code").fill(last_otp(portal))
    page.get_by_role("button", name="Xác nhận").click()

    expect(page.get_by_role("heading", name="Đăng ký thành công")).to_be_visible()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"acr": "1"}, "vneid.level_too_low"),
        ({"nonce": "of-another-sign-in"}, "vneid.token_invalid"),
        ({"exp": 1_000_000_000}, "vneid.token_invalid"),
        ({"iss": "http://127.0.0.1:1"}, "vneid.token_invalid"),
        ({"phone_number": "02438123456"}, "vneid.identity_invalid"),
    ],
)
def test_a_token_the_portal_must_refuse_sends_the_citizen_back(
    page: Page, portal: Portal, provider: LoopbackProvider, changes: dict[str, Any], code: str
) -> None:
    provider.token_changes = dict(changes)
    signed_in(page)

    expect(page.get_by_role("heading", name="Đăng ký bằng tài khoản định danh")).to_be_visible()
    reason(page, code)
    assert portal.services.users.find_by_login(NEW_CITIZEN.id_number) is None


def test_a_forged_callback_changes_nothing(page: Page, portal: Portal) -> None:
    accounts = portal.accounts()
    to_platform(page)
    page.goto("/vneid/callback?code=stolen&state=forged")

    expect(page.get_by_role("heading", name="Chuyển tới VNeID")).to_be_visible()
    reason(page, "vneid.state_mismatch")
    page.get_by_role("link", name="Tiếp tục tới VNeID").click()  # the real sign-in still works
    page.get_by_role("button", name="Đồng ý").click()
    expect(page.get_by_role("heading", name="Hoàn tất đăng ký")).to_be_visible()
    assert portal.accounts() == accounts


@pytest.mark.usefixtures("portal")
def test_a_platform_down_at_the_callback_says_so_and_the_retry_heals(
    page: Page, provider: LoopbackProvider
) -> None:
    to_platform(page)
    provider.fail_token(503)
    page.get_by_role("button", name="Đồng ý").click()

    expect(page.get_by_role("heading", name="Chuyển tới VNeID")).to_be_visible()
    reason(page, "identity.unavailable")
    page.get_by_role("link", name="Tiếp tục tới VNeID").click()  # the citizen tries again
    page.get_by_role("button", name="Đồng ý").click()
    expect(page.get_by_role("heading", name="Hoàn tất đăng ký")).to_be_visible()


@pytest.fixture
def strict_portal(screenshots: Path, provider: LoopbackProvider) -> Iterator[Portal]:
    policy = Policy(vneid_password=VneidPassword.NONE)
    yield from vneid_portal(screenshots, provider, policy=policy)


def test_a_host_whose_policy_gives_no_password_finishes_in_one_press(
    browser: Browser, strict_portal: Portal
) -> None:
    context = browser.new_context(base_url=strict_portal.url, locale="vi-VN")
    page = context.new_page()
    signed_in(page)
    expect(page.locator("#password")).to_have_count(0)
    page.get_by_role("button", name="Hoàn tất đăng ký").click()
    expect(page.get_by_role("heading", name="Đăng ký thành công")).to_be_visible()
    context.close()
