from django.urls import path

from crf import api

# Included at api/v1/.
SUBJECT = "studies/<slug:study_code>/subjects/<segment:subject_id>"
FORM = (
    f"{SUBJECT}/forms/<segment:event_code>/<int:event_repeat>/<segment:form_code>/<int:form_repeat>"
)

urlpatterns = [
    path(f"{SUBJECT}/forms/", api.SubjectFormsView.as_view(), name="api-crf-forms"),
    path(f"{FORM}/", api.FormView.as_view(), name="api-crf-form"),
    path(f"{FORM}/check/", api.FormCheckView.as_view(), name="api-crf-form-check"),
    path(f"{SUBJECT}/eligibility/", api.EligibilityView.as_view(), name="api-crf-eligibility"),
    path("ctcae-terms/", api.CtcaeTermsView.as_view(), name="api-ctcae-terms"),
]
