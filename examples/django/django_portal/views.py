"""One view per screen of the BHXH registration: a POST is one regflow event, a GET renders
the flow's current state.

The session (a signed cookie) holds the flow id and the language. A view whose screen is not
the flow's current one redirects to it, so an old URL or the back button shows the current
step and sends nothing; a POST that moves the flow answers 303 to the next screen, and one
refused on the spot renders its screen again with regflow's errors in the page's language.
Each event is built from the form's own fields: `request.POST` also carries Django's
``csrfmiddlewaretoken``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from django_portal.texts import TEXTS
from django_portal.wiring import services
from regflow import ERRORS, ChooseMethod, ConfirmOtp, ResendOtp, SetPassword, State, SubmitForm

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest, HttpResponse

    from regflow import FlowView

LANGUAGES = ("vi", "en")
REGISTRATION = "bhxh_registration"
#: The screen (URL name and template) of each state; the details screen also fixes a mismatch.
SCREENS = {
    State.CHOOSING_METHOD: "method",
    State.FILLING_FORM: "details",
    State.DATA_MISMATCH: "mismatch",
    State.ACCOUNT_EXISTS: "exists",
    State.OTP_PENDING: "otp",
    State.OTP_EXPIRED: "otp",
    State.SETTING_PASSWORD: "password",
    State.COMPLETED: "done",
    State.LOCKED: "ended",
    State.EXPIRED: "ended",
}
SHOWN_ALSO = {"details": {State.DATA_MISMATCH}}
FORM_FIELDS = ("bhxh_number", "id_number", "full_name", "date_of_birth", "phone", "email")


def language(request: HttpRequest) -> str:
    lang = request.session.get("lang")
    return lang if lang in LANGUAGES else "vi"


def texts(request: HttpRequest) -> dict[str, object]:
    """The context processor: the page's words (`t.register`) and its language."""
    lang = language(request)
    words = {key: text.in_language(lang) for key, text in TEXTS.items()}
    return {"t": words, "lang": lang, "other_lang": "en" if lang == "vi" else "vi"}


@require_GET
def switch_language(request: HttpRequest, lang: str) -> HttpResponse:
    if lang in LANGUAGES:
        request.session["lang"] = lang
    target = request.GET.get("next", "/")
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()})
    return redirect(target if safe else "/")


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The start page; its button starts a registration in place of the session's flow."""
    if request.method == "POST":
        view = services().engine.start(REGISTRATION, client=_client(request))
        if view.ok:
            request.session["flow_id"] = view.flow_id
            return _to_screen(view)
        return _render(request, "home", view, view)
    current = _current(request)
    resumable = current is not None and bool(current.allowed_events)
    return _render(request, "home", current, None, resume=resumable)


@require_http_methods(["GET", "POST"])
def method(request: HttpRequest) -> HttpResponse:
    post = request.POST
    return _screen(
        request, "method", lambda: ChooseMethod(post.get("subject", ""), post.get("method", ""))
    )


@require_http_methods(["GET", "POST"])
def details(request: HttpRequest) -> HttpResponse:
    typed = {name: request.POST.get(name, "").strip() for name in FORM_FIELDS}
    return _screen(
        request,
        "details",
        lambda: SubmitForm(
            bhxh_number=typed["bhxh_number"],
            id_number=typed["id_number"],
            full_name=typed["full_name"],
            date_of_birth=typed["date_of_birth"],
            phone=typed["phone"],
            email=typed["email"] or None,
        ),
        typed=typed,
    )


@require_http_methods(["GET", "POST"])
def otp(request: HttpRequest) -> HttpResponse:
    if "resend" in request.POST:
        return _screen(request, "otp", ResendOtp)
    return _screen(request, "otp", lambda: ConfirmOtp(request.POST.get("code", "").strip()))


@require_http_methods(["GET", "POST"])
def password(request: HttpRequest) -> HttpResponse:
    post = request.POST
    return _screen(
        request,
        "password",
        lambda: SetPassword(post.get("password", ""), post.get("confirmation", "")),
    )


