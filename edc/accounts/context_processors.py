"""The person's role in the page header, for the study and site being viewed. Lazy: one query
on a page that shows the header for a signed-in person, none otherwise."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from edc import labels
from edc.accounts.header_role import Membership, header_role


def _role_text(request) -> str:
    kwargs = request.resolver_match.kwargs if request.resolver_match else {}
    memberships = [
        Membership(study, site, role)
        for study, site, role in request.user.memberships.filter(is_active=True).values_list(
            "study__code", "site__code", "role"
        )
    ]
    found = header_role(memberships, kwargs.get("study_code"), kwargs.get("site_code"))
    if found is None:
        return ""
    parts = [", ".join(str(labels.ROLE.get(r, r)) for r in found.roles)]
    if found.more:
        parts[0] += f" +{found.more}"
    if found.site:
        parts.append(_("Site %(code)s") % {"code": found.site})
    elif found.study:
        parts.append(found.study)
    return " · ".join(parts)


def header_role_text(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"header_role": SimpleLazyObject(lambda: _role_text(request))}
