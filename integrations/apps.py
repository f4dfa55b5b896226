from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        # Subscribers register themselves with `integrations.events` when imported.
        from integrations import subscribers  # noqa: F401
