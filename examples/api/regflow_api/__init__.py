"""regflow behind a JSON API for SPA and mobile front-ends (FastAPI on `AsyncEngine`).

`create_app(engine, settings)` builds the app; with no engine, it opens the one the settings
(`ApiSettings.from_env()`: `REGFLOW_API_*`) describe when it starts. Serve it with
``uvicorn --factory regflow_api:create_app``.
"""

from regflow_api._app import create_app
from regflow_api._settings import CSRF_HEADER, ApiSettings, UnsafeSettingsError
from regflow_api._wiring import FLOWS, open_engine

__all__ = [
    "CSRF_HEADER",
    "FLOWS",
    "ApiSettings",
    "UnsafeSettingsError",
    "create_app",
    "open_engine",
]
