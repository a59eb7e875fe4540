from django import forms
from django.utils.translation import gettext_lazy as _

from edc.datamanagement.models import LockLevel
from edc.datamanagement.services import DEFAULT_MEANING


class RaiseQueryForm(forms.Form):
    item_code = forms.ChoiceField(label=_("Item"))
    group_row = forms.IntegerField(
        label=_("Row (repeating groups only)"), required=False, min_value=1
    )
    text = forms.CharField(
        label=_("Question to the site"), widget=forms.Textarea(attrs={"rows": 3})
    )
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=None, required=False, empty_label=_("Anyone at the site")
    )

    def __init__(self, *args, items: list[tuple[str, str]], assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item_code"].choices = items
        self.fields["assignee"].queryset = assignees


class QueryActionForm(forms.Form):
    action = forms.CharField(widget=forms.HiddenInput)
    text = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class SignForm(forms.Form):
    meaning = forms.CharField(
        label=_("Meaning of this signature"),
        initial=DEFAULT_MEANING,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    # Only on the session's first signature (edc.accounts.signing); the service says what is
    # missing or wrong, naming the field.
    username = forms.CharField(
        label=_("Your user ID"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, ask_user_id: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not ask_user_id:
            del self.fields["username"]


class LockForm(forms.Form):
    level = forms.ChoiceField(label=_("Level"), choices=LockLevel.choices)
    site = forms.ChoiceField(label=_("Site (site level)"), required=False)
    subject = forms.ChoiceField(label=_("Subject (subject and form level)"), required=False)
    form_id = forms.TypedChoiceField(
        label=_("Form (form level)"), coerce=int, required=False, empty_value=None
    )
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.TextInput)

    def __init__(
        self,
        *args,
        site_codes: list[str],
        subject_ids: list[str] = (),
        subject_forms: list[tuple[int, str]] = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "—")] + [(c, c) for c in site_codes]
        self.fields["subject"].choices = [("", "—")] + [(s, s) for s in subject_ids]
        self.fields["form_id"].choices = [("", _("— choose the subject, then Show its forms —"))]
        if subject_forms:
            self.fields["form_id"].choices = [("", "—"), *subject_forms]


class UnlockForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for unlocking"), required=False, widget=forms.TextInput
    )
