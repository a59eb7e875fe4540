from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "edc.demo"
    label = "demo"
    verbose_name = "Demo data"
