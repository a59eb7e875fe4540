"""Filters that show a code's label in the reader's language: `{{ form.status|form_status }}`.
Loaded on every template (TEMPLATES builtins); the words live in edc.labels."""

from django import template

from edc import labels
from edc.audit.models import Channel

register = template.Library()

_FILTERS = {
    "subject_status": labels.SUBJECT_STATUS,
    "role_label": labels.ROLE,
    "membership_status": labels.MEMBERSHIP_STATUS,
    "query_status": labels.QUERY_STATUS,
    "query_action": labels.QUERY_ACTION,
    "visit_status": labels.VISIT_STATUS,
    "form_status": labels.FORM_STATUS,
    "criterion_result": labels.CRITERION_RESULT,
    "criterion_kind": labels.CRITERION_KIND,
    "channel_label": dict(Channel.choices),
}


def _filter(table):
    return lambda code: labels.label(table, code)


for _name, _table in _FILTERS.items():
    register.filter(_name, _filter(_table))


@register.filter
def schedule_event(kind):
    return labels.label(labels.SCHEDULE_EVENT, kind)


@register.filter
def query_author(name):
    """The stored author of a query message: a person's name, or the system's own marker."""
    return labels.label(labels.QUERY_AUTHOR, name)


@register.filter
def export_note(note):
    return labels.export_progress_note(note)
