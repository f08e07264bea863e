"""The app: its models are the portal's accounts; a change of its settings rewires regflow."""

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


class PortalConfig(AppConfig):
    name = "django_portal"

    def ready(self) -> None:
        setting_changed.connect(_rewire, dispatch_uid="django_portal.rewire")


def _rewire(*, setting: str, **_: Any) -> None:  # noqa: ANN401 - a signal's keyword arguments
    """A new `REGFLOW_PORTAL` (the tests' `override_settings`): the next request rewires."""
    if setting == "REGFLOW_PORTAL":
        from django_portal.wiring import forget_services  # noqa: PLC0415 - only when needed

        forget_services()
