from django.contrib import admin

from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.admin_scoping import ScopedAdmin
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.audit.services import Change, record_changes
from edc.studies.models import ProtocolVersion, Site, Study


@admin.register(Study)
class StudyAdmin(ScopedAdmin):
    list_display = ["code", "title", "nct_number", "phase", "status"]
    readonly_fields = [
        "code",
        "title",
        "nct_number",
        "sponsor_protocol_number",
        "phase",
        "target_enrollment",
        "current_version",
    ]
    fields = readonly_fields + ["status", "safety_contact_email", "admin_email"]

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=scope_of(request.user).study_ids(Permission.ADMINISTER))

    def has_add_permission(self, request):
        return False  # studies come from definition files (manage.py load_study)

    def save_model(self, request, obj, form, change):
        before = Study.objects.get(pk=obj.pk)
        obj.save()
        changes = [Change(f, getattr(before, f), getattr(obj, f)) for f in form.changed_data]
        record_changes(
            ChangeContext(request.user, Channel.ADMIN),
            "update",
            changes,
            object_type="studies.Study",
            object_id=obj.pk,
            study=obj,
        )


@admin.register(Site)
class SiteAdmin(ScopedAdmin):
    list_display = ["study", "code", "name", "timezone", "is_active"]
    list_filter = ["study"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "study" and not request.user.is_superuser:
            kwargs["queryset"] = Study.objects.filter(
                pk__in=scope_of(request.user).study_ids(Permission.ADMINISTER)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return scope_of(request.user).sites(Permission.ADMINISTER)

    def save_model(self, request, obj, form, change):
        obj.save()
        changes = [
            Change(f, form.initial.get(f) if change else None, form.cleaned_data.get(f))
            for f in form.changed_data
        ]
        changes = [
            Change(c.item, str(c.old) if c.old is not None else None, str(c.new)) for c in changes
        ]
        record_changes(
            ChangeContext(request.user, Channel.ADMIN),
            "update" if change else "create",
            changes,
            object_type="studies.Site",
            object_id=obj.pk,
            study=obj.study,
            site=obj,
        )


@admin.register(ProtocolVersion)
class ProtocolVersionAdmin(ScopedAdmin):
    scope_has_site = False
    read_only = True
    list_display = ["study", "number", "label", "source_name", "loaded_at", "sha256"]
    exclude = ["definition"]
