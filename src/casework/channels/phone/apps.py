from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PhoneChannelConfig(AppConfig):
    name = "casework.channels.phone"
    label = "phone"
    verbose_name = _("Phone")
