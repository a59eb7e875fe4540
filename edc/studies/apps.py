from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "edc.studies"
    label = "studies"
    verbose_name = "Studies and sites"
