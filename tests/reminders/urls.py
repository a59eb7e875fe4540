"""The project's URLs, plus the reminders URLs if the project does not include them yet."""

from django.urls import include, path

from edc.urls import urlpatterns as project_urlpatterns


def _includes_reminders() -> bool:
    modules = (getattr(p, "urlconf_module", None) for p in project_urlpatterns)
    return any(getattr(m, "__name__", "") == "edc.reminders.urls" for m in modules)


urlpatterns = list(project_urlpatterns)
if not _includes_reminders():
    urlpatterns.append(path("studies/<slug:study_code>/", include("edc.reminders.urls")))
