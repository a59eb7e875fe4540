from django.urls import path

from edc.datamanagement import views

# Included at studies/<slug:study_code>/dm/.
urlpatterns = [
    path("", views.dashboard, name="dm-dashboard"),
    path("queries/", views.query_list, name="dm-queries"),
    path("queries/<int:pk>/", views.query_detail, name="dm-query"),
    path("queries/<int:pk>/answer/", views.answer_query, name="dm-query-answer"),
    path("sites/<segment:site_code>/grid/", views.status_grid, name="dm-status-grid"),
    path("forms/<int:form_id>/", views.form_review, name="dm-form"),
    path("forms/<int:form_id>/sdv/", views.verify, name="dm-sdv"),
    path("forms/<int:form_id>/queries/new/", views.raise_query, name="dm-raise-query"),
    path("sign/", views.sign, name="dm-sign"),
    path("locks/", views.locks, name="dm-locks"),
    path("locks/<int:pk>/unlock/", views.unlock, name="dm-unlock"),
]
