from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from edc.accounts.forms import NewTokenForm, PreferencesForm
from edc.accounts.middleware import remember_reader
from edc.accounts.models import ApiToken, Preference
from edc.accounts.scoping import administered_study_ids
from edc.accounts.selectors import reader_settings, tokens_of
from edc.accounts.services import (
    claim_login_attempt,
    create_token,
    may_manage_tokens_of,
    record_login,
    record_login_failure,
    record_logout,
    revoke_token,
    set_preferences,
)
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.errors import DomainError
from edc.mfa.selectors import second_factor_of
from edc.web.redirects import next_url


class LockoutAuthenticationForm(AuthenticationForm):
    def clean(self):
        username = self.cleaned_data.get("username", "")
        password = self.cleaned_data.get("password")
        if not (username and password):
            return super().clean()
        # The attempt is counted before the password is checked, so racing sign-ins cannot
        # run more checks than the lockout allows.
        if not claim_login_attempt(username):
            record_login_failure(username, Channel.WEB, locked=True)
            raise forms.ValidationError(
                gettext_lazy(
                    "This account is locked after repeated failed sign-ins. "
                    "Try again later or ask a study admin."
                ),
                code="locked",
            )
        try:
            return super().clean()
        except forms.ValidationError:
            record_login_failure(username, Channel.WEB)
            raise


class LoginView(auth_views.LoginView):
    form_class = LockoutAuthenticationForm
    template_name = "registration/login.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        record_login(form.get_user(), Channel.WEB)
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            record_logout(request.user, Channel.WEB)
        return super().post(request, *args, **kwargs)


def _with_language_cookie(response, language: str):
    """The cookie LocaleMiddleware reads, so the sign-in page keeps the language too."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response


@require_POST
def switch_language(request):
    """The header's language switch. Saved as the person's preference when signed in."""
    language = request.POST.get("language", "")
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = ""
    if request.user.is_authenticated:
        set_preferences(ChangeContext.web(request), request.user, language=language)
        remember_reader(request, request.user)
    return _with_language_cookie(HttpResponseRedirect(next_url(request, "/")), language)


@login_required
def preferences(request):
    current = reader_settings(request.user)
    chosen = Preference.objects.filter(user=request.user).first()
    initial = {
        "language": chosen.language if chosen else "",
        "time_zone": chosen.time_zone if chosen and current.may_choose_zone else "",
    }
    form = PreferencesForm(
        request.POST or None,
        initial=initial,
        may_choose_zone=current.may_choose_zone,
        site_zone=current.site_zone,
    )
    if request.method == "POST" and form.is_valid():
        try:
            set_preferences(
                ChangeContext.web(request),
                request.user,
                language=form.cleaned_data["language"],
                time_zone=form.cleaned_data.get("time_zone", ""),
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            remember_reader(request, request.user)
            language = form.cleaned_data["language"]
            if language:
                translation.activate(language)
            messages.success(request, _("Your preferences are saved."))
            return _with_language_cookie(redirect("preferences"), language)
    return render(
        request,
        "accounts/preferences.html",
        {"form": form, "reader": current, "second_factor": second_factor_of(request.user)},
    )


def _may_see_others_tokens(user) -> bool:
    return user.is_superuser or bool(administered_study_ids(user))


@login_required
def my_tokens(request):
    """The signed-in person's API tokens; a new one's key is shown on this answer only."""
    form = NewTokenForm(request.POST or None)
    new_key = ""
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = create_token(
                ChangeContext.web(request),
                name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            form = NewTokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "new_key": new_key,
            "tokens": tokens_of(request.user),
            "owner": request.user,
            "own": True,
            "may_see_others": _may_see_others_tokens(request.user),
        },
    )


@login_required
def person_tokens(request):
    """A study admin's (or superuser's) view of another person's tokens, to revoke them."""
    username = request.GET.get("username", "").strip()
    owner = get_user_model().objects.filter(username=username).first() if username else None
    if owner is None or not may_manage_tokens_of(request.user, owner):
        # Whether such a person exists is not told to those who may not see them.
        if not _may_see_others_tokens(request.user):
            raise Http404
        messages.error(request, _("You administer no person named %(name)s.") % {"name": username})
        return redirect("my-tokens")
    return render(
        request,
        "accounts/tokens.html",
        {"tokens": tokens_of(owner), "owner": owner, "own": owner.pk == request.user.pk},
    )


@login_required
def confirm_revoke_token(request, token_id: int):
    """Revoking asks first: clients using the token stop working at once."""
    token = get_object_or_404(ApiToken.objects.select_related("owner"), pk=token_id)
    if not may_manage_tokens_of(request.user, token.owner):
        raise Http404
    back = (
        reverse("my-tokens")
        if token.owner_id == request.user.pk
        else f"{reverse('person-tokens')}?{urlencode({'username': token.owner.username})}"
    )
    if request.method == "POST":
        revoke_token(ChangeContext.web(request), token.pk)
        messages.success(request, _("The token %(name)s is revoked.") % {"name": token.name})
        return redirect(back)
    return render(request, "accounts/revoke_token.html", {"token": token, "back": back})
