"""The admin lists versions without loading model files and activates or rolls back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from casework.classify.models import ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_versions(service_csv: Path) -> None:
    for _ in range(3):
        call_command(
            "classify", "train", "--task", "service_type", "--csv", str(service_csv),
            "--text-col", "text", "--label-col", "label",
            stdout=io.StringIO(), stderr=io.StringIO(),
        )  # fmt: skip


def _active() -> int:
    return ModelVersion.objects.get(is_active=True).number


def test_the_version_list_and_a_version_page_render(admin_client, three_versions):
    changelist = reverse("admin:classify_modelversion_changelist")
    version = ModelVersion.objects.get(number=2)

    assert admin_client.get(changelist).status_code == 200
    page = admin_client.get(reverse("admin:classify_modelversion_change", args=[version.pk]))
    assert page.status_code == 200
    assert b"model_data" not in page.content


def test_activate_then_roll_back_through_the_admin_actions(admin_client, three_versions):
    changelist = reverse("admin:classify_modelversion_changelist")
    third = ModelVersion.objects.get(number=3)

    admin_client.post(changelist, {"action": "activate_selected", "_selected_action": [third.pk]})
    assert _active() == 3

    admin_client.post(changelist, {"action": "roll_back_task", "_selected_action": [third.pk]})
    assert _active() == 1


def test_activating_needs_exactly_one_version(admin_client, three_versions):
    changelist = reverse("admin:classify_modelversion_changelist")
    pks = list(ModelVersion.objects.values_list("pk", flat=True))

    response = admin_client.post(
        changelist, {"action": "activate_selected", "_selected_action": pks}, follow=True
    )

    assert b"Select exactly one version." in response.content
    assert _active() == 1
