"""What a person reads for the codes of the pure state machines (subject status, query states,
visit statuses, roles, ...). The pure modules keep codes only; the words live here, translatable.
Stored values and API codes are the codes, never these labels."""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from edc.subjects.labels import OFF_STUDY_REASON_LABELS, STATUS_LABELS

# The words for a subject's status live with the lifecycle (edc.subjects.labels).
SUBJECT_STATUS: dict[str, Promise] = {s.value: text for s, text in STATUS_LABELS.items()}
OFF_STUDY_REASON: dict[str, Promise] = {
    r.value: text for r, text in OFF_STUDY_REASON_LABELS.items()
}

ROLE: dict[str, Promise] = {
    "site_staff": _("Site staff"),
    "investigator": _("Investigator"),
    "monitor": _("Monitor"),
    "data_manager": _("Data manager"),
    "statistician": _("Statistician"),
    "study_admin": _("Study admin"),
}

MEMBERSHIP_STATUS: dict[str, Promise] = {
    "pending": _("Waiting for approval"),
    "active": pgettext_lazy("membership status", "Active"),
    "ended": pgettext_lazy("membership status", "Ended"),
    "refused": pgettext_lazy("membership status", "Refused"),
}

PERMISSION: dict[str, Promise] = {
    "view_data": _("viewing data"),
    "enter_data": _("entering data"),
    "screen": _("screening"),
    "randomize": _("randomizing"),
    "sign": _("signing"),
    "confirm_eligibility": _("confirming eligibility"),
    "raise_query": _("raising queries"),
    "answer_query": _("answering queries"),
    "verify_source": _("source data verification"),
    "lock": _("locking"),
    "export": _("exporting"),
    "view_allocation_list": _("viewing the allocation list"),
    "administer": _("administering the study"),
}

QUERY_STATUS: dict[str, Promise] = {
    "open": pgettext_lazy("query status", "Open"),
    "answered": _("Answered"),
    "closed": _("Closed"),
    "cancelled": _("Cancelled"),
}
QUERY_STATUS_FILTER: dict[str, Promise] = {"unresolved": _("unresolved"), "": _("all")}

QUERY_ACTION: dict[str, Promise] = {
    "raise": _("Raised"),
    "answer": _("Answer"),
    "requery": _("Re-query"),
    "close": _("Close"),
    "cancel": _("Cancel"),
}

QUERY_SOURCE: dict[str, Promise] = {"manual": _("manual"), "edit_check": _("edit check")}

VISIT_STATUS: dict[str, Promise] = {
    "scheduled": _("scheduled"),
    "upcoming": _("upcoming"),
    "window_open": _("window open"),
    "due": _("due"),
    "overdue": _("overdue"),
    "missed": _("missed"),
    "completed": pgettext_lazy("visit status", "completed"),
    "completed_out_of_window": _("completed out of window"),
    "not_applicable": _("not applicable"),
}

FORM_STATUS: dict[str, Promise] = {
    "not_started": _("Not started"),
    "in_progress": _("In progress"),
    "complete": _("Complete"),
    "signed": _("Signed"),
    "locked": _("Locked"),
}

CRITERION_RESULT: dict[str, Promise] = {
    "pass": _("pass"),
    "fail": _("fail"),
    "missing": _("missing"),
    "attested_yes": _("attested yes"),
    "attested_no": _("attested no"),
}

SCHEDULE_ANCHOR: dict[str, Promise] = {
    "consent": _("consent"),
    "registration": pgettext_lazy("anchor", "registration"),
    "randomization": pgettext_lazy("anchor", "randomization"),
    "first_induction_dose": _("first induction dose"),
    "first_maintenance_dose": _("first maintenance dose"),
    "induction_end": _("induction end"),
    "last_dose": _("last dose"),
    "last_pd1_dose": _("last PD-1 dose"),
    "treatment_stop_decision": _("treatment stop decision"),
    "rt_start": _("RT start"),
    "rt_end": _("RT end"),
    "progression": _("progression"),
    "locoregional_progression": _("locoregional progression"),
    "survival_followup_start": _("survival follow-up start"),
    "pregnancy": _("pregnancy"),
}

CRITERION_KIND: dict[str, Promise] = {
    "inclusion": _("inclusion"),
    "exclusion": _("exclusion"),
}

ELIGIBILITY_POINT: dict[str, Promise] = {
    "registration": _("registration"),
    "randomization": pgettext_lazy("eligibility point", "randomization"),
    "first_dose": _("first dose"),
}


SCHEDULE_EVENT: dict[str, Promise] = {
    "Consented": _("Consented"),
    "Registered": _("Registered"),
    "ScreenFailed": _("Screen failed"),
    "InductionResponseAssessed": _("Induction response assessed"),
    "Randomized": _("Randomized"),
    "DoseGiven": _("Dose given"),
    "DoseHeld": _("Dose held"),
    "DoseResumed": _("Dose resumed"),
    "CycleSkipped": _("Cycle skipped"),
    "RadiotherapyStarted": _("Radiotherapy started"),
    "RadiotherapyCompleted": _("Radiotherapy completed"),
    "Progression": _("Progression"),
    "TreatmentDiscontinued": _("Treatment discontinued"),
    "NewAnticancerTherapy": _("New anticancer therapy"),
    "ConsentWithdrawn": _("Consent withdrawn"),
    "LostToFollowUp": _("Lost to follow-up"),
    "Pregnancy": _("Pregnancy"),
    "Death": _("Death"),
    "StudyEnded": _("Study ended"),
    "AnchorCorrected": _("Anchor corrected"),
}

# Stored author names of messages the system writes itself (datamanagement.services).
QUERY_AUTHOR: dict[str, Promise] = {"edit check": _("edit check"), "system": _("system")}

_EXPORT_WRITING = re.compile(r"^Writing (?P<file>\S+)$")
_EXPORT_ROWS = re.compile(r"^(?P<file>\S+): (?P<count>[\d,]+) rows$")


def export_progress_note(note: str) -> str:
    """The export worker stores its progress in English words (it has no reader); shown here in
    the reader's language."""
    if note == "Done":
        return str(_("Done"))
    if found := _EXPORT_WRITING.match(note):
        return gettext("Writing %(file)s") % found.groupdict()
    if found := _EXPORT_ROWS.match(note):
        return gettext("%(file)s: %(count)s rows") % found.groupdict()
    return note


def label(labels: dict[str, Promise], code: str) -> str:
    """The label of `code`, or the code itself when it has none (a code is never hidden)."""
    found = labels.get(str(code))
    return str(found) if found is not None else str(code)
