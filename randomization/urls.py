from django.urls import path

from randomization import views

urlpatterns = [
    path(
        "subjects/<segment:subject_id>/randomize/",
        views.randomize_subject,
        name="randomize-subject",
    ),
    path(
        "subjects/<segment:subject_id>/allocation/",
        views.subject_allocation,
        name="subject-allocation",
    ),
    path("randomization/", views.report, name="randomization-report"),
    path("randomization/list.csv", views.list_csv, name="randomization-list-csv"),
]
