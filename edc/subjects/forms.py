import datetime as dt

from django import forms


class ScreenSubjectForm(forms.Form):
    consent_date = forms.DateField(
        label="Informed consent date", widget=forms.DateInput(attrs={"type": "date"})
    )
    icf_version = forms.CharField(label="ICF version signed", max_length=40)

    def clean_consent_date(self):
        value = self.cleaned_data["consent_date"]
        if value > dt.date.today():
            raise forms.ValidationError("The consent date cannot be in the future.")
        return value
