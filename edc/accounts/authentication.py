"""API token authentication: `Authorization: Token <key>`, looked up by the key's digest.

One query per request: the token and its owner together (select_related). The last-used time is
written at most once a minute, so a client calling often adds no write to most requests.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from edc.accounts.models import ApiToken
from edc.accounts.services import password_unchanged
from edc.accounts.tokenkeys import digest_of, needs_last_used_write

KEYWORD = "Token"


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != KEYWORD.lower().encode():
            return None
        if len(words) != 2:
            raise AuthenticationFailed(
                _("The Authorization header is 'Token' and one key."), code="token_malformed"
            )
        try:
            key = words[1].decode()
        except UnicodeError:
            raise AuthenticationFailed(
                _("This token is not valid."), code="token_invalid"
            ) from None
        return self.authenticate_key(key)

    def authenticate_key(self, key: str):
        try:
            # get(), not first(): the digest is unique, and first() would add an ORDER BY.
            token = ApiToken.objects.select_related("owner").get(digest=digest_of(key))
        except ApiToken.DoesNotExist:
            raise AuthenticationFailed(
                _("This token is not valid."), code="token_invalid"
            ) from None
        owner = token.owner
        if (
            token.revoked_at is not None
            or not owner.is_active
            or not password_unchanged(token, owner)
        ):
            raise AuthenticationFailed(_("This token has been revoked."), code="token_revoked")
        now = timezone.now()
        if token.expires_at <= now:
            raise AuthenticationFailed(
                _("This token has expired; sign in again for a new one."), code="token_expired"
            )
        if needs_last_used_write(token.last_used_at, now):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return owner, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 to unauthenticated calls.
        return KEYWORD


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes this authentication (drf-spectacular extension)."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token with the prefix "Token", e.g. "Token 9944b09199c6…"',
        }
