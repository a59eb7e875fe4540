"""``{% randomization_panel subject %}`` for the subject page's casebook block."""

from django import template

from edc.accounts.scoping import scope_of
from randomization import selectors

register = template.Library()


@register.inclusion_tag("randomization/panel.html", takes_context=True)
def randomization_panel(context, subject):
    request = context["request"]
    return {
        "subject": subject,
        "study": subject.study,
        "panel": selectors.subject_panel(scope_of(request.user), subject),
    }
