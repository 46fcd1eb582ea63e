from django.db import models
from django.utils.translation import gettext_lazy as _


class DemoHistory(models.Model):
    """The demo's service history was loaded (`demo.history`): its days and how many
    contacts it brought. The row is the marker that keeps a second load from adding
    another history."""

    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    contacts = models.PositiveIntegerField(_("contacts"))
    seed = models.PositiveIntegerField(_("random seed"))

    class Meta:
        verbose_name = _("demo history")
        verbose_name_plural = _("demo histories")

    def __str__(self) -> str:
        return f"{self.first_day}–{self.last_day}: {self.contacts}"
