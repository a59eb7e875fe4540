"""tests.settings with the reminders app and its URLs, for running this folder before the app
is wired into the project settings (afterwards it changes nothing)."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

if "edc.reminders" not in INSTALLED_APPS:
    INSTALLED_APPS = [*INSTALLED_APPS, "edc.reminders"]
ROOT_URLCONF = "tests.reminders.urls"
