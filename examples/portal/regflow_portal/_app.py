"""The web layer: pages become regflow events, `FlowView`s become pages.

Every POST answers with a redirect to the screen of the flow's current state (Post/Redirect/
Get), and every GET renders that state afresh from `Engine.view`: a refresh or the back
button can show an old URL, never an old state, and can never send an event twice.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask import Response as FlaskResponse
from markupsafe import Markup
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import LimitedStream

from phone_change import PHONE_CHANGE, PhoneChangeState, RequestPhoneChange
from regflow import (
    BHXH_REGISTRATION,
    ERRORS,
    PASSWORD_RECOVERY,
    VNEID_REGISTRATION,
    BeginVneid,
    ChooseMethod,
    ConfirmOtp,
    FlowView,
    LinkByOtp,
    LinkByPassword,
    RecoveryState,
    ResendOtp,
    SetPassword,
    SkipPassword,
    State,
    SubmitForm,
    SubmitLogin,
    VneidCallback,
    VneidState,
)
from regflow_portal._health import health
from regflow_portal._help import TOPICS, help_pages
from regflow_portal._purge import Purger
from regflow_portal._texts import TEXTS
from regflow_portal._wiring import Services, Settings, build_services

if TYPE_CHECKING:
    from datetime import datetime

    from werkzeug.exceptions import HTTPException
    from werkzeug.wrappers import Response

REGISTRATION, RECOVERY, PHONE = BHXH_REGISTRATION.name, PASSWORD_RECOVERY.name, PHONE_CHANGE.name
VNEID = VNEID_REGISTRATION.name
R, P, V = RecoveryState, PhoneChangeState, VneidState
#: The screen (URL and template) that shows each state of each flow: the OTP screen serves
#: every flow, the password screen both of regflow's, each flow has its own outcome page.
SCREENS: dict[tuple[str, str], str] = {
    (REGISTRATION, State.CHOOSING_METHOD): "method",
    (REGISTRATION, State.FILLING_FORM): "details",
    (REGISTRATION, State.DATA_MISMATCH): "result",
    (REGISTRATION, State.OTP_PENDING): "otp",
    (REGISTRATION, State.OTP_EXPIRED): "otp",
    (REGISTRATION, State.SETTING_PASSWORD): "password",
    (REGISTRATION, State.COMPLETED): "result",
    (REGISTRATION, State.ACCOUNT_EXISTS): "result",
    (REGISTRATION, State.LOCKED): "result",
    (REGISTRATION, State.EXPIRED): "result",
    (RECOVERY, R.ENTERING_LOGIN): "login",
    (RECOVERY, R.OTP_PENDING): "otp",
    (RECOVERY, R.OTP_EXPIRED): "otp",
    (RECOVERY, R.SETTING_PASSWORD): "password",
    (RECOVERY, R.COMPLETED): "recovered",
    (RECOVERY, R.LOCKED): "recovered",
    (RECOVERY, R.EXPIRED): "recovered",
    (PHONE, P.ENTERING_REQUEST): "request",
    (PHONE, P.OTP_PENDING): "otp",
    (PHONE, P.OTP_EXPIRED): "otp",
    (PHONE, P.COMPLETED): "done",
    (PHONE, P.LOCKED): "done",
    (PHONE, P.EXPIRED): "done",
    (VNEID, V.READY): "start",
    (VNEID, V.AWAITING_CALLBACK): "go",
    (VNEID, V.LINKING): "link",
    (VNEID, V.OTP_PENDING): "otp",
    (VNEID, V.OTP_EXPIRED): "otp",
    (VNEID, V.SETTING_PASSWORD): "finish",
    (VNEID, V.COMPLETED): "outcome",
    (VNEID, V.LOCKED): "outcome",
    (VNEID, V.EXPIRED): "outcome",
}
#: Where each flow's screens live (`/register/otp`, `/recover/otp`, `/phone/otp`), the page of
#: its outcome (what a flow past its lifetime shows), the endpoint that starts it again, and
#: the texts of the flow's own words (`tries_left_recovery`, `start_again_phone`, …).
PATHS = {REGISTRATION: "register", RECOVERY: "recover", PHONE: "phone", VNEID: "vneid"}
OUTCOME_SCREENS = {REGISTRATION: "result", RECOVERY: "recovered", PHONE: "done", VNEID: "outcome"}
STARTS = {
    REGISTRATION: "pages.start",
    RECOVERY: "pages.recover",
    PHONE: "pages.change_phone",
    VNEID: "pages.start_vneid",
}
TEXT_SUFFIXES = {REGISTRATION: "", RECOVERY: "_recovery", PHONE: "_phone", VNEID: "_vneid"}
OTP_EXPIRED = frozenset(
    {
        (REGISTRATION, State.OTP_EXPIRED),
        (RECOVERY, R.OTP_EXPIRED),
        (PHONE, P.OTP_EXPIRED),
        (VNEID, V.OTP_EXPIRED),
    }
)
FORM_FIELDS = ("bhxh_number", "full_name", "id_number", "date_of_birth", "phone", "email")
REQUIRED_FIELDS = frozenset(FORM_FIELDS) - {"email"}
#: Errors that only say the page was older than the flow: the current screen says enough.
STALE_PAGE = frozenset({"event.not_allowed", "flow.finished", "flow.locked", "flow.expired"})
LANGUAGES = ("vi", "en")
ZERO = timedelta(0)
#: A path of this site: "/" or "/"-separated segments of letters, digits and `._~-`. Nothing
#: a browser could read as another host (`//`, `\\`, a scheme, control or look-alike characters).
SITE_PATH = re.compile(r"/|(/[A-Za-z0-9._~-]+)+/?")
#: Request bodies are refused (413) before they are read past these: the largest form is six
#: short fields, so 16 KiB is generous; the field and part limits bound multipart bodies.
MAX_BODY_BYTES = 16 * 1024
MAX_FIELD_BYTES = 4 * 1024
MAX_FORM_PARTS = 20
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
#: One year, subdomains included (OWASP's HSTS cheat sheet); sent in production only.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"

pages = Blueprint("pages", __name__)


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """The portal as a WSGI app; `services` defaults to `build_services(settings)`."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="regflow_portal",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_FIELD_BYTES,
        MAX_FORM_PARTS=MAX_FORM_PARTS,
        PORTAL_HSTS=not settings.dev_mode,
    )
    if settings.proxy_hops:  # X-Forwarded-For/-Proto as set by that many trusted proxies
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    found = app.extensions["regflow"] = services or build_services(settings)
    if settings.purge_every is not None:
        app.extensions["regflow_purger"] = Purger(found, settings.purge_every).start()
    app.before_request(_check_body)
    app.before_request(_check_csrf)
    app.after_request(_harden)
    app.context_processor(_template_helpers)
    app.register_error_handler(400, _refused)
    app.register_error_handler(413, _refused)
    app.register_blueprint(pages)
    app.register_blueprint(health)
    app.register_blueprint(help_pages)
    if app.extensions["regflow"].inbox is not None:
        from regflow_portal._dev_pages import dev_pages  # noqa: PLC0415 - development only

        app.register_blueprint(dev_pages)
    return app


