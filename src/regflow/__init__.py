"""regflow: citizen registration by social-insurance (BHXH) number as a guarded state machine.

The flow of the National Public Service Portal's guide, declared once in `regflow.machine`,
run by an `Engine` over ports (`regflow.ports`) that host apps fill with adapters
(`regflow.adapters`, fakes in `regflow.testing`).
"""

from regflow._bootstrap import Stores, bootstrap, open_stores
from regflow._domain import (
    REMEDIES,
    Account,
    BhxhRecord,
    ChooseMethod,
    ConfirmOtp,
    Event,
    FlowSnapshot,
    OtpChallenge,
    RegistrationForm,
    Remedy,
    ResendOtp,
    SetPassword,
    State,
    SubmitForm,
)
from regflow._engine import Engine
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
from regflow._masking import mask_id, mask_phone
from regflow._methods import CITIZEN_BY_BHXH, MethodRegistry, RegistrationMethod
from regflow._policy import Policy
from regflow._records import RecordValueError, normalise_record
from regflow._rules import Rule, Step, rule
from regflow._sms import SmsMessage, SmsTemplate, load_sms_templates
from regflow._tone_marks import place_tone_marks
from regflow._validation import normalise_name, normalise_password
from regflow._view import FlowView

__all__ = [
    "CITIZEN_BY_BHXH",
    "ERRORS",
    "REMEDIES",
    "Account",
    "BhxhRecord",
    "ChooseMethod",
    "ConfirmOtp",
    "DuplicateAccountError",
    "Engine",
    "ErrorSpec",
    "Event",
    "FlowError",
    "FlowSnapshot",
    "FlowView",
    "Message",
    "MethodRegistry",
    "OtpChallenge",
    "Policy",
    "PortUnavailableError",
    "RateLimit",
    "RateLimits",
    "RecordValueError",
    "RegistrationForm",
    "RegistrationMethod",
    "Remedy",
    "ResendOtp",
    "Rule",
    "SetPassword",
    "SmsMessage",
    "SmsTemplate",
    "StaleFlowError",
    "State",
    "Step",
    "Stores",
    "SubmitForm",
    "bootstrap",
    "load_sms_templates",
    "mask_id",
    "mask_phone",
    "normalise_name",
    "normalise_password",
    "normalise_record",
    "open_stores",
    "place_tone_marks",
    "rule",
]
