from django.apps import AppConfig


class SubjectsConfig(AppConfig):
    name = "edc.subjects"
    label = "subjects"
    verbose_name = "Subjects"
