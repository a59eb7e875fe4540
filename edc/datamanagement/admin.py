"""Read-only admin for data-management records: every change goes through the services, so it
is authorised, checked against locks and audited. Nothing here can edit or delete."""

from django.contrib import admin
from django.db.models import Q

from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.admin_scoping import ScopedAdmin
from edc.datamanagement.models import Lock, Query, QueryMessage, Signature, SourceVerification


class QueryMessageInline(admin.TabularInline):
    model = QueryMessage
    fields = ["created_at", "author_name", "action", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Query)
class QueryAdmin(ScopedAdmin):
    read_only = True
    list_display = ["id", "subject", "item_code", "group_row", "status", "source", "created_at"]
    list_filter = ["study", "status", "source"]
    inlines = [QueryMessageInline]


@admin.register(Signature)
class SignatureAdmin(ScopedAdmin):
    read_only = True
    list_display = ["id", "level", "subject", "signer_name", "signed_at", "voided_at"]
    list_filter = ["study", "level", "resign_required"]


@admin.register(SourceVerification)
class SourceVerificationAdmin(ScopedAdmin):
    read_only = True
    list_display = ["id", "form_instance", "item_code", "verified_by", "verified_at", "cleared_at"]
    list_filter = ["study"]


@admin.register(Lock)
class LockAdmin(ScopedAdmin):
    read_only = True
    list_display = ["id", "level", "study", "site", "subject", "locked_at", "unlocked_at"]
    list_filter = ["study", "level"]

    def get_queryset(self, request):
        # Study-level locks have no site; show them to whoever administers the study.
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        scope = scope_of(request.user)
        return queryset.filter(
            Q(site__isnull=True, study_id__in=scope.study_ids(Permission.ADMINISTER))
            | scope.site_filter(permission=Permission.ADMINISTER)
        )
