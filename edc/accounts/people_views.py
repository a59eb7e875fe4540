"""The People pages of a study, for its admins: everyone with a membership there, adding a
person (who is e-mailed a link to set their password), granting and ending roles, and the
grants waiting for a second admin. Thin: each POST calls one service in edc.accounts.services;
a refused change shows its message on the page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from edc.accounts import selectors, services
from edc.accounts.forms import AddPersonForm, DecisionForm, ReasonForm, WhereAndRoleForm
from edc.accounts.models import Membership
from edc.accounts.roles import MembershipStatus, Permission
from edc.accounts.scoping import scope_of
from edc.audit.context import ChangeContext
from edc.errors import DomainError


def _places(user, study) -> tuple[list, bool]:
    """(sites the admin may grant at, whether they may grant study-wide)."""
    if user.is_superuser:
        return list(study.sites.order_by("code")), True
    scope = scope_of(user)
    sites = scope.sites(Permission.ADMINISTER).filter(study=study).order_by("code")
    return list(sites), scope.can(Permission.ADMINISTER, study.pk)


def _site_of(study, code: str):
    return None if code == "*" else get_object_or_404(study.sites, code=code)


def _base_url(request) -> str:
    """Where the e-mailed link points: the configured address, else the one asked for (a host
    ALLOWED_HOSTS accepted)."""
    return settings.EDC_BASE_URL or request.build_absolute_uri("/")


def _show(form, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@login_required
def people(request, study_code):
    study = selectors.administered_study(request.user, study_code)
    found = selectors.people_of(request.user, study)
    waiting = [m for m in selectors.pending_grants(request.user) if m.study_id == study.pk]
    return render(
        request,
        "accounts/people.html",
        {"study": study, "people": found, "waiting": len(waiting)},
    )


@login_required
def add_person(request, study_code):
    study = selectors.administered_study(request.user, study_code)
    sites, study_wide = _places(request.user, study)
    form = AddPersonForm(request.POST or None, sites=sites, study_wide=study_wide)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            added = services.add_person(
                ChangeContext.web(request),
                study,
                username=data["username"],
                full_name=data["full_name"],
                email=data["email"],
                language=data["language"],
                site=_site_of(study, data["site"]),
                role=data["role"],
                base_url=_base_url(request),
            )
        except DomainError as exc:
            _show(form, exc)
        else:
            if added.link_sent:
                messages.success(
                    request,
                    _(
                        "%(name)s is added; an e-mail with a link to set a password went to %(email)s."
                    )
                    % {"name": added.user.get_full_name(), "email": added.user.email},
                )
            else:
                messages.error(
                    request,
                    _("%(name)s is added, but the e-mail could not be sent. Send a new link below.")
                    % {"name": added.user.get_full_name()},
                )
            return redirect("person", study.code, added.user.pk)
    return render(request, "accounts/person_add.html", {"study": study, "form": form})


def _person_page(request, study, person, grant_form, status=200):
    user = request.user
    return render(
        request,
        "accounts/person.html",
        {
            "study": study,
            "person": person,
            "grant_form": grant_form,
            "is_self": person.user.pk == user.pk,
            "decidable": {m.pk for m in person.memberships if services.may_decide(user, m)},
            "never_signed_in": not person.user.has_usable_password(),
        },
        status=status,
    )


@login_required
def person(request, study_code, user_id):
    """A person's memberships in the study, and the form granting them another role."""
    study = selectors.administered_study(request.user, study_code)
    found = selectors.person_in(request.user, study, user_id)
    sites, study_wide = _places(request.user, study)
    form = WhereAndRoleForm(request.POST or None, sites=sites, study_wide=study_wide)
    if request.method == "POST" and form.is_valid():
        try:
            granted = services.grant_membership(
                ChangeContext.web(request),
                user=found.user,
                study=study,
                site=_site_of(study, form.cleaned_data["site"]),
                role=form.cleaned_data["role"],
            )
        except DomainError as exc:
            _show(form, exc)
            return _person_page(request, study, found, form, status=exc.status)
        if granted.status == MembershipStatus.PENDING:
            messages.success(request, _("The role waits for a second admin's approval."))
        else:
            messages.success(request, _("The role is granted."))
        return redirect("person", study.code, found.user.pk)
    return _person_page(request, study, found, form)


def _membership(request, study, user_id, membership_id) -> Membership:
    found = selectors.person_in(request.user, study, user_id)
    for m in found.memberships:
        if m.pk == membership_id:
            return m
    raise Http404("not found")


@login_required
@require_POST
def end_membership(request, study_code, user_id, membership_id):
    study = selectors.administered_study(request.user, study_code)
    membership = _membership(request, study, user_id, membership_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Ending a role needs a reason."))
        return redirect("person", study.code, user_id)
    try:
        services.end_membership(
            ChangeContext.web(request, reason=form.cleaned_data["reason"]), membership
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The role is ended."))
    return redirect("person", study.code, user_id)


@login_required
@require_POST
def send_link(request, study_code, user_id):
    study = selectors.administered_study(request.user, study_code)
    found = selectors.person_in(request.user, study, user_id)
    site = next((m.site for m in found.live if m.site_id), None)
    try:
        sent = services.send_set_password_link(
            ChangeContext.web(request),
            found.user,
            study=study,
            site=site,
            base_url=_base_url(request),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if sent:
            messages.success(
                request, _("A new link went to %(email)s.") % {"email": found.user.email}
            )
        else:
            messages.error(request, _("The e-mail could not be sent. Try again later."))
    return redirect("person", study.code, user_id)


@login_required
def pending_grants(request):
    """Grants waiting for a second admin, across the studies the reader administers."""
    user = request.user
    if not user.is_superuser and not scope_of(user).study_ids(Permission.ADMINISTER):
        raise Http404("not found")
    waiting = selectors.pending_grants(user)
    return render(
        request,
        "accounts/pending_grants.html",
        {
            "waiting": waiting,
            "decidable": {m.pk for m in waiting if services.may_decide(user, m)},
        },
    )


@login_required
@require_POST
def decide_grant(request, membership_id):
    visible = {m.pk: m for m in selectors.pending_grants(request.user)}
    membership = visible.get(membership_id)
    if membership is None:
        raise Http404("not found")
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or refuse."))
        return redirect("pending-grants")
    approve = form.cleaned_data["decision"] == "approve"
    try:
        services.decide_membership(
            ChangeContext.web(request, reason=form.cleaned_data["reason"]),
            membership,
            approve=approve,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("The grant is approved.") if approve else _("The grant is refused.")
        )
    return redirect("pending-grants")


class PasswordFromLinkForm(SetPasswordForm):
    """Django's form (its validators and messages); the save is the audited service."""

    def save(self, commit=True):
        services.set_password_from_link(self.user, self.cleaned_data["new_password1"])
        return self.user


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The page the e-mailed link opens (Django's view checks the token and hides it from the
    address bar). After saving, the person signs in as everyone does."""

    form_class = PasswordFromLinkForm
    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("login")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set. Sign in with it."))
        return response
