from django.db import models
from django.utils.translation import gettext_lazy as _

from edc import labels
from edc.accounts.roles import Role


class StudyMfaPolicy(models.Model):
    """Which roles of a study must sign in with a second factor. A study without a row follows
    the system default (settings.EDC_MFA_ROLES). Changed in the admin by the study's admins,
    audited (edc.mfa.services.set_study_policy)."""

    study = models.OneToOneField(
        "studies.Study", on_delete=models.PROTECT, primary_key=True, related_name="mfa_policy"
    )
    # One column per role (edc.accounts.roles.Role): the database itself holds only real roles.
    site_staff = models.BooleanField(labels.ROLE["site_staff"], default=False)
    investigator = models.BooleanField(labels.ROLE["investigator"], default=True)
    monitor = models.BooleanField(labels.ROLE["monitor"], default=False)
    data_manager = models.BooleanField(labels.ROLE["data_manager"], default=True)
    statistician = models.BooleanField(labels.ROLE["statistician"], default=True)
    study_admin = models.BooleanField(labels.ROLE["study_admin"], default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("two-step sign-in policy")
        verbose_name_plural = _("two-step sign-in policies")

    def __str__(self) -> str:
        return f"{self.study_id}: {', '.join(sorted(self.required_roles)) or '-'}"

    @property
    def required_roles(self) -> frozenset[str]:
        return frozenset(role.value for role in Role if getattr(self, role.value))
