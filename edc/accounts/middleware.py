"""The reader's language and time zone for each request.

Django's LocaleMiddleware (earlier in the chain) has already picked the browser's language, else
LANGUAGE_CODE. For a signed-in person this middleware then applies what they saved: their
language (when they chose one) and their time zone (their choice, else their site's). Both are
read once per session and kept in it, so a page costs no extra query; signing in again, or saving
preferences, refreshes them. Django documents both steps: ``translation.activate`` after
LocaleMiddleware, ``timezone.activate`` in a middleware.
"""

from __future__ import annotations

from django.utils import timezone, translation

from edc.accounts.selectors import reader_settings
from edc.localtime import zone_or_none

SESSION_LANGUAGE = "edc_reader_language"
SESSION_TIME_ZONE = "edc_reader_time_zone"


def remember_reader(request, user) -> None:
    """Store `user`'s reading settings in the session (at sign-in and after saving them)."""
    found = reader_settings(user)
    request.session[SESSION_LANGUAGE] = found.language
    request.session[SESSION_TIME_ZONE] = found.time_zone


class ReaderPreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if SESSION_TIME_ZONE not in request.session:
                remember_reader(request, user)
            language = request.session[SESSION_LANGUAGE]
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
            zone = zone_or_none(request.session[SESSION_TIME_ZONE])
            if zone is not None:
                timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
