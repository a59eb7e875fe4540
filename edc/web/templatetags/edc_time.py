"""`{{ moment|stamp }}`: a timestamp in the reader's zone with the zone named
("2026-03-02 01:30 CST"). Loaded on every template (TEMPLATES builtins)."""

from django import template
from django.utils.html import format_html

from edc import localtime

register = template.Library()


@register.filter
def stamp(moment):
    """Plain text, for titles and attributes."""
    return localtime.stamp(moment)


@register.filter
def stamp_tag(moment):
    """A <time> element carrying the exact instant for machines and the local reading for people."""
    if moment is None or moment == "":
        return ""
    exact = moment if isinstance(moment, str) else moment.isoformat()
    return format_html('<time datetime="{}">{}</time>', exact, localtime.stamp(moment))
