from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "edc.reminders"
    label = "reminders"
    verbose_name = "Visit schedules and reminders"