def services() -> Services:
    found: Services = current_app.extensions["regflow"]
    return found


# --- language, CSRF, headers ---------------------------------------------------------------


def language() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else "vi"


def text(key: str, **values: object) -> Markup:
    """A text in the page's language; `values` are escaped unless they are `Markup`."""
    return Markup.escape(TEXTS[key].in_language(language())).format(**values)


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    token: str = session["csrf"]
    return token


def _check_body() -> None:
    """Refuse a chunked body that reaches `MAX_BODY_BYTES` (413). Werkzeug refuses a declared
    `Content-Length` over the limit before reading a byte, but cuts a chunked body at the
    limit without a word; so read it here (never more than the limit) and refuse it whole."""
    if request.content_length is not None:
        return
    request.get_data(cache=True)  # what the form parser then reads
    if isinstance(request.stream, LimitedStream) and request.stream.is_exhausted:
        abort(413)


def _check_csrf() -> None:
    """Refuse every POST whose form does not carry this session's token."""
    if request.method != "POST":
        return
    sent = request.form.get("csrf_token", "")
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400)


def _harden(response: Response) -> Response:
    """No page of a flow may come back from a cache: the back button must ask the server."""
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if current_app.config["PORTAL_HSTS"]:
        response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return response


def _refused(error: HTTPException) -> tuple[str, int]:
    """400 (no CSRF token) and 413 (body too large): the portal's page, not Werkzeug's."""
    code = error.code or 400
    reason = "too_large" if code == 413 else "bad_request"
    return render_template("bad_request.html", reason=reason), code


