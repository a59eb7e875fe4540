from django.contrib import admin
from django.contrib.staticfiles.storage import staticfiles_storage
from django.urls import include, path, register_converter
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from edc.accounts import people_views
from edc.accounts import views as account_views
from edc.accounts.api import ObtainTokenView, TokenDetailView, TokenListView
from edc.converters import SegmentConverter
from edc.datamanagement import views as datamanagement_views
from edc.mfa import views as mfa_views
from edc.subjects import api as subject_api
from edc.subjects import views as subject_views
from edc.web import views as web_views

# Before any pattern (the included url modules too) uses it.
register_converter(SegmentConverter, "segment")

api_v1 = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("auth/tokens/", TokenListView.as_view(), name="api-tokens"),
    path("auth/tokens/<int:token_id>/", TokenDetailView.as_view(), name="api-token-detail"),
    path(
        "studies/<slug:study_code>/subjects/",
        subject_api.StudySubjectsView.as_view(),
        name="api-subjects",
    ),
    path(
        "studies/<slug:study_code>/subjects/<segment:subject_id>/",
        subject_api.SubjectDetailView.as_view(),
        name="api-subject",
    ),
    path(
        "studies/<slug:study_code>/subjects/<segment:subject_id>/transitions/",
        subject_api.SubjectTransitionView.as_view(),
        name="api-subject-transition",
    ),
    path("", include("randomization.api_urls")),
    path("", include("crf.api_urls")),
    path("", include("edc.datamanagement.api_urls")),
    path("", include("edc.exports.api_urls")),
]

urlpatterns = [
    # The API first: patterns are tried in order, and machine clients (enrolment systems
    # randomizing) should not pay for matching every page's pattern.
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view loads its start-up script from a URL instead of an inline <script>, so a
    # Content-Security-Policy without 'unsafe-inline' scripts can cover the docs too.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"),
        name="api-redoc",
    ),
    # Browsers ask for /favicon.ico whatever the page links to.
    path(
        "favicon.ico",
        RedirectView.as_view(url=staticfiles_storage.url("edc/favicon.svg"), permanent=True),
    ),
    path("", web_views.home, name="home"),
    path("queries/", datamanagement_views.inbox, name="query-inbox"),
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", account_views.LogoutView.as_view(), name="logout"),
    path("accounts/preferences/", account_views.preferences, name="preferences"),
    path("accounts/tokens/", account_views.my_tokens, name="my-tokens"),
    path("accounts/tokens/person/", account_views.person_tokens, name="person-tokens"),
    path(
        "accounts/tokens/<int:token_id>/revoke/",
        account_views.confirm_revoke_token,
        name="revoke-token",
    ),
    path("accounts/language/", account_views.switch_language, name="switch-language"),
    path("accounts/two-step/", mfa_views.verify, name="mfa-verify"),
    path("accounts/two-step/setup/", mfa_views.enrol, name="mfa-enrol"),
    path(
        "accounts/set-password/<uidb64>/<token>/",
        people_views.SetPasswordView.as_view(),
        name="set-password",
    ),
    path("people/approvals/", people_views.pending_grants, name="pending-grants"),
    path(
        "people/approvals/<int:membership_id>/",
        people_views.decide_grant,
        name="pending-grant-decide",
    ),
    path("admin/login/", account_views.LoginView.as_view()),
    path("admin/", admin.site.urls),
    path("studies/<slug:study_code>/", web_views.study_detail, name="study-detail"),
    path("studies/<slug:study_code>/people/", people_views.people, name="people"),
    path("studies/<slug:study_code>/people/add/", people_views.add_person, name="person-add"),
    path("studies/<slug:study_code>/people/<int:user_id>/", people_views.person, name="person"),
    path(
        "studies/<slug:study_code>/people/<int:user_id>/set-password-link/",
        people_views.send_link,
        name="person-send-link",
    ),
    path(
        "studies/<slug:study_code>/people/<int:user_id>/memberships/<int:membership_id>/end/",
        people_views.end_membership,
        name="membership-end",
    ),
    path(
        "studies/<slug:study_code>/sites/<segment:site_code>/",
        web_views.site_subjects,
        name="site-subjects",
    ),
    path(
        "studies/<slug:study_code>/sites/<segment:site_code>/screen/",
        subject_views.screen_subject,
        name="screen-subject",
    ),
    path(
        "studies/<slug:study_code>/subjects/<segment:subject_id>/",
        subject_views.subject_detail,
        name="subject-detail",
    ),
    path(
        "studies/<slug:study_code>/subjects/<segment:subject_id>/status/<slug:action>/",
        subject_views.subject_action,
        name="subject-action",
    ),
    path("studies/<slug:study_code>/", include("crf.urls")),
    path("studies/<slug:study_code>/", include("randomization.urls")),
    path("studies/<slug:study_code>/dm/", include("edc.datamanagement.urls")),
    path("studies/<slug:study_code>/exports/", include("edc.exports.urls")),
    path("studies/<slug:study_code>/", include("edc.reminders.urls")),
]
