"""Read-only admin views. Slots and seeds are not registered: future slots and the seed are for
the statistician only (API and report); corrections go through services that need a reason."""

from django.contrib import admin

from edc.admin_scoping import ScopedAdmin
from randomization.models import Allocation, AllocationCorrection, Commitment, RandomizationScheme


@admin.register(RandomizationScheme)
class RandomizationSchemeAdmin(ScopedAdmin):
    read_only = True
    scope_has_site = False
    list_display = ["study", "method", "status", "went_live_at"]
    exclude = ["params"]


@admin.register(Commitment)
class CommitmentAdmin(ScopedAdmin):
    read_only = True
    scope_prefix = "scheme__"
    scope_has_site = False
    list_display = ["scheme", "kind", "created_at", "list_sha256", "seed_sha256"]
    exclude = ["params"]


@admin.register(Allocation)
class AllocationAdmin(ScopedAdmin):
    clinical = True
    read_only = True
    list_display = ["subject", "site", "arm", "sequence", "stratum", "randomized_at", "channel"]
    list_filter = ["study", "site", "arm"]
    search_fields = ["subject__subject_id"]


@admin.register(AllocationCorrection)
class AllocationCorrectionAdmin(ScopedAdmin):
    clinical = True
    read_only = True
    scope_prefix = "scheme__"
    scope_has_site = False
    list_display = ["scheme", "kind", "allocation", "reason", "created_by", "created_at"]
