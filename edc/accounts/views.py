from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm

from edc.accounts.services import is_locked_out, record_login, record_login_failure, record_logout
from edc.audit.models import Channel


class LockoutAuthenticationForm(AuthenticationForm):
    def clean(self):
        username = self.cleaned_data.get("username", "")
        if username and is_locked_out(username):
            record_login_failure(username, Channel.WEB, locked=True)
            raise forms.ValidationError(
                "This account is locked after repeated failed sign-ins. Try again later or ask a study admin.",
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