def _template_helpers() -> dict[str, Any]:
    return {
        "t": text,
        "msg": lambda message: message.in_language(language()),
        "error_text": lambda code: ERRORS[code].message.in_language(language()),
        "lang": language(),
        "csrf_token": csrf_token,
        "help_topics": TOPICS,
        "dev_mode": services().inbox is not None,
        "vneid_offered": any(spec.name == VNEID for spec in services().engine.flows),
    }


@pages.get("/lang/<lang>")
def switch_language(lang: str) -> Response:
    if lang in LANGUAGES:
        session["lang"] = lang
    target = request.args.get("next", "/")
    return redirect(target if SITE_PATH.fullmatch(target) else "/")  # no open redirect


# --- the flow -------------------------------------------------------------------------------


def current_view() -> FlowView | None:
    flow_id = session.get("flow_id")
    if not flow_id:
        return None
    view = services().engine.view(flow_id)
    return None if view.state is None and "flow.not_found" in view.error_codes() else view


def past_lifetime(view: FlowView) -> bool:
    """A flow that outlived its lifetime shows as expired, whatever its state: the engine ends
    a running one at its next event, and a finished one's page (a completed flow names the
    citizen) is not shown to whoever holds the cookie after the flow's time."""
    expires_at = view.expires_at
    return expires_at is not None and expires_at <= now()


def now() -> datetime:
    return services().clock.now()


def screen_of(view: FlowView) -> str:
    if view.state is None or view.flow is None:
        return "result"
    if past_lifetime(view):
        return OUTCOME_SCREENS[view.flow]
    return SCREENS[view.flow, view.state]


def screen_url(view: FlowView) -> str:
    prefix = PATHS.get(view.flow or "", "register")  # an unreadable flow: the outcome page
    return url_for("pages.show", prefix=prefix, screen=screen_of(view))


def to_screen(view: FlowView) -> Response:
    return redirect(screen_url(view), code=303)


@pages.get("/")
def home() -> str:
    view = current_view()
    resumable = view is not None and bool(view.allowed_events) and not past_lifetime(view)
    return render_template(
        "home.html",
        resume_url=screen_url(view) if view is not None and resumable else None,
        resume_text="continue" + (TEXT_SUFFIXES.get(view.flow or "", "") if view else ""),
        notice=session.pop("notice", None),
    )


@pages.get("/metrics")
def metrics() -> FlaskResponse:
    """The engine's metrics for Prometheus (docs/operations.md: serve it to the scraper only)."""
    body = generate_latest(services().metrics)
    return FlaskResponse(body, mimetype=None, content_type=CONTENT_TYPE_LATEST)


@pages.post("/register")
def start() -> Response | str:
    return begin(REGISTRATION)


@pages.post("/recover")
def recover() -> Response | str:
    """The citizen pressed "Quên mật khẩu" (home page or account-exists screen): a recovery
    replaces the session's flow (a registration there has ended at "account exists")."""
    return begin(RECOVERY)


@pages.post("/phone")
def change_phone() -> Response | str:
    """The citizen pressed "Đổi số điện thoại" on the home page: the tutorial's own flow."""
    return begin(PHONE)


def begin(flow: str) -> Response | str:
    """Start a flow of `flow` for this session, in place of the one it had."""
    view = services().engine.start(flow, client=client_key(request.remote_addr))
    if view.errors:
        return render_template("home.html", resume_url=None, errors=_messages(view))
    old_flow = session.get("flow_id")
    if old_flow:
        services().drafts.drop(old_flow)
    session["flow_id"], session["flow"] = view.flow_id, view.flow
    session.pop("errors", None)
    return to_screen(view)


