"""``{% randomization_panel subject %}`` for the subject page's casebook block."""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

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


@register.filter
def key_breaks(label: str) -> str:
    """A stratum key with a line-break opportunity after each ``|``, so that on a phone
    ``response=CR|site=01`` wraps between its parts rather than inside a code. Escaped first:
    the label is data."""
    return mark_safe(conditional_escape(label).replace("|", "|<wbr>"))
