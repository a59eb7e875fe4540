"""Read-only admin for data-management records: every change goes through the services, so it
is authorised, checked against locks and audited. Nothing here can edit or delete, but for
each site's query e-mail setting (audited too)."""

from django.contrib import admin
from django.db import transaction
from django.db.models import Q

from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.admin_scoping import ScopedAdmin
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.audit.services import record
from edc.datamanagement.models import (
    Lock,
    Query,
    QueryMessage,
    Signature,
    SiteQuerySettings,
    SourceVerification,
)


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


@admin.register(SiteQuerySettings)
class SiteQuerySettingsAdmin(ScopedAdmin):
    """How each site hears of new queries (per query, a daily digest, or not at all). Study
    admins set it for their sites; every change is audited."""

    list_display = ["site", "email_mode"]

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request).select_related("site__study")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(site__in=scope_of(request.user).sites(Permission.ADMINISTER))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "site" and not request.user.is_superuser:
            kwargs["queryset"] = scope_of(request.user).sites(Permission.ADMINISTER)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        old = form.initial.get("email_mode") if change else None
        with transaction.atomic():
            obj.save()
            record(
                ChangeContext(request.user, Channel.ADMIN),
                "update" if change else "create",
                object_type="datamanagement.SiteQuerySettings",
                object_id=obj.pk,
                item="email_mode",
                old=old,
                new=obj.email_mode,
                study=obj.site.study,
                site=obj.site,
            )
