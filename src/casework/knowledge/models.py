"""What agents reuse when they answer: reply templates (and, later, knowledge articles)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReplyTemplate(models.Model):
    """A prepared answer with placeholders (`{{ customer.first_name }}`), one per language;
    the agent picks it in the reply form and edits the text before sending."""

    code = models.SlugField(_("code"), max_length=80)
    language = models.CharField(
        _("language"), max_length=8, choices=[("de", _("German")), ("en", _("English"))]
    )
    name = models.CharField(_("name"), max_length=200)
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["code", "language"], name="replytemplate_code_lang")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"
