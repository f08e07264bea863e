"""The portal's housekeeping: expired flows and drafts deleted on a schedule, in the background.

A flow's snapshot holds the citizen's data until it is deleted; `Engine.purge_expired` does
that, and this thread runs it every few minutes for the life of the process, so a portal
deletes what it no longer needs without an operator remembering a cron job. Several
processes may each run one: a purge is one idempotent `DELETE`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from datetime import timedelta

    from regflow_portal._wiring import Services

_log = structlog.get_logger("regflow_portal")


class Purger:
    """Calls `purge_once` every `every` in a daemon thread until `stop`."""

    def __init__(self, services: Services, every: timedelta) -> None:
        self._services = services
        self._every = every.total_seconds()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="regflow-portal-purge", daemon=True)

    def start(self) -> Purger:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def purge_once(self) -> None:
        """One round; a store that is down is logged and tried again next round."""
        services = self._services
        services.drafts.purge(services.clock.now())
        try:
            services.engine.purge_expired()
        except Exception as exc:  # noqa: BLE001 - the schedule outlives a passing outage
            _log.warning("portal.purge_failed", exception=type(exc).__name__)

    def _run(self) -> None:
        while not self._stopped.wait(self._every):
            self.purge_once()