@pages.get("/<any(register, recover, phone, vneid):prefix>/<screen>")
def show(prefix: str, screen: str) -> Response | str | tuple[str, int]:
    view = current_view()
    if view is None:
        session["notice"] = "no_flow"
        return redirect(url_for("pages.home"))
    if view.state is None or view.flow is None:
        return unavailable(view)
    errors = session.pop("errors", [])
    expected = screen_of(view)
    fixing_details = screen == "details" and view.state is State.DATA_MISMATCH
    if prefix != PATHS[view.flow] or (screen != expected and not fixing_details):
        return to_screen(view)
    drafts = services().drafts
    if view.state not in (State.FILLING_FORM, State.DATA_MISMATCH):
        drafts.drop(view.flow_id)
    outcome_page = screen == OUTCOME_SCREENS[view.flow]  # says what happened; errors: reasons
    template = screen if prefix != "vneid" or screen == "otp" else f"vneid_{screen}"
    return render_template(
        f"{template}.html",
        view=view,
        prefix=prefix,
        start_endpoint=STARTS[view.flow],
        texts_of=TEXT_SUFFIXES[view.flow],
        flow_minutes=_lifetime_minutes(view.flow),
        outcome="expired" if past_lifetime(view) else view.state,
        errors=[] if outcome_page else errors,
        reasons=errors if outcome_page else [],
        typed=drafts.get(view.flow_id, now()),
        notice=session.pop("notice", None),
        **_otp_timing(view),
    )


def _lifetime_minutes(flow: str) -> int:
    engine = services().engine
    spec = next(spec for spec in engine.flows if spec.name == flow)
    return spec.lifetime_under(engine.policy) // timedelta(minutes=1)


def _otp_timing(view: FlowView) -> dict[str, int | bool]:
    """Seconds until "Gửi lại OTP" works and minutes the code stays valid, counted here."""
    current = now()
    wait = view.resend_available_at - current if view.resend_available_at else None
    valid = view.otp_expires_at - current if view.otp_expires_at else None
    return {
        "resend_in": max(0, math.ceil(wait.total_seconds())) if wait else 0,
        "valid_minutes": max(0, math.ceil(valid.total_seconds() / 60)) if valid else 0,
        "otp_expired": (view.flow, view.state) in OTP_EXPIRED
        or (valid is not None and valid <= ZERO),
    }


@pages.post("/register/method")
def choose_method() -> Response | tuple[str, int]:
    form = request.form
    return step("register", ChooseMethod(form.get("subject", ""), form.get("method", "")))


@pages.post("/register/details")
def submit_details() -> Response | tuple[str, int]:
    typed = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    flow_id = session.get("flow_id")
    if flow_id:  # kept on the server, never in the cookie: the form is personal data
        services().drafts.put(flow_id, typed, until=now() + services().engine.policy.flow_ttl)
    return step(
        "register",
        SubmitForm(
            bhxh_number=typed["bhxh_number"],
            full_name=typed["full_name"],
            date_of_birth=typed["date_of_birth"],
            phone=typed["phone"],
            email=typed["email"] or None,
            id_number=typed["id_number"],
        ),
    )


@pages.post("/recover/login")
def submit_login() -> Response | tuple[str, int]:
    return step("recover", SubmitLogin(request.form.get("login", "")))


@pages.post("/phone/request")
def request_phone_change() -> Response | tuple[str, int]:
    form = request.form
    return step(
        "phone",
        RequestPhoneChange(
            login=form.get("login", ""),
            password=form.get("password", ""),
            new_phone=form.get("new_phone", "").strip(),
        ),
    )


# docs/embedding.md shows from here to `step` as it is.
# --8<-- [start:one_post_one_event]
@pages.post("/<any(register, recover, phone, vneid):prefix>/otp")
def confirm_otp(prefix: str) -> Response | tuple[str, int]:
    return step(prefix, ConfirmOtp(request.form.get("code", "").strip()))


@pages.post("/<any(register, recover, phone, vneid):prefix>/otp/resend")
def resend_otp(prefix: str) -> Response | tuple[str, int]:
    return step(prefix, ResendOtp(), notice="resent")


