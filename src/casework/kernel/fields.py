"""Model fields shared by several packages."""

from __future__ import annotations

from typing import Any

from django.db import models

from casework.kernel.secrets import decrypt, encrypt


class EncryptedTextField(models.TextField):
    """Text stored encrypted (`kernel.secrets`), read back in plain text."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt(str(value))


class ClockDateTimeField(models.DateTimeField):
    """A DateTimeField whose `auto_now`/`auto_now_add` read the product's clock
    (`kernel.clock.now`) instead of the system time, so a case opened while a history is
    imported as it happened (or under a test's pinned clock) carries the time it was opened."""

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if self.auto_now or (self.auto_now_add and add):
            from casework.kernel import clock

            value = clock.now()
            setattr(model_instance, self.attname, value)
            return value
        return super().pre_save(model_instance, add)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        # Stored exactly like a DateTimeField: migrations need not know the difference.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs
