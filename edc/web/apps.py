from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "edc.web"
    label = "web"
    verbose_name = "Web navigation"
