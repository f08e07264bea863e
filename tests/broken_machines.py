"""Machine declarations with one defect each, for the static check and `regflow check`."""

from __future__ import annotations

from typing import Any

import attrs

from regflow import ErrorSpec, Message, Step, rule
from regflow.analysis import Declaration
from regflow.flows.recovery import PASSWORD_RECOVERY, RecoveryState


@rule("otp.invalid", vi="Mã OTP không đúng.", en="The OTP is wrong.")
def code_wrong(step: Step) -> bool:
    return bool(step.snapshot.context.otp_failures)


@rule("otp.expired", vi="Mã OTP đã hết hạn.", en="The OTP has expired.")
def code_late(step: Step) -> bool:
    return step.snapshot.context.otp is None


@rule(vi="Không có mã lỗi.", en="Reports no error code.")
def silent(step: Step) -> bool:
    return step.snapshot.version > 1


@rule("portal.not_catalogued", vi="Mã lỗi lạ.", en="An uncatalogued code.")
def unknown_code(step: Step) -> bool:
    return step.snapshot.version > 1


GO = {"trigger": "go", "source": "start", "dest": "middle"}
STOP = {"trigger": "stop", "source": "middle", "dest": "done"}


def declare(
    *extra: dict[str, Any],
    transitions: tuple[dict[str, Any], ...] = (GO, STOP),
    states: tuple[str, ...] = ("start", "middle", "done"),
    terminal: tuple[str, ...] = ("done",),
    events: tuple[str, ...] = ("go", "stop"),
) -> Declaration:
    return Declaration.build(
        transitions=[*transitions, *extra],
        states=states,
        initial="start",
        terminal=terminal,
        events=events,
    )


SOUND = declare()
UNKNOWN_STATE = declare({"trigger": "go", "source": "middle", "dest": "nowhere"})
UNREACHABLE_STATE = declare(states=("start", "middle", "done", "island"))
DEAD_END = declare(
    {"trigger": "stop", "source": "middle", "dest": None, "conditions": [code_wrong]},
    transitions=(GO,),
)
TERMINAL_HAS_TRANSITIONS = declare({"trigger": "go", "source": "done", "dest": "start"})
TRIGGER_UNUSED = declare(events=("go", "stop", "wave"))
TRIGGER_WITHOUT_TARGET = declare(
    {"trigger": "poke", "source": "middle", "dest": None, "conditions": [code_wrong]},
    events=("go", "stop", "poke"),
)
TRIGGER_UNDECLARED = declare({"trigger": "jump", "source": "start", "dest": "done"})
GUARD_UNNAMED = declare(
    {"trigger": "stop", "source": "start", "dest": "done", "conditions": [lambda _: True]},
)
GUARD_WITHOUT_CODE = declare(
    {"trigger": "stop", "source": "start", "dest": "done", "conditions": [silent]},
)
GUARD_UNCATALOGUED_CODE = declare(
    {"trigger": "stop", "source": "start", "dest": "done", "conditions": [unknown_code]},
)
UNLESS = declare(
    {"trigger": "stop", "source": "start", "dest": "done", "unless": [code_wrong]},
)
UNLESS_BEFORE_OTHERWISE = declare(  # the unless-edge does not always win: STOP still fires
    transitions=(
        GO,
        {"trigger": "stop", "source": "middle", "dest": None, "unless": [code_wrong]},
        STOP,
    ),
)
NEVER_FIRES = declare(
    {"trigger": "stop", "source": "middle", "dest": None, "conditions": [code_wrong]},
)
NEVER_FIRES_SUBSET = declare(
    {"trigger": "go", "source": "middle", "dest": None, "conditions": [code_wrong]},
    {"trigger": "go", "source": "middle", "dest": "done", "conditions": [code_wrong, code_late]},
)
AMBIGUOUS_RULE = declare(
    {"trigger": "go", "source": "middle", "dest": None, "conditions": [code_late, code_wrong]},
    {"trigger": "go", "source": "middle", "dest": "done", "conditions": [code_wrong]},
)

#: fixture name → the findings (kind, subject) the check must report for it, and no others.
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "UNKNOWN_STATE": {("unknown_state", "nowhere")},
    "UNREACHABLE_STATE": {("unreachable_state", "island"), ("dead_end", "island")},
    "DEAD_END": {
        ("dead_end", "middle"),
        ("unreachable_state", "done"),
        ("trigger_without_target", "stop"),
    },
    "TERMINAL_HAS_TRANSITIONS": {("terminal_has_transitions", "done")},
    "TRIGGER_UNUSED": {("trigger_unused", "wave")},
    "TRIGGER_WITHOUT_TARGET": {("trigger_without_target", "poke")},
    "TRIGGER_UNDECLARED": {("trigger_undeclared", "jump")},
    "GUARD_UNNAMED": {("guard_unnamed", "stop")},
    "GUARD_WITHOUT_CODE": {("guard_undocumented", "silent")},
    "GUARD_UNCATALOGUED_CODE": {("guard_undocumented", "unknown_code")},
    "UNLESS": {("unless_unsupported", "stop")},
    "UNLESS_BEFORE_OTHERWISE": {("unless_unsupported", "stop"), ("ambiguous_rule", "stop")},
    "NEVER_FIRES": {("never_fires", "stop")},
    "NEVER_FIRES_SUBSET": {("never_fires", "go")},
    "AMBIGUOUS_RULE": {("ambiguous_rule", "go")},
}

# --- a host's flows, for `--flows` ------------------------------------------------------------

#: A host's own flow: regflow's password recovery under another name, with one code of its own.
HOST_FLOW = attrs.evolve(
    PASSWORD_RECOVERY,
    name="host_recovery",
    title=Message("Khôi phục của cổng", "The portal's recovery"),
    errors=(
        *PASSWORD_RECOVERY.errors,
        ErrorSpec("host.closed", Message("Cổng đang đóng.", "The portal is closed.")),
    ),
)
#: A host's flow whose first guard is a plain callable and whose last edge, from any state,
#: reports a code the catalogue lacks.
BROKEN_HOST_FLOW = attrs.evolve(
    HOST_FLOW.with_transitions(
        [
            {"trigger": "submit_login", "source": RecoveryState.ENTERING_LOGIN, "dest": None,
             "conditions": [lambda _: False]},
            *HOST_FLOW.transitions,
            {"trigger": "submit_login", "source": "*", "dest": None, "conditions": [unknown_code]},
        ]
    ),
    name="broken_host_recovery",
)  # fmt: skip
HOST_FLOWS = (HOST_FLOW, BROKEN_HOST_FLOW)
NOT_FLOWS = ("host_recovery",)
