"""The one error type services raise for refused input. Pure Python: no Django import.

`code` is stable for API clients, `field` names the offending input, `status` is the HTTP
status the API answers with (400 bad input, 409 conflict with current state, 423 locked).
"""

from __future__ import annotations


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

    def as_dict(self) -> dict:
        body = {"code": self.code, "field": self.field, "message": str(self)}
        if self.details:
            body["details"] = self.details
        return body
