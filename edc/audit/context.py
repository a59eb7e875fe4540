"""Who is making a change and through which channel. Every service that writes takes one."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from edc.audit.models import Channel

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True)
class ChangeContext:
    user: AbstractBaseUser | None
    channel: str
    reason: str = ""

    @classmethod
    def web(cls, request, reason: str = "") -> ChangeContext:
        return cls(user=request.user, channel=Channel.WEB, reason=reason)

    @classmethod
    def api(cls, request, reason: str = "") -> ChangeContext:
        return cls(user=request.user, channel=Channel.API, reason=reason)

    @classmethod
    def system(cls, reason: str = "") -> ChangeContext:
        return cls(user=None, channel=Channel.SYSTEM, reason=reason)

    def with_reason(self, reason: str) -> ChangeContext:
        return replace(self, reason=reason)

    @property
    def actor(self) -> AbstractBaseUser | None:
        """The user a stored row names as its author: None for system work and anonymous users."""
        user = self.user
        return user if user is not None and user.is_authenticated else None

    @property
    def username(self) -> str:
        return getattr(self.user, "username", "") if self.user is not None else ""
