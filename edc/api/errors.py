"""Every API error is JSON: {"error": {"code": ..., "field": ..., "message": ...}}."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from edc.api.parsers import BodyTooLarge
from edc.errors import DomainError
from edc.studies.protocol import DefinitionError


def _first_field_error(detail) -> tuple[str, str, list]:
    details = []
    if isinstance(detail, dict):
        for key, messages in detail.items():
            # An error about the whole body names no field.
            field = "" if key == api_settings.NON_FIELD_ERRORS_KEY else key
            for message in messages if isinstance(messages, list) else [messages]:
                if isinstance(message, dict):
                    for sub_field, sub_messages in message.items():
                        for sub in (
                            sub_messages if isinstance(sub_messages, list) else [sub_messages]
                        ):
                            details.append({"field": f"{field}.{sub_field}", "message": str(sub)})
                else:
                    details.append({"field": field, "message": str(message)})
    elif isinstance(detail, list):
        details = [{"field": "", "message": str(m)} for m in detail]
    if not details:
        return "", str(detail), []
    first = details[0]
    return first["field"], first["message"], details


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response({"error": exc.as_dict()}, status=exc.status)
    if isinstance(exc, DefinitionError):
        details = [{"field": p.path, "message": p.message} for p in exc.problems]
        return Response(
            {
                "error": {
                    "code": "invalid_definition",
                    "field": details[0]["field"],
                    "message": str(exc.problems[0]),
                    "details": details,
                }
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        # Django's own size check (request.body), met when the body was read before parsing.
        exc = BodyTooLarge()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        field, message, details = _first_field_error(exc.detail)
        body = {
            "code": "invalid",
            "field": field,
            "message": f"{field}: {message}" if field else message,
            "details": details,
        }
    else:
        code = getattr(exc, "default_code", "error")
        codes = exc.get_codes() if hasattr(exc, "get_codes") else code
        body = {
            "code": codes if isinstance(codes, str) else code,
            "field": "",
            "message": str(exc.detail),
        }
    response.data = {"error": body}
    return response
