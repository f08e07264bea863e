"""A reference portal that embeds regflow: the seed's screens as a small Flask app.

`create_app()` builds the WSGI app from `Settings.from_env()`; `python -m regflow_portal`
serves it with `portal_server`.
"""

from regflow_portal._app import create_app
from regflow_portal._dev import AdjustableClock, DevSmsInbox
from regflow_portal._drafts import FormDrafts
from regflow_portal._purge import Purger
from regflow_portal._server import portal_server
from regflow_portal._wiring import Services, Settings, UnsafeSettingsError, build_services

__all__ = [
    "AdjustableClock",
    "DevSmsInbox",
    "FormDrafts",
    "Purger",
    "Services",
    "Settings",
    "UnsafeSettingsError",
    "build_services",
    "create_app",
    "portal_server",
]
