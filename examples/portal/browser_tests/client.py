"""The portal through Flask's test client: settings for tests and a citizen's form posts."""

from __future__ import annotations

import base64
import json
import os
import re
import zlib
from typing import TYPE_CHECKING

from regflow.testing import FastHasher, SmsInbox
from regflow_portal import Services, Settings

from .citizen import NEW_CITIZEN, typed_form

if TYPE_CHECKING:
    from flask.testing import FlaskClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CODE = re.compile(r"\b(\d{6})\b")
COOKIE = "regflow_portal"


def settings(**changes: object) -> Settings:
    """Development mode, fast hashing, no purge thread: what most tests want."""
    defaults: dict[str, object] = {
        "secret_key": b"k" * 32,
        "otp_secret": b"o" * 32,
        "dev_mode": True,
        "secure_cookies": False,
        "hasher": FastHasher(),
        "purge_every": None,
    }
    return Settings(**(defaults | changes))  # type: ignore[arg-type]


def production_settings(**changes: object) -> Settings:
    """Production mode as an operator would configure it: random secrets, a real gateway."""
    defaults: dict[str, object] = {
        "secret_key": os.urandom(32),
        "otp_secret": os.urandom(32),
        "dev_mode": False,
        "sms": SmsInbox(),
    }
    return settings(**(defaults | changes))


def csrf_token(client: FlaskClient) -> str:
    """The session's CSRF token, from the home page's forms."""
    match = _CSRF.search(client.get("/").text)
    assert match is not None
    return match.group(1)


def post(client: FlaskClient, path: str, **form: str) -> str:
    """Submit a form with the session's CSRF token, as its page does; return the next page."""
    return submit(client, path, csrf_token(client), **form)


def submit(client: FlaskClient, path: str, token: str, **form: str) -> str:
    """Submit a form with `token`, as a page already shown does; return the next page."""
    answer = client.post(path, data={"csrf_token": token, **form})
    assert answer.status_code == 303
    return client.get(answer.headers["Location"]).text


def reach_otp(client: FlaskClient) -> str:
    post(client, "/register")
    post(client, "/register/method", subject="citizen", method="bhxh")
    return post(client, "/register/details", **typed_form(NEW_CITIZEN))


def last_otp(services: Services) -> str:
    assert services.inbox is not None
    match = _CODE.search(services.inbox.messages()[0].text)
    assert match is not None
    return match.group(1)


def cookie_text(client: FlaskClient) -> str:
    """The session cookie as anyone holding it reads it, without the key: itsdangerous signs
    `base64(json)` (zlib-compressed when it starts with "."), it does not encrypt it."""
    cookie = client.get_cookie(COOKIE)
    if cookie is None:
        return ""
    payload = cookie.value.removeprefix(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if cookie.value.startswith("."):
        data = zlib.decompress(data)
    return json.dumps(json.loads(data), ensure_ascii=False)


#: `next=` values (as they appear in the query string) that must not leave the site: the
#: classic open-redirect bypasses, header injection, schemes, backslashes and look-alikes.
OFF_SITE_TARGETS = (
    "//evil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%0d%0aSet-Cookie:%20pwned=1",
    "%0d%0aLocation:%20https://evil.example",
    "https://evil.example",
    "http:evil.example",
    "HTTPS:%2F%2Fevil.example",
    "javascript:alert(1)",
    "%20//evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%E2%88%95evil.example",  # ∕ DIVISION SLASH
    "/%EF%BC%8F%EF%BC%8Fevil.example",  # ／／ FULLWIDTH SOLIDUS
    "//evil%E3%80%82example",  # 。 IDEOGRAPHIC FULL STOP
    "/register%00//evil.example",
    "",
)
