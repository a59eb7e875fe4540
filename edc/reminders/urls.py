"""Included by the project under studies/<slug:study_code>/. Everything sits under schedule/ so
no pattern of another app (subjects/<id>/<anything>/) can shadow it."""

from django.urls import path

from edc.reminders import views

urlpatterns = [
    path("schedule/sites/<segment:site_code>/todo/", views.site_todo, name="reminders-todo"),
    path(
        "schedule/subjects/<segment:subject_id>/", views.subject_calendar, name="reminders-calendar"
    ),
    path(
        "schedule/subjects/<segment:subject_id>/anchor/",
        views.correct_anchor,
        name="reminders-correct-anchor",
    ),
    path(
        "schedule/subjects/<segment:subject_id>/visits/<int:visit_id>/not-done/",
        views.visit_not_done,
        name="reminders-visit-not-done",
    ),
    path(
        "schedule/subjects/<segment:subject_id>/visits/<int:visit_id>/performed/",
        views.visit_performed,
        name="reminders-visit-performed",
    ),
]
