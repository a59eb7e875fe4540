"""Token authentication for the API: DRF's scheme, with its lookup written out.

Every API request authenticates, and compiling DRF's ``select_related`` queryset cost more CPU
than the database spent on it (``make bench-randomize``). One plain statement reads the token
and its user; ``edc.rows`` builds the same instances."""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from edc.rows import columns, instance, width


@cache
def _lookup_sql() -> str:
    user = get_user_model()
    return (
        f"SELECT {columns(user, 'u')}, {columns(Token, 't')} "
        f'FROM "{Token._meta.db_table}" t JOIN "{user._meta.db_table}" u ON u."id" = t."user_id" '
        'WHERE t."key" = %s'
    )


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str):
        with connection.cursor() as cursor:
            cursor.execute(_lookup_sql(), [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = instance(get_user_model(), row, connection)
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = instance(Token, row, connection, width(get_user_model()))
        token.user = user
        return user, token
