"""The one error type services raise for refused input. Pure Python: no Django import.

`code` is stable for API clients, `field` names the offending input, `status` is the HTTP
status the API answers with (400 bad input, 409 conflict with current state, 423 locked).

`message` may be a `Phrase` (edc/phrases.py), which a pure rule module raises instead of calling
gettext: it is rendered in the reader's language when the page or the API reads `message`.
"""

from __future__ import annotations

from edc.phrases import Phrase, in_language


class DomainError(ValueError):
    status = 400

    def __init__(
        self,
        code: str,
        field: str,
        message: str,
        *,
        status: int | None = None,
        details: list | None = None,
    ):
        super().__init__(f"{field}: {message}" if field else message)
        self.code = code
        self.field = field
        self.message = message
        self.details = details or []
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The message in the reader's language (a phrase is translated when read)."""
        if isinstance(self._message, Phrase):
            return in_language(self._message)
        return self._message

    @message.setter
    def message(self, value: str) -> None:
        self._message = value

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_dict(self) -> dict:
        body = {"code": self.code, "field": self.field, "message": str(self)}
        if self.details:
            body["details"] = self.details
        return body