@pages.post("/<any(register, recover):prefix>/password")
def set_password(prefix: str) -> Response | tuple[str, int]:
    form = request.form
    return step(prefix, SetPassword(form.get("password", ""), form.get("confirmation", "")))


@pages.post("/vneid")
def start_vneid() -> Response | str | tuple[str, int]:
    """The method screen's "Tài khoản định danh điện tử VNeID" (or "start again"): a sign-up
    by VNeID replaces the session's flow, and its authorization request is made at once."""
    started = begin(VNEID)
    return started if isinstance(started, str) else step("vneid", BeginVneid())


@pages.get("/vneid/callback")
def vneid_callback() -> Response | tuple[str, int]:
    """The redirect URI registered with the platform: its query, as text, is the event.
    No CSRF token (the platform's redirect cannot carry one): the flow's `state` is it."""
    args = request.args
    return step(
        "vneid",
        VneidCallback(code=args.get("code"), state=args.get("state"), error=args.get("error")),
    )


@pages.post("/vneid/link/password")
def link_by_password() -> Response | tuple[str, int]:
    return step("vneid", LinkByPassword(request.form.get("password", "")))


@pages.post("/vneid/link/otp")
def link_by_otp() -> Response | tuple[str, int]:
    return step("vneid", LinkByOtp())


@pages.post("/vneid/password")
def vneid_password() -> Response | tuple[str, int]:
    form = request.form
    return step("vneid", SetPassword(form.get("password", ""), form.get("confirmation", "")))


@pages.post("/vneid/skip")
def skip_password() -> Response | tuple[str, int]:
    return step("vneid", SkipPassword())


def step(prefix: str, event: object, notice: str | None = None) -> Response | tuple[str, int]:
    """Send one event to the session's flow, keep its errors for the next page, redirect.

    A form posted to another flow's URL (`prefix`) is a page older than the session's flow
    (another tab began a recovery, say): it is not sent, the current screen is shown. The
    session keeps its flow's name (`begin`), so a form of that flow is sent at once and the
    flow is loaded once, by `Engine.send`; any other form (or a session from before names
    were kept) has the flow read to know. The client key is the connection's address, or
    with `Settings.proxy_hops` the address the trusted proxies saw (ProxyFix): the engine's
    limits per client count by it (`client_key`: an IPv6 address by its /64).
    """
    flow_id = session.get("flow_id")
    if flow_id and PATHS.get(session.get("flow") or "") != prefix:
        current = current_view()
        if current is not None and current.flow is not None and PATHS[current.flow] != prefix:
            return to_screen(current)
        flow_id = current.flow_id if current is not None else None
    if not flow_id:
        session["notice"] = "no_flow"
        return redirect(url_for("pages.home"), code=303)
    view = services().engine.send(flow_id, event, client=client_key(request.remote_addr))
    if view.state is None and view.retryable:
        return unavailable(view)
    if view.state is None:
        session["notice"] = "no_flow"
        return redirect(url_for("pages.home"), code=303)
    errors = [e for e in _messages(view) if e["code"] not in STALE_PAGE]
    if errors:
        session["errors"] = errors
    elif notice and view.ok:
        session["notice"] = notice
    return to_screen(view)


# --8<-- [end:one_post_one_event]


def client_key(address: str | None) -> str | None:
    """The key the limits per client count by: an IPv4 address as it is, an IPv6 one by its
    /64, the network a subscriber is given whole (counted per address, a bot drawing a new
    one of its 2^64 for every form would pass every per-client limit)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network((ip, 64), strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


def unavailable(view: FlowView) -> tuple[str, int]:
    """A service regflow needs is down: say so, keep the flow, let the citizen retry."""
    return render_template("unavailable.html", errors=_messages(view)), 503


def _messages(view: FlowView) -> list[dict[str, str | None]]:
    """The view's errors in the shape a cookie can keep: code, field and both languages."""
    return [
        {"code": e.code, "field": e.field, "vi": e.message.vi, "en": e.message.en}
        for e in view.errors
    ]
