from django.apps import AppConfig


class DataManagementConfig(AppConfig):
    name = "edc.datamanagement"
    label = "datamanagement"
    verbose_name = "Data management"
