from django.contrib import admin

from edc.admin_scoping import ScopedAdmin
from edc.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedAdmin):
    clinical = True
    read_only = True
    list_display = [
        "at",
        "actor_username",
        "channel",
        "action",
        "object_type",
        "object_id",
        "item",
        "old_value",
        "new_value",
        "reason",
    ]
    list_filter = ["channel", "action", "study"]
    search_fields = ["object_id", "item", "actor_username"]
