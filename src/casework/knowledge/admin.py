from django import forms
from django.contrib import admin
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from casework.kernel.errors import InvalidInput
from casework.knowledge.models import ReplyTemplate
from casework.knowledge.templating import PLACEHOLDERS, check_template


class ReplyTemplateForm(forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = ["code", "language", "name", "body", "is_active"]
        help_texts = {
            "body": format_lazy(
                _("Placeholders: {names}"),
                names=", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS),
            )
        }

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        try:
            check_template(body)
        except InvalidInput as error:
            raise forms.ValidationError(error.message) from error
        return body


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    form = ReplyTemplateForm
    list_display = ["name", "code", "language", "is_active"]
    list_filter = ["language", "is_active"]
    search_fields = ["name", "code", "body"]
