from django.urls import path

from edc.exports import views

urlpatterns = [
    path("", views.export_list, name="exports"),
    path("<int:job_id>/", views.export_detail, name="export-detail"),
    path("<int:job_id>/progress/", views.export_progress, name="export-progress"),
    path("<int:job_id>/download/", views.export_download, name="export-download"),
]
