"""Signing in through the API and managing one's API tokens."""

from __future__ import annotations

from django.contrib.auth import authenticate, get_user_model
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from edc.accounts.models import ApiToken, TokenRevokeReason
from edc.accounts.selectors import tokens_of
from edc.accounts.services import (
    TOKEN_NAME_MAX_LENGTH,
    claim_login_attempt,
    may_manage_tokens_of,
    record_login_failure,
    revoke_token,
    sign_in_for_token,
)
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.errors import DomainError


class TokenRequest(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})
    name = serializers.CharField(
        required=False,
        max_length=TOKEN_NAME_MAX_LENGTH,
        help_text="The device or integration the token is for; unique among your live tokens. "
        'Defaults to "api <prefix>".',
    )
    expires_in_days = serializers.IntegerField(
        required=False, min_value=1, help_text="At most the system's token lifetime (90 days)."
    )


class ApiTokenSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username")
    status = serializers.ChoiceField(choices=["live", "expired", "revoked"])
    revoked_by = serializers.CharField(source="revoked_by.username", default=None, allow_null=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "owner",
            "name",
            "prefix",
            "status",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
        ]


def _locked() -> DomainError:
    return DomainError(
        "account_locked",
        "username",
        gettext("locked after repeated failed sign-ins"),
        status=403,
    )


class ObtainTokenView(APIView):
    """POST: exchange a username and password for a NEW named API token; the key is in the
    answer only. Failures are audited and count towards lockout like web sign-ins.
    DELETE: revoke the token this request is authenticated with (signing out)."""

    def perform_authentication(self, request):
        # Authenticate lazily (DRF's documented hook): DELETE's permission check does it, while
        # signing in (POST) never looks, so a stale key a client still sends does not refuse it.
        pass

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        auth=[],
        request=TokenRequest,
        responses=inline_serializer(
            "TokenResponse",
            {
                "token": serializers.CharField(),
                "id": serializers.IntegerField(),
                "name": serializers.CharField(),
                "expires_at": serializers.DateTimeField(),
            },
        ),
    )
    def post(self, request):
        body = TokenRequest(data=request.data)
        body.is_valid(raise_exception=True)
        username = body.validated_data["username"]
        if not claim_login_attempt(username):
            record_login_failure(username, Channel.API, locked=True)
            raise _locked()
        user = authenticate(request, username=username, password=body.validated_data["password"])
        if user is None:
            record_login_failure(username, Channel.API)
            raise DomainError(
                "invalid_credentials",
                "password",
                gettext("username or password is wrong"),
                status=401,
            )
        token, key = sign_in_for_token(
            user,
            Channel.API,
            name=body.validated_data.get("name"),
            expires_in_days=body.validated_data.get("expires_in_days"),
        )
        return Response(
            {"token": key, "id": token.pk, "name": token.name, "expires_at": token.expires_at}
        )

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            raise DomainError(
                "no_token", "Authorization", gettext("this request was not made with a token")
            )
        revoke_token(
            ChangeContext.api(request), request.auth.pk, reason=TokenRevokeReason.SIGNED_OUT
        )
        return Response(status=204)


class TokenListView(APIView):
    """The caller's API tokens (never their keys). A study admin or superuser may name another
    person with ?owner=<username>."""

    @extend_schema(
        parameters=[OpenApiParameter("owner", str, description="Another person's username")],
        responses=ApiTokenSerializer(many=True),
    )
    def get(self, request):
        owner = request.user
        wanted = request.query_params.get("owner")
        if wanted and wanted != owner.get_username():
            owner = get_user_model().objects.filter(username=wanted).first()
            if owner is None or not may_manage_tokens_of(request.user, owner):
                raise DomainError("not_found", "owner", gettext("no such person"), status=404)
        return Response(ApiTokenSerializer(tokens_of(owner), many=True).data)


class TokenDetailView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request, token_id: int):
        """Revoke one of one's own tokens, or (study admins, superusers) someone else's."""
        revoke_token(ChangeContext.api(request), token_id)
        return Response(status=204)
