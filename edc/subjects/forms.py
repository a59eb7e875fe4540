from django import forms
from django.utils.translation import gettext_lazy as _

from edc.subjects.labels import OFF_STUDY_REASON_LABELS
from edc.subjects.lifecycle import OFF_STUDY_CHOICES, ActionRule, Status

DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


class ScreenSubjectForm(forms.Form):
    """Consent date and ICF version; whether the date is plausible (not before 1900, not after
    the site's day) is the service's rule, shown beside the field."""

    consent_date = forms.DateField(label=_("Informed consent date"), widget=DATE_WIDGET)
    icf_version = forms.CharField(label=_("ICF version signed"), max_length=40)


class StatusActionForm(forms.Form):
    """The inputs one status action needs (lifecycle.ACTIONS): only those fields are present."""

    on_date = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    death_date = forms.DateField(label=_("Date of death"), widget=DATE_WIDGET)
    off_study_reason = forms.ChoiceField(label=_("Reason for going off study"))
    reason = forms.CharField(
        label=_("Reason (kept in the audit trail)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
    )

    def __init__(self, rule: ActionRule, *args, date_label: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if not rule.dated:
            del self.fields["on_date"]
        elif date_label:
            self.fields["on_date"].label = date_label
        if not rule.death:
            del self.fields["death_date"]
        if rule.target != Status.OFF_STUDY or rule.off_study_reason is not None:
            del self.fields["off_study_reason"]
        else:
            self.fields["off_study_reason"].choices = [("", "—")] + [
                (r.value, OFF_STUDY_REASON_LABELS[r]) for r in OFF_STUDY_CHOICES
            ]
        if not rule.reason:
            del self.fields["reason"]
