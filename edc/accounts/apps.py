from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "edc.accounts"
    label = "accounts"
    verbose_name = "Users, roles and memberships"
