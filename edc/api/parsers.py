"""The API's JSON parser: DRF's, with a limit on body size and on nesting.

Python's JSON decoder recurses once per level of nesting, so ``[[[[...]]]]`` a hundred thousand
deep ends in RecursionError (a 500) before any serializer sees it; and DRF reads the stream
without Django's DATA_UPLOAD_MAX_MEMORY_SIZE check, which guards only ``request.body``. No
request of this API needs more than a few levels, so both limits are refused with a 4xx and a
stable code before anything is written."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

# The deepest body the API takes: a CRF PUT is values -> group -> row -> item (4 levels).
MAX_JSON_DEPTH = 20


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is larger than this API accepts.")
    default_code = "body_too_large"


def depth_of(value: Any) -> int:
    """How many containers deep a decoded JSON value goes (a scalar is 0), without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        pending.extend((child, level + 1) for child in children)
    return deepest


def _too_deep() -> ParseError:
    return ParseError(
        _("The JSON body is nested more than %(depth)s levels deep.") % {"depth": MAX_JSON_DEPTH},
        code="too_deeply_nested",
    )


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if stream is None:
            raw = b""
        elif limit is None:
            raw = stream.read()
        else:
            raw = stream.read(limit + 1)
            if len(raw) > limit:
                raise BodyTooLarge()
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(raw.decode(encoding)) if raw else None
        except RecursionError:
            raise _too_deep() from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(_("The body is not valid JSON: %(error)s") % {"error": exc}) from None
        if depth_of(data) > MAX_JSON_DEPTH:
            raise _too_deep()
        return data