@require_GET
def mismatch(request: HttpRequest) -> HttpResponse:
    return _screen(request, "mismatch", None)


@require_GET
def exists(request: HttpRequest) -> HttpResponse:
    return _screen(request, "exists", None)


@require_GET
def done(request: HttpRequest) -> HttpResponse:
    return _screen(request, "done", None)


@require_GET
def ended(request: HttpRequest) -> HttpResponse:
    return _screen(request, "ended", None)


# --- the flow behind every screen ------------------------------------------------------------


def _screen(
    request: HttpRequest,
    screen: str,
    event: Callable[[], object] | None,
    typed: dict[str, str] | None = None,
) -> HttpResponse:
    """Show `screen` if it is the flow's current one, or send its form's event (POST)."""
    view = _current(request)
    if view is None or view.state is None:
        return redirect("home")
    if screen not in _screens_of(view):
        return _to_screen(view)
    if request.method != "POST" or event is None:
        return _render(request, screen, view, None)
    sent = services().engine.send(view.flow_id, event(), client=_client(request))
    if sent.errors and sent.state == view.state:
        return _render(request, screen, sent, sent, typed=typed or {})
    return _to_screen(sent) if sent.state is not None else _render(request, screen, view, sent)


def _current(request: HttpRequest) -> FlowView | None:
    flow_id = request.session.get("flow_id")
    return services().engine.view(flow_id) if isinstance(flow_id, str) else None


def _screens_of(view: FlowView) -> tuple[str, ...]:
    """The screens that may show `view`, its own first: a flow past its lifetime (or one that
    could not be read) shows only "ended" (the engine ends it at its next event; a completed
    one's page names the citizen)."""
    past = view.expires_at is not None and view.expires_at <= services().clock.now()
    if view.state is None or past:
        return ("ended",)
    state = State(view.state)
    return (SCREENS[state], *(name for name, also in SHOWN_ALSO.items() if state in also))


def _to_screen(view: FlowView) -> HttpResponse:
    response = redirect(_screens_of(view)[0])
    response.status_code = 303
    return response


def _render(
    request: HttpRequest,
    screen: str,
    view: FlowView | None,
    errors_of: FlowView | None,
    **extra: object,
) -> HttpResponse:
    """The screen's template with the view and `errors_of`'s errors, in the page's language:
    field errors by field (`field_errors.phone`), the rest as the page's."""
    lang = language(request)
    errors = errors_of.errors if errors_of is not None else ()
    field_errors: dict[str, list[str]] = {}
    for error in errors:
        if error.field:
            field_errors.setdefault(error.field, []).append(error.message.in_language(lang))
    context = {
        "view": view,
        "page_errors": [e.message.in_language(lang) for e in errors if not e.field],
        "field_errors": field_errors,
        # regflow's texts by code, "." written "_" for the templates: error_text.otp_expired
        "error_text": {
            code.replace(".", "_"): spec.message.in_language(lang) for code, spec in ERRORS.items()
        },
        **_details(view, lang),
        **extra,
    }
    status = 503 if errors_of is not None and errors_of.retryable else 200
    return render(request, f"django_portal/{screen}.html", context, status=status)


def _details(view: FlowView | None, lang: str) -> dict[str, object]:
    """What the registration's own screens show (`RegistrationDetails`), in `lang`."""
    details = view.details if view is not None else None
    methods = getattr(details, "methods", ())
    subjects = {m.subject: m.subject_label.in_language(lang) for m in methods}
    return {
        "subjects": subjects.items(),
        "methods": [(m.method, m.method_label.in_language(lang)) for m in methods],
        "mismatches_left": getattr(details, "mismatches_left", None),
        "remedies": [
            (r.title.in_language(lang), r.description.in_language(lang))
            for r in getattr(details, "remedies", ())
        ],
    }


def _client(request: HttpRequest) -> str | None:
    """The key regflow's limits per client count by: the connection's address."""
    address = request.META.get("REMOTE_ADDR")
    return address if isinstance(address, str) else None
