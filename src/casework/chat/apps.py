from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "casework.chat"
    label = "chat"
    verbose_name = _("Chat")
