"""The e-mail that brings a new person in: a link to set their password, in their language and
time zone (edc.mail), made with Django's documented password-reset pieces
(default_token_generator, urlsafe_base64_encode) and opened by PasswordResetConfirmView."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext

from edc.accounts.selectors import Readers, reader_settings
from edc.localtime import stamp
from edc.mail import send_to_readers


def set_password_link(user, base_url: str) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("set-password", kwargs={"uidb64": uid, "token": token})
    return f"{base_url.rstrip('/')}{path}"


def invitation_message(user, *, study, inviter, link: str, expires: dt.datetime) -> tuple[str, str]:
    """(subject, body) in the active language; the expiry in the active zone, named."""
    facts = {
        "study": study.code,
        "name": user.get_full_name() or user.get_username(),
        "inviter": (inviter.get_full_name() or inviter.get_username()) if inviter else "NPC EDC",
        "username": user.get_username(),
        "link": link,
        "expires": stamp(expires),
    }
    title = gettext("[%(study)s] Set your password for NPC EDC") % facts
    body = "\n\n".join(
        [
            gettext("Dear %(name)s,") % facts,
            gettext("%(inviter)s has added you to study %(study)s in NPC EDC.") % facts,
            gettext("Your username: %(username)s") % facts,
            gettext("Choose your password here (the link works once, until %(expires)s):") % facts
            + "\n"
            + link,
            gettext("If you did not expect this e-mail, tell your study admin."),
        ]
    )
    return title, body


def send_invitation(user, *, study, site, inviter, base_url: str) -> None:
    """Send it now (raises what the mail server raises). The person reads it in the language
    chosen for them, else their site's; in their zone (their site's while site-bound)."""
    found = reader_settings(user)
    language = found.language or (site.language if site else settings.LANGUAGE_CODE)
    zone = found.time_zone if found.site_zone or not site else site.timezone
    link = set_password_link(user, base_url)
    expires = timezone.now() + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    send_to_readers(
        [Readers(language, zone, (user.email,))],
        lambda: invitation_message(user, study=study, inviter=inviter, link=link, expires=expires),
    )
