from django.contrib import admin

from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.admin_scoping import ScopedAdmin
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.mfa.models import StudyMfaPolicy
from edc.mfa.services import set_study_policy
from edc.studies.models import Study

ROLE_FIELDS = [
    "site_staff",
    "investigator",
    "monitor",
    "data_manager",
    "statistician",
    "study_admin",
]


@admin.register(StudyMfaPolicy)
class StudyMfaPolicyAdmin(ScopedAdmin):
    """A study admin sets which of the study's roles sign in with a second factor."""

    scope_has_site = False
    list_display = ["study", *ROLE_FIELDS, "updated_at"]
    fields = ["study", *ROLE_FIELDS]

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["study"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "study" and not request.user.is_superuser:
            kwargs["queryset"] = Study.objects.filter(
                pk__in=scope_of(request.user).study_ids(Permission.ADMINISTER)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        set_study_policy(
            ChangeContext(request.user, Channel.ADMIN),
            obj.study,
            {role: form.cleaned_data[role] for role in ROLE_FIELDS},
        )
