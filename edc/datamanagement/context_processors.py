"""The query count in every page's header. Lazy: a page that does not show the header (or an
anonymous visitor) pays nothing; a page that does pays one COUNT query."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from edc.accounts.scoping import scope_of
from edc.datamanagement import selectors


def query_inbox(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "query_inbox_count": SimpleLazyObject(lambda: selectors.inbox_count(scope_of(user), user))
    }
