"""Where a form sends the reader next: the ``next`` it was given, if that stays on this site."""

from __future__ import annotations

from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request, fallback: str) -> str:
    """``next`` from the form or the query string when it points at this host (and not from
    HTTPS down to HTTP); otherwise ``fallback``, so a link cannot send a signed-in person to
    another site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
