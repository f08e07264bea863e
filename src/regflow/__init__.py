"""regflow: citizen self-service flows as guarded state machines, declared once.

A flow is a `FlowSpec` (`regflow.declare`); an `Engine` (for asyncio hosts an
`AsyncEngine`) runs the flows it is given over ports (`regflow.ports`) that host apps fill
with adapters (`regflow.adapters`, fakes in `regflow.testing`). regflow ships the National
Public Service Portal's registration by BHXH number (`BHXH_REGISTRATION`, declared in
`regflow.machine`) and its password recovery (`PASSWORD_RECOVERY`), and the registration by
the national identity platform over OpenID Connect (`VNEID_REGISTRATION`), built from
reusable kits (`regflow.kits`).
"""

from regflow._bootstrap import Stores, bootstrap, open_stores
from regflow._delivery import Backoff, Delivery, deliver_outbox
from regflow._domain import (
    REMEDIES,
    Account,
    BhxhRecord,
    ChooseMethod,
    RegistrationForm,
    Remedy,
    SubmitForm,
    VerifiedIdentity,
)
from regflow._errors import (
    ERRORS,
    DuplicateAccountError,
    ErrorSpec,
    FlowError,
    Message,
    PortUnavailableError,
    StaleFlowError,
)
from regflow._limits import RateLimit, RateLimits
from regflow._logging import configure_production_logging, production_logging
from regflow._masking import mask_id, mask_phone
from regflow._methods import CITIZEN_BY_BHXH, MethodRegistry, RegistrationMethod
from regflow._outbox import event_of
from regflow._passwords import (
    PORTAL_PASSWORDS,
    STANDARDS_PASSWORDS,
    PasswordProfile,
    PersonalData,
)
from regflow._policy import Policy, VneidPassword
from regflow._shipped import SHIPPED_FLOWS, SHIPPED_OLDER_VERSIONS
from regflow._sms import SmsMessage, SmsTemplate, load_sms_templates
from regflow._view import FlowView
from regflow._wording import Wording
from regflow.declare import (
    EXPIRE,
    FlowSnapshot,
    FlowSpec,
    Migration,
    Rule,
    Step,
    event,
    fact,
    flow_expired,
    rule,
    state,
)
from regflow.engine import AsyncEngine, Engine
from regflow.flows.recovery import PASSWORD_RECOVERY, RecoveryState, SubmitLogin
from regflow.flows.vneid import (
    VNEID_REGISTRATION,
    BeginVneid,
    LinkByOtp,
    LinkByPassword,
    SkipPassword,
    VneidCallback,
    VneidContext,
    VneidDetails,
    VneidState,
)
from regflow.kits.otp import ConfirmOtp, OtpChallenge, OtpContext, OtpKit, ResendOtp
from regflow.kits.password import PasswordKit, SetPassword
from regflow.machine import (
    BHXH_REGISTRATION,
    BHXH_REGISTRATION_V1,
    BHXH_REGISTRATION_V2,
    RegistrationDetails,
    State,
)
from regflow.vn._records import RecordValueError, normalise_record
from regflow.vn._tone_marks import place_tone_marks
from regflow.vn._validation import normalise_name, normalise_password, normalise_phone

__all__ = [
    "BHXH_REGISTRATION",
    "BHXH_REGISTRATION_V1",
    "BHXH_REGISTRATION_V2",
    "CITIZEN_BY_BHXH",
    "ERRORS",
    "EXPIRE",
    "PASSWORD_RECOVERY",
    "PORTAL_PASSWORDS",
    "REMEDIES",
    "SHIPPED_FLOWS",
    "SHIPPED_OLDER_VERSIONS",
    "STANDARDS_PASSWORDS",
    "VNEID_REGISTRATION",
    "Account",
    "AsyncEngine",
    "Backoff",
    "BeginVneid",
    "BhxhRecord",
    "ChooseMethod",
    "ConfirmOtp",
    "Delivery",
    "DuplicateAccountError",
    "Engine",
    "ErrorSpec",
    "FlowError",
    "FlowSnapshot",
    "FlowSpec",
    "FlowView",
    "LinkByOtp",
    "LinkByPassword",
    "Message",
    "MethodRegistry",
    "Migration",
    "OtpChallenge",
    "OtpContext",
    "OtpKit",
    "PasswordKit",
    "PasswordProfile",
    "PersonalData",
    "Policy",
    "PortUnavailableError",
    "RateLimit",
    "RateLimits",
    "RecordValueError",
    "RecoveryState",
    "RegistrationDetails",
    "RegistrationForm",
    "RegistrationMethod",
    "Remedy",
    "ResendOtp",
    "Rule",
    "SetPassword",
    "SkipPassword",
    "SmsMessage",
    "SmsTemplate",
    "StaleFlowError",
    "State",
    "Step",
    "Stores",
    "SubmitForm",
    "SubmitLogin",
    "VerifiedIdentity",
    "VneidCallback",
    "VneidContext",
    "VneidDetails",
    "VneidPassword",
    "VneidState",
    "Wording",
    "bootstrap",
    "configure_production_logging",
    "deliver_outbox",
    "event",
    "event_of",
    "fact",
    "flow_expired",
    "load_sms_templates",
    "mask_id",
    "mask_phone",
    "normalise_name",
    "normalise_password",
    "normalise_phone",
    "normalise_record",
    "open_stores",
    "place_tone_marks",
    "production_logging",
    "rule",
    "state",
]
