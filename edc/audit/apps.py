from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "edc.audit"
    label = "audit"
    verbose_name = "Audit trail"
