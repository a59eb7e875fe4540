from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "edc.web"
    label = "web"
    verbose_name = "Web navigation"

    def ready(self) -> None:
        from edc.web import checks  # noqa: F401 - registers the deploy checks
