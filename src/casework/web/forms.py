"""Forms of the agent desktop: they parse and check input, nothing more. Choices that
depend on the actor (agents, resolution codes) are handed in by the view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from casework.cases.models import CaseStatus, Priority, ResolutionCode, ServiceType
from casework.routing.models import Agent, Queue

# `update_case` sets these directly; resolving has its own form.
DIRECT_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING)


class PageForm(forms.Form):
    # The upper bound keeps the offset inside a database integer.
    page = forms.IntegerField(min_value=1, max_value=10_000, required=False)

    @classmethod
    def page_from(cls, data: Any) -> int:
        """The requested page, or 1 when the parameter is missing or not a page number."""
        form = cls(data)
        if form.is_valid() and form.cleaned_data["page"]:
            return int(form.cleaned_data["page"])
        return 1


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=200, required=False, strip=True)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Write an internal note…")}),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field; each is checked like a single file field's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class EmailReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply by e-mail"),
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": _("Your answer to the customer…")}),
    )
    attachments = MultipleFileField(label=_("Attachments"), required=False)
    quote = forms.BooleanField(
        label=_("Quote the customer's mail below the reply"), required=False, initial=True
    )

    def clean_attachments(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["attachments"]
        limit = settings.CASEWORK_MAX_ATTACHMENT_BYTES
        for upload in files:
            if upload.size and upload.size > limit:
                raise forms.ValidationError(
                    _("%(name)s has %(size)s; a file may have at most %(limit)s.")
                    % {
                        "name": upload.name,
                        "size": filesizeformat(upload.size),
                        "limit": filesizeformat(limit),
                    }
                )
        return files


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(status.value, capfirst(status.label)) for status in DIRECT_STATUSES],
    )


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=[(value, capfirst(label)) for value, label in Priority.choices],
        coerce=int,
    )


class ServiceTypeForm(forms.Form):
    service_type = forms.ChoiceField(
        label=_("Service type"),
        choices=[(value, capfirst(label)) for value, label in ServiceType.choices],
    )


class ClassificationForm(forms.Form):
    """A better label for one classifier task of the case's first message (topic, urgency,
    sentiment); `prefix` is the task, so several of them live on one page."""

    label = forms.ChoiceField()

    def __init__(
        self, *args: Any, task_label: str, choices: Sequence[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["label"]
        assert isinstance(field, forms.ChoiceField)
        field.label = task_label
        field.choices = list(choices)


class AssignForm(forms.Form):
    """Pick an agent, or the empty choice to hand the case back to its queue."""

    agent = forms.TypedChoiceField(label=_("Owner"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, agents: Sequence[Agent], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.agents = {agent.pk: agent for agent in agents}
        field = self.fields["agent"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", _("— back to the queue —"))] + [
            (agent.pk, agent.display_name) for agent in agents
        ]

    def chosen_agent(self) -> Agent | None:
        agent_id = self.cleaned_data["agent"]
        return None if agent_id is None else self.agents[agent_id]


class ResolveForm(forms.Form):
    resolution_code = forms.ChoiceField(label=_("Resolution"))
    note = forms.CharField(
        label=_("Resolution note"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, codes: Sequence[ResolutionCode], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["resolution_code"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("— choose —"))] + [(code.code, code.name) for code in codes]


class MergeSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Customer to merge"),
        max_length=200,
        help_text=_("Customer id, customer number, name, e-mail address or phone number"),
    )

    def customer_id(self) -> int | None:
        """The text as a customer id, when it is one."""
        text = self.cleaned_data["q"]
        return int(text) if text.isdigit() and len(text) < 19 else None


class MergeConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I have checked that both records belong to the same customer."),
        required=True,
    )


class ForwardForm(forms.Form):
    queue = forms.ChoiceField(label=_("Forward to"))
    note = forms.CharField(
        label=_("For the colleague who takes it over"),
        max_length=5_000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("What is to be done, and why?")}),
    )

    def __init__(self, *args: Any, queues: Sequence[Queue], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queues = {queue.code: queue for queue in queues}
        field = self.fields["queue"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("— choose —"))] + [
            (queue.code, f"{queue.name} ({queue.team.get_tier_display()})") for queue in queues
        ]

    def chosen_queue(self) -> Queue:
        return self.queues[self.cleaned_data["queue"]]


class MergeCaseForm(forms.Form):
    reference = forms.RegexField(
        label=_("Merge into case"),
        regex=r"^\s*[Cc][Ww]-\d{4}-\d{6}\s*$",
        max_length=30,
        help_text=_("The reference of the case that continues, e.g. CW-2026-000123"),
        error_messages={"invalid": _("A case reference looks like CW-2026-000123.")},
        widget=forms.TextInput(attrs={"placeholder": "CW-2026-000123"}),
    )

    def clean_reference(self) -> str:
        return str(self.cleaned_data["reference"]).strip().upper()


class SplitForm(forms.Form):
    subject = forms.CharField(label=_("Subject of the new case"), max_length=300, required=False)


class LinkCustomerForm(forms.Form):
    customer = forms.IntegerField(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
