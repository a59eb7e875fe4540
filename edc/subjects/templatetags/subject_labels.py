"""``{{ subject.status|status_label }}``: a lifecycle state in words, never its code."""

from django import template

from edc.subjects import labels

register = template.Library()


@register.filter
def status_label(status: str) -> str:
    return labels.status_label(status)
