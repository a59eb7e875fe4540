from django.contrib import admin

from edc.admin_scoping import ScopedAdmin
from edc.subjects.models import Consent, Subject


@admin.register(Subject)
class SubjectAdmin(ScopedAdmin):
    clinical = True
    read_only = True
    list_display = ["subject_id", "study", "site", "status", "screening_date", "randomization_date"]
    list_filter = ["study", "status"]
    search_fields = ["subject_id"]


@admin.register(Consent)
class ConsentAdmin(ScopedAdmin):
    clinical = True
    read_only = True
    scope_prefix = "subject__"
    list_display = ["subject", "consent_date", "icf_version"]
