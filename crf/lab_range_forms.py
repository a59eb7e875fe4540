"""The page form of a site laboratory normal range (types only; the rules are the service's)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from crf.lab_ranges import lab_tests
from crf.models import LabRangeSex
from crf.rules.units import display_unit


class LabRangeForm(forms.Form):
    lab_test = forms.ChoiceField(label=_("Lab test"))
    unit = forms.ChoiceField(label=_("Unit of the limits"), required=False)
    sex = forms.ChoiceField(label=_("Sex"), choices=LabRangeSex.choices, required=False)
    age_from = forms.IntegerField(
        label=_("Age from (years, inclusive)"), required=False, min_value=0, max_value=150
    )
    age_to = forms.IntegerField(
        label=_("Age to (years, inclusive)"), required=False, min_value=0, max_value=150
    )
    lln = forms.DecimalField(
        label=_("Lower limit of normal (LLN)"), required=False, min_value=0, decimal_places=4
    )
    uln = forms.DecimalField(
        label=_("Upper limit of normal (ULN)"), required=False, min_value=0, decimal_places=4
    )
    effective_from = forms.DateField(
        label=_("Effective from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("Reason for change"), required=False, max_length=500)

    def __init__(self, *args, definition: dict, editing: bool, **kwargs):
        super().__init__(*args, **kwargs)
        tests = lab_tests(definition)
        self.fields["lab_test"].choices = [
            (code, f"{item['label']} ({code}, {display_unit(item.get('unit', ''))})")
            for code, item in tests.items()
        ]
        codes: list[str] = []
        for item in tests.values():
            for code in [item.get("unit", ""), *item.get("alt_units", [])]:
                if code and code not in codes:
                    codes.append(code)
        self.fields["unit"].choices = [("", _("The test's own unit"))] + [
            (code, display_unit(code)) for code in codes
        ]
        if editing:
            self.fields["reason"].required = True
        else:
            del self.fields["reason"]
