from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "casework.kernel"
    label = "kernel"
