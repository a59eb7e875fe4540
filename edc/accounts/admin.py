from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db.models import Q
from django.utils.translation import gettext as _

from edc.accounts.models import Membership
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.accounts.services import grant_membership, save_password, set_account_active
from edc.admin_scoping import ScopedAdmin
from edc.audit.context import ChangeContext
from edc.audit.models import Channel

User = get_user_model()


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    """Read-only for study admins: they manage people on the study's People pages, where the
    rules (no self-grant, second approval for unblinding roles, ending with a reason) hold. A
    superuser may add a membership here, through the same service and rules; no one edits or
    deletes one (a role is ended, and a new one granted, on the People pages)."""

    list_display = ["user", "study", "site", "role", "status"]
    list_filter = ["study", "role", "status"]
    fields = ["user", "study", "site", "role"]

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        scope = scope_of(request.user)
        studies = scope.study_ids(Permission.ADMINISTER)
        sites = scope.sites(Permission.ADMINISTER).values_list("pk", flat=True)
        # A site-limited admin sees memberships of their sites only.
        whole = [s for s in studies if not scope.is_site_limited(s, Permission.ADMINISTER)]
        return queryset.filter(Q(study_id__in=whole) | Q(site_id__in=list(sites)))

    def has_add_permission(self, request):
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, **kwargs):
        base = super().get_form(request, obj, **kwargs)

        class NotForOneself(base):
            def clean_user(self):
                user = self.cleaned_data["user"]
                if user == request.user:
                    raise forms.ValidationError(_("No one may grant a role to themselves."))
                return user

        return NotForOneself

    def save_model(self, request, obj, form, change):
        created = grant_membership(
            ChangeContext(request.user, Channel.ADMIN),
            user=obj.user,
            study=obj.study,
            site=obj.site,
            role=obj.role,
        )
        obj.pk = created.pk


class TokenRevokingPasswordForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saving through the service that revokes the person's
    API tokens."""

    def save(self, commit: bool = True):
        user = super().save(commit=False)
        if commit:
            save_password(ChangeContext(None, Channel.ADMIN), user)
        return user


class AccountAdmin(UserAdmin):
    """Django's user admin, with deactivation going through the service that revokes tokens."""

    change_password_form = TokenRevokingPasswordForm

    def save_model(self, request, obj, form, change):
        if not (change and "is_active" in form.changed_data):
            return super().save_model(request, obj, form, change)
        active = obj.is_active
        obj.is_active = not active
        super().save_model(request, obj, form, change)
        set_account_active(ChangeContext(request.user, Channel.ADMIN), obj, active)


admin.site.unregister(User)
admin.site.register(User, AccountAdmin)
