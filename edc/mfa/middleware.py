"""Sign-in's second step. Django's own LoginView checks the password and signs the person in;
until they have given their second factor this middleware sends every page to the code page
(or, when their role requires a second factor and they have none, to enrolment), as django-otp
documents: OTPMiddleware (just before this one) tells whether the session's user is verified.

The step is worked out once per session (edc.mfa.selectors.step_after_password) and kept in it;
signing out or in as someone else clears the session, so it is worked out again. API requests
with a token never have a session user here and pass untouched.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect

from edc.mfa import selectors
from edc.mfa.policy import Step

SESSION_STEP = "edc_mfa_step"

# Pages a person part-way through signing in may open, besides the one their step leads to.
# Not the other step's: someone who knows only the password must not enrol a phone of their own.
OPEN_DURING_SIGN_IN = {"logout", "switch-language", "api-token"}
STEP_PAGE = {Step.VERIFY: "mfa-verify", Step.ENROL: "mfa-enrol"}


def mark_done(request) -> None:
    """The person gave their second factor in this session (only the code and enrolment views
    call this, after django_otp.login)."""
    request.session[SESSION_STEP] = Step.DONE.value


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated:
            return None
        step = request.session.get(SESSION_STEP)
        if step == Step.DONE and not user.is_verified():
            # The device that verified this session was removed: ask again.
            step = None
        if step is None:
            step = selectors.step_after_password(user).value
            request.session[SESSION_STEP] = step
        if step in (Step.PASSWORD_ONLY, Step.DONE):
            return None
        target = STEP_PAGE[Step(step)]
        match = request.resolver_match
        if match is not None and match.url_name in OPEN_DURING_SIGN_IN | {target}:
            # The page header then offers no links this person cannot follow yet.
            request.second_factor_pending = True
            return None
        response = redirect(target)
        if request.method == "GET":
            response["Location"] += "?" + urlencode({"next": request.get_full_path()})
        return response
