"""The second step of signing in, and enrolling an authenticator (from the preferences page,
or straight after the password when a role requires it)."""

from __future__ import annotations

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django_otp import login as otp_login

from edc.audit.context import ChangeContext
from edc.errors import DomainError
from edc.mfa import selectors, services
from edc.mfa.forms import CodeForm, EnrolForm
from edc.mfa.middleware import SESSION_STEP, mark_done
from edc.mfa.policy import Step
from edc.web.redirects import next_url


@login_required
def verify(request):
    """Sign-in, step two: a code from the authenticator or a recovery code."""
    if request.session.get(SESSION_STEP) != Step.VERIFY:
        return redirect(next_url(request, settings.LOGIN_REDIRECT_URL))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device = services.verify_second_factor(
                ChangeContext.web(request), request.user, code=form.cleaned_data["code"]
            )
        except DomainError as exc:
            form.add_error("code", exc.message)
            status = exc.status
        else:
            otp_login(request, device)
            mark_done(request)
            return redirect(next_url(request, settings.LOGIN_REDIRECT_URL))
    return render(
        request, "mfa/verify.html", {"form": form, "next": next_url(request, "")}, status=status
    )


def _secret_text(device) -> str:
    """The base32 secret in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_required
def enrol(request):
    """Set up an authenticator app: scan the QR code (or type the secret), confirm with a code;
    the recovery codes are then shown once, on this response only."""
    step = request.session.get(SESSION_STEP)
    ctx = ChangeContext.web(request)
    device = services.start_enrolment(ctx, request.user)
    form = EnrolForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            device, codes = services.confirm_enrolment(
                ctx, request.user, code=form.cleaned_data["code"]
            )
        except DomainError as exc:
            form.add_error("code", exc.message)
            status = exc.status
        else:
            otp_login(request, device)
            mark_done(request)
            messages.success(request, _("Two-step sign-in is on."))
            return render(
                request,
                "mfa/recovery_codes.html",
                {"codes": codes, "next": next_url(request, "")},
            )
    return render(
        request,
        "mfa/enrol.html",
        {
            "form": form,
            "required_now": step == Step.ENROL,
            "replacing": selectors.authenticator_of(request.user) is not None,
            "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=4),
            "secret": _secret_text(device),
            "next": next_url(request, ""),
        },
        status=status,
    )
