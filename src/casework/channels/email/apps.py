from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailChannelConfig(AppConfig):
    name = "casework.channels.email"
    label = "email_channel"
    verbose_name = _("E-mail")

    def ready(self) -> None:
        from casework.cases.notifications import register_sender
        from casework.channels.email.outbound import send_notification

        register_sender("email", send_notification)
