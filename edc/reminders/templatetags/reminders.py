"""`{% subject_calendar subject %}`: the schedule block of the subject casebook page."""

from django import template

from edc.reminders import selectors

register = template.Library()


@register.inclusion_tag("reminders/_calendar.html")
def subject_calendar(subject, compact=True):
    """The subject must come from a scoped read (as on the casebook page)."""
    return {
        "calendar": selectors.subject_calendar(subject, subject.site.today()),
        "compact": compact,
        "subject": subject,
        "study": subject.study,
    }
