from django.contrib.auth import authenticate
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from edc.accounts.services import is_locked_out, record_login, record_login_failure
from edc.audit.models import Channel
from edc.errors import DomainError


class TokenRequest(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class ObtainTokenView(APIView):
    """Exchange a username and password for an API token. Failures are audited and count
    towards lockout like web sign-ins."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=TokenRequest,
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request):
        body = TokenRequest(data=request.data)
        body.is_valid(raise_exception=True)
        username = body.validated_data["username"]
        if is_locked_out(username):
            record_login_failure(username, Channel.API, locked=True)
            raise DomainError(
                "account_locked",
                "username",
                gettext("locked after repeated failed sign-ins"),
                status=403,
            )
        user = authenticate(request, username=username, password=body.validated_data["password"])
        if user is None:
            record_login_failure(username, Channel.API)
            raise DomainError(
                "invalid_credentials",
                "password",
                gettext("username or password is wrong"),
                status=401,
            )
        record_login(user, Channel.API)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
