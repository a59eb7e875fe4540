"""How long free text a person types may be. Each limit is documented in the README; a longer
text is refused by name (400 ``too_long``) before anything is written, so a megabyte pasted
into a reason is not stored, once per audit row, in the append-only trail."""

from __future__ import annotations

from django.utils.translation import gettext as _

from edc.errors import DomainError

# A reason for change, a withdrawal or off-study reason, an unlock or a void reason.
REASON_MAX_LENGTH = 2_000
# A query's question or a message in its thread; the meaning of a signature.
MESSAGE_MAX_LENGTH = 4_000


def check_length(text: str, field: str, limit: int) -> str:
    if len(text) > limit:
        raise DomainError(
            "too_long",
            field,
            _("%(field)s is %(length)s characters long; at most %(limit)s are kept")
            % {"field": field, "length": len(text), "limit": limit},
        )
    return text
