"""The declaration language: what a flow is made of, for regflow's flows and a host's own.

- `FlowSpec`, with `state(…)` and `event(…)`: a flow's states, events, transitions,
  context, lifetime and view, declared once;
- `rule` / `Rule`: a guard named after the business rule, with the codes it reports;
- `host_veto` / `HostHook`: a guard a host's veto decides (docs/hooks.md);
- `fact`: a fact about a step, computed once (a port call, say);
- `Step`: one event applied to one snapshot, as rules and actions see it;
- `ui`: a payload field's label and constraints, which `EventInfo.fields` reads (`UiField`);
- `Migration`, with `when` and `otherwise`: how flows begun on an older version of a
  declaration move onto a newer one;
- `EXPIRE` and `flow_expired`: the engine's own trigger, and the rule that ends a flow
  past its lifetime.
"""

from regflow._ui import UiField, ui
from regflow.declare._migration import Migration, Route, otherwise, when
from regflow.declare._rules import (
    EXPIRE,
    HostHook,
    Rule,
    client_limit,
    flow_expired,
    host_veto,
    reports_until,
    rule,
)
from regflow.declare._snapshot import SCHEMA, FlowSnapshot
from regflow.declare._spec import (
    FLOW_EXPIRED,
    FLOW_LOCKED,
    EventInfo,
    FlowSpec,
    StateInfo,
    event,
    state,
)
from regflow.declare._step import (
    MissingPortError,
    OutgoingSms,
    PortFailureError,
    Services,
    Step,
    call_port,
    fact,
    keyed_digest,
    limit_key,
)

__all__ = [
    "EXPIRE",
    "FLOW_EXPIRED",
    "FLOW_LOCKED",
    "SCHEMA",
    "EventInfo",
    "FlowSnapshot",
    "FlowSpec",
    "HostHook",
    "Migration",
    "MissingPortError",
    "OutgoingSms",
    "PortFailureError",
    "Route",
    "Rule",
    "Services",
    "StateInfo",
    "Step",
    "UiField",
    "call_port",
    "client_limit",
    "event",
    "fact",
    "flow_expired",
    "host_veto",
    "keyed_digest",
    "limit_key",
    "otherwise",
    "reports_until",
    "rule",
    "state",
    "ui",
    "when",
]
