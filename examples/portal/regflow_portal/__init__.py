"""A reference portal that embeds regflow: the seed's screens as a small Flask app.

`create_app()` builds the WSGI app from `Settings.from_env()`; `python -m regflow_portal`
serves it for development.
"""

from regflow_portal._app import create_app
from regflow_portal._dev import AdjustableClock, DevSmsInbox
from regflow_portal._wiring import Services, Settings, build_services

__all__ = [
    "AdjustableClock",
    "DevSmsInbox",
    "Services",
    "Settings",
    "build_services",
    "create_app",
]
