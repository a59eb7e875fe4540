from django.urls import path

from randomization import api

urlpatterns = [
    path(
        "studies/<slug:study_code>/subjects/<segment:subject_id>/randomization/",
        api.SubjectRandomizationView.as_view(),
        name="api-randomization",
    ),
    path(
        "studies/<slug:study_code>/randomization/commitments/",
        api.CommitmentsView.as_view(),
        name="api-randomization-commitments",
    ),
    path(
        "studies/<slug:study_code>/randomization/list/",
        api.AllocationListView.as_view(),
        name="api-randomization-list",
    ),
    path(
        "studies/<slug:study_code>/randomization/seed/",
        api.SeedView.as_view(),
        name="api-randomization-seed",
    ),
    path(
        "studies/<slug:study_code>/randomization/balance/",
        api.BalanceView.as_view(),
        name="api-randomization-balance",
    ),
]
