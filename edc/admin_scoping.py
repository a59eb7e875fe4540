"""The Django admin, scoped like everything else: a study admin sees only the studies and sites
they administer, objects outside that are 404, and nothing clinical is deleted."""

from django.contrib import admin
from django.http import Http404

from edc.accounts.roles import Permission
from edc.accounts.scoping import scope_of


class ScopedAdmin(admin.ModelAdmin):
    # Path from the model to its study_id/site_id columns, e.g. "subject__" for a consent.
    scope_prefix = ""
    # Models without a site column are scoped on study only.
    scope_has_site = True
    read_only = False
    # Clinical data (subjects, consents, allocations, queries, signatures, audit values): shown
    # to superusers only. Study admins administer studies, sites and people; they read no
    # clinical data here, as they read none in the app or the API.
    clinical = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        scope = scope_of(request.user)
        if self.scope_has_site:
            return scope.filter(
                queryset, prefix=self.scope_prefix, permission=Permission.ADMINISTER
            )
        return queryset.filter(
            **{f"{self.scope_prefix}study_id__in": scope.study_ids(Permission.ADMINISTER)}
        )

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("not found")
        return obj

    def _is_study_admin(self, request) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if user.is_superuser:
            return True
        return not self.clinical and bool(scope_of(user).study_ids(Permission.ADMINISTER))

    def has_module_permission(self, request):
        return self._is_study_admin(request)

    def has_view_permission(self, request, obj=None):
        return self._is_study_admin(request)

    def has_add_permission(self, request):
        return self._is_study_admin(request) and not self.read_only

    def has_change_permission(self, request, obj=None):
        return self._is_study_admin(request) and not self.read_only

    def has_delete_permission(self, request, obj=None):
        return False
