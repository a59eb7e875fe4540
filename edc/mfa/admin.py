from django.contrib import admin
from django.http import Http404
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from edc.accounts.roles import Permission, Role
from edc.accounts.scoping import scope_of
from edc.admin_scoping import ScopedAdmin
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.mfa.models import StudyMfaPolicy
from edc.mfa.services import reset_second_factor, set_study_policy
from edc.studies.models import Study

# One column per role, as the model has them (edc.accounts.roles.Role).
ROLE_FIELDS = [role.value for role in Role]


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


# django-otp's own admin pages show each authenticator's secret and QR code (and answer 500 for
# a missing one); here a superuser only sees who has an authenticator and can reset it.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(admin.ModelAdmin):
    """Superusers reset the two-step sign-in of someone who lost their phone and recovery codes
    (deleting the authenticator here removes the recovery codes too, audited)."""

    list_display = ["user", "confirmed", "created_at", "last_used_at"]
    fields = list_display
    readonly_fields = list_display
    search_fields = ["user__username"]
    actions = None

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("not found")
        return obj

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        reset_second_factor(ChangeContext(request.user, Channel.ADMIN), obj.user)
