"""A host's veto at a point its flow declares (a host hook): the one hook that may change
the path.

A declaration marks the point with `regflow.declare.host_veto` (the registration's
``account_creation_veto``, before the account is made); the host gives the veto to the
engine by that name (``Engine(vetoes={"account_creation_veto": …})``). With none given the
point never refuses. The diagrams and ``regflow check`` show every such point.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    from collections.abc import Awaitable


@attrs.frozen(kw_only=True)
class VetoRequest:
    """What a veto decides on: the flow, the hook's name, the state the flow is in, and the
    flow's `subject` (an ID number, unmasked, since a veto may need to look it up).

    The subject is personal data: it is left out of `repr`, and a veto that logs it masks
    it first.
    """

    flow: str
    flow_version: int
    flow_id: str
    hook: str
    state: str
    subject: str | None = attrs.field(repr=False)
    at: datetime


class Veto(Protocol):
    """A host's rule at a host hook: True refuses the step with the hook's code.

    It runs before the step's save, inside the request: it may read (a fraud list, a
    quota) and must not write what a refused or retried step would leave behind. A veto
    that raises fails the step with ``hook.unavailable`` (retryable), as a port would.
    Under `AsyncEngine` it may be a coroutine function.
    """

    def __call__(self, request: VetoRequest, /) -> bool | Awaitable[bool]: ...
