import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _


class ScreenSubjectForm(forms.Form):
    consent_date = forms.DateField(
        label=_("Informed consent date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    icf_version = forms.CharField(label=_("ICF version signed"), max_length=40)

    def __init__(self, *args, today: dt.date, **kwargs):
        """`today` is the site's day: the future starts tomorrow there, not on the server."""
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_consent_date(self):
        value = self.cleaned_data["consent_date"]
        if value > self.today:
            raise forms.ValidationError(_("The consent date cannot be in the future."))
        return value
