from django.urls import path

from crf import eligibility_views, lab_range_views, views

# Included at studies/<slug:study_code>/.
FORM = "subjects/<segment:subject_id>/forms/<segment:event_code>/<int:event_repeat>/<segment:form_code>"

urlpatterns = [
    path(f"{FORM}/<int:form_repeat>/", views.form_entry, name="crf-form"),
    path(f"{FORM}/<int:form_repeat>/check/", views.form_check, name="crf-form-check"),
    path(f"{FORM}/new/", views.new_form, name="crf-form-new"),
    path("response-overrides/", views.response_overrides, name="crf-response-overrides"),
    path(
        "subjects/<segment:subject_id>/eligibility/",
        eligibility_views.eligibility,
        name="crf-eligibility",
    ),
    path("sites/<segment:site_code>/lab-ranges/", lab_range_views.lab_ranges, name="lab-ranges"),
    path(
        "sites/<segment:site_code>/lab-ranges/new/",
        lab_range_views.lab_range_edit,
        name="lab-range-new",
    ),
    path(
        "sites/<segment:site_code>/lab-ranges/<int:pk>/",
        lab_range_views.lab_range_edit,
        name="lab-range-edit",
    ),
]
