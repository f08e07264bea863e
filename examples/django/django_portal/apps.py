"""The app: its models are the portal's accounts; a change of its settings rewires regflow."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "django_portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_portal import wiring  # noqa: PLC0415 - needs the app registry ready

        wiring.listen_for_setting_changes()
