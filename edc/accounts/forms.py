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
