from django.urls import path

from edc.exports import api

study = "studies/<slug:study_code>/"

urlpatterns = [
    path(f"{study}exports/", api.StudyExportsView.as_view(), name="api-exports"),
    path(f"{study}exports/<int:pk>/", api.ExportDetailView.as_view(), name="api-export"),
    path(
        f"{study}exports/<int:pk>/download/",
        api.ExportDownloadView.as_view(),
        name="api-export-download",
    ),
]
