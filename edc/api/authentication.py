"""Token authentication for the API: DRF's scheme, with its lookup written out.

Every API request authenticates and then needs the caller's memberships (its scope), and
compiling DRF's ``select_related`` queryset cost more CPU than the database spent on it
(``make bench-randomize``). One plain statement reads the token, its user and the user's active
memberships; ``edc.rows`` builds the same instances DRF would."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from edc.accounts.models import Membership
from edc.accounts.scoping import Scope
from edc.rows import columns, fetchall, instance, width

# Timestamps authentication never reads (each costs a Python loader per request); loaded from
# the database if something does read them.
_USER_DEFER = ("last_login", "date_joined")
_TOKEN_DEFER = ("created",)


@cache
def _lookup_sql() -> str:
    user = get_user_model()
    return (
        f"SELECT {columns(user, 'u', _USER_DEFER)}, {columns(Token, 't', _TOKEN_DEFER)}, "
        'm."study_id", m."site_id", m."role" '
        f'FROM "{Token._meta.db_table}" t JOIN "{user._meta.db_table}" u ON u."id" = t."user_id" '
        f'LEFT JOIN "{Membership._meta.db_table}" m ON m."user_id" = u."id" AND m."is_active" '
        'WHERE t."key" = %s'
    )


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        rows = fetchall(_lookup_sql(), [key])
        if not rows:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = instance(get_user_model(), rows[0], defer=_USER_DEFER)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = instance(Token, rows[0], width(get_user_model(), _USER_DEFER), defer=_TOKEN_DEFER)
        token.user = user
        Scope.remember(user, [row[-3:] for row in rows if row[-1] is not None])
        return user, token
