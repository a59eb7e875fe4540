import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("As my browser asks"))] + list(settings.LANGUAGES),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("Times are shown in this zone, with its name."),
    )

    def __init__(self, *args, may_choose_zone: bool, site_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_choose_zone:
            del self.fields["time_zone"]
            return
        default = _("My sites' zone (%(zone)s)") % {"zone": site_zone or settings.TIME_ZONE}
        self.fields["time_zone"].choices = [("", default)] + [
            (name, name) for name in sorted(zoneinfo.available_timezones())
        ]


class NewTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=60,
        help_text=_("The device or integration that will use it, e.g. “enrolment system”."),
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"), required=False, min_value=1
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Formatted per request: in the reader's language, with the setting as it is now. The
        # service refuses more days than the setting (an inline error on this field).
        days = settings.API_TOKEN_DAYS
        self.fields["expires_in_days"].help_text = _(
            "At most %(days)d days; empty means %(days)d."
        ) % {"days": days}


def _role_choices():
    from edc import labels
    from edc.accounts.roles import Role

    return [("", "---------")] + [(r.value, labels.ROLE[r.value]) for r in Role]


class WhereAndRoleForm(forms.Form):
    """A role at one site, or at every site of the study (offered to study-wide admins only)."""

    site = forms.ChoiceField(label=_("Site"))
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, sites, study_wide: bool, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(s.code, f"{s.code} · {s.name}") for s in sites]
        if study_wide:
            choices = [("*", _("All sites of the study"))] + choices
        self.fields["site"].choices = [("", "---------")] + choices
        self.fields["role"].choices = _role_choices()
        self.fields["role"].help_text = _(
            "A role that reads the randomization list or seed (statistician), or a study admin role, "
            "waits for a second admin's approval."
        )


class AddPersonForm(WhereAndRoleForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"))
    language = forms.ChoiceField(
        label=_("Preferred language"),
        choices=list(settings.LANGUAGES),
        help_text=_("The e-mail and the pages are in this language."),
    )
    field_order = ["username", "full_name", "email", "language", "site", "role"]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("refuse", "refuse")])
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
