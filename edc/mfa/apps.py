from django.apps import AppConfig


class MfaConfig(AppConfig):
    name = "edc.mfa"
    label = "mfa"
    verbose_name = "Two-step sign-in"
