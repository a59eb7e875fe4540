from django.urls import path

from edc.datamanagement import api

study = "studies/<slug:study_code>/"

urlpatterns = [
    path(f"{study}queries/", api.StudyQueriesView.as_view(), name="api-dm-queries"),
    path(f"{study}queries/counts/", api.QueryCountsView.as_view(), name="api-dm-query-counts"),
    path(f"{study}queries/<int:pk>/", api.QueryDetailView.as_view(), name="api-dm-query"),
    path(
        f"{study}queries/<int:pk>/actions/",
        api.QueryActionView.as_view(),
        name="api-dm-query-action",
    ),
    path(f"{study}forms/<int:form_id>/sdv/", api.FormSdvView.as_view(), name="api-dm-sdv"),
    path(f"{study}signatures/", api.StudySignaturesView.as_view(), name="api-dm-signatures"),
    path(f"{study}locks/", api.StudyLocksView.as_view(), name="api-dm-locks"),
    path(f"{study}locks/<int:pk>/unlock/", api.UnlockView.as_view(), name="api-dm-unlock"),
    path(f"{study}audit/", api.StudyAuditView.as_view(), name="api-dm-audit"),
]
