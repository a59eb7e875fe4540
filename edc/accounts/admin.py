from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from edc.accounts.models import Membership
from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of
from edc.accounts.services import (
    change_membership,
    grant_membership,
    save_password,
    set_account_active,
)
from edc.admin_scoping import ScopedAdmin
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.studies.models import Site, Study

User = get_user_model()


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    list_display = ["user", "study", "site", "role", "is_active"]
    list_filter = ["study", "role", "is_active"]

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        scope = scope_of(request.user)
        studies = scope.study_ids(Permission.ADMINISTER)
        sites = scope.sites(Permission.ADMINISTER).values_list("pk", flat=True)
        # A site-limited admin sees memberships of their sites only.
        whole = [s for s in studies if not scope.is_site_limited(s, Permission.ADMINISTER)]
        from django.db.models import Q

        return queryset.filter(Q(study_id__in=whole) | Q(site_id__in=list(sites)))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            scope = scope_of(request.user)
            if db_field.name == "study":
                kwargs["queryset"] = Study.objects.filter(
                    pk__in=scope.study_ids(Permission.ADMINISTER)
                )
            if db_field.name == "site":
                kwargs["queryset"] = scope.sites(Permission.ADMINISTER)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        ctx = ChangeContext(request.user, Channel.ADMIN)
        if change:
            original = Membership.objects.get(pk=obj.pk)
            site = obj.site if isinstance(obj.site, Site) else None
            role, active = obj.role, obj.is_active
            obj.role, obj.site, obj.is_active = original.role, original.site, original.is_active
            updated = change_membership(ctx, original, role=role, site=site, is_active=active)
            obj.pk = updated.pk
        else:
            created = grant_membership(
                ctx, user=obj.user, study=obj.study, site=obj.site, role=obj.role
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
