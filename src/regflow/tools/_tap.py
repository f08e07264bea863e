"""Listen to the engine's ``flow.transition`` events, whatever structlog is configured to do.

A structlog processor would miss events whenever a test reconfigures structlog (the CLI
filters to warnings; `structlog.testing.capture_logs` swaps the processors), so the tap
stands in for the engine's logger object instead: it hands every transition event to the
listeners, then logs it exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from regflow.engine import _engine
from regflow.tools._coverage import TRANSITION_EVENT

Listener = Callable[[Mapping[str, Any]], None]


class _Tap:
    def __init__(self, logger: Any) -> None:  # noqa: ANN401 - structlog's loggers are untyped
        self.logger = logger
        self.listeners: list[Listener] = []

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - delegates to the logger
        return getattr(self.logger, name)

    def is_enabled_for(self, _level: int) -> bool:
        """Every level: the listeners want every transition, whatever the logger keeps."""
        return True

    def info(self, event: str, **fields: Any) -> Any:  # noqa: ANN401 - as structlog's
        if event == TRANSITION_EVENT:
            for listener in tuple(self.listeners):
                listener({"event": event, **fields})
        return self.logger.info(event, **fields)


def _tap() -> _Tap:
    current = _engine._log  # noqa: SLF001 - the tap is regflow's own
    if not isinstance(current, _Tap):
        current = _Tap(current)
        _engine._log = current  # noqa: SLF001 - the tap is regflow's own
    return current


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call `listener` with every ``flow.transition`` event any engine logs meanwhile."""
    tap = _tap()
    tap.listeners.append(listener)
    try:
        yield
    finally:
        tap.listeners.remove(listener)
