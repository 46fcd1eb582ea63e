from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "casework.retention"
    label = "retention"
    verbose_name = _("Retention")

    def ready(self) -> None:
        from casework.retention import actions  # noqa: F401 - registers the process steps
