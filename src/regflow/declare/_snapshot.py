"""What every flow remembers between two requests: the generic part and the flow's context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

#: The shape of `FlowSnapshot` (and of its stored document, `regflow.engine.codec`).
SCHEMA = 4


@attrs.frozen(kw_only=True)
class FlowSnapshot:
    """One flow between two requests.

    `flow` names its declaration (`FlowSpec.name`) and `flow_version` the version of it
    the flow began under; `version` grows by one with every save, so a store can refuse a
    stale write; `updated_at` is when that save happened, so an operator can see where
    flows stall; `path` lists the states entered after the initial one, in order, so a
    support desk can see (and `regflow.diagram` draw) the way a flow went. `context` is the
    flow's own frozen attrs value (`FlowSpec.context`): what its rules remember.
    `finished` is set on the save that brings the flow to a terminal state, so a store can
    make that save durable without knowing the flow (a document leaves it out: the state
    says it, and `codec.typed` reads it back from the declaration).

    A store may give `context` back as the JSON-ready mapping it stored: the engine
    structures it with the flow's declaration.
    """

    flow_id: str
    flow: str
    version: int
    state: str
    created_at: datetime
    expires_at: datetime
    updated_at: datetime | None = None
    path: tuple[str, ...] = ()
    context: Any = None
    finished: bool = False
    flow_version: int = 1
    schema: int = SCHEMA
