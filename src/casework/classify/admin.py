from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.classify import services
from casework.classify.models import ClassifierTask, Correction, ModelVersion
from casework.kernel.errors import DomainError
from casework.routing.queries import actor_for_user


@admin.register(ClassifierTask)
class ClassifierTaskAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "confidence_threshold", "created_at")


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = (
        "task",
        "number",
        "is_active",
        "kind",
        "accuracy",
        "macro_f1",
        "source_name",
        "source_rows",
        "trained_by",
        "created_at",
        "activated_at",
    )
    list_filter = ("task", "is_active", "kind")
    # Versions are made by training, and never edited: activation goes through the actions.
    readonly_fields = [
        field.name
        for field in ModelVersion._meta.fields
        if field.name not in ("model_data", "training_data")
    ]
    exclude = ("model_data", "training_data")
    actions = ("activate_selected", "roll_back_task")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        # The model files and training examples are megabytes each: never load them here.
        return super().get_queryset(request).defer("model_data", "training_data")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("accuracy"))
    def accuracy(self, version: ModelVersion) -> float | None:
        return version.scores.get("accuracy")

    @admin.display(description=gettext_lazy("macro-F1"))
    def macro_f1(self, version: ModelVersion) -> float | None:
        return version.scores.get("macro_f1")

    @admin.action(description=gettext_lazy("Activate the selected version"))
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one version."), messages.ERROR)
            return
        version = queryset.select_related("task").get()
        self._run(
            request,
            lambda actor: services.activate_version(version.task.name, version.number, actor=actor),
        )

    @admin.action(description=gettext_lazy("Roll back the task to its previous version"))
    def roll_back_task(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        names = set(queryset.values_list("task__name", flat=True))
        for name in sorted(names):
            self._run(request, lambda actor, name=name: services.roll_back(name, actor=actor))

    def _run(self, request: HttpRequest, change) -> None:  # noqa: ANN001
        actor = actor_for_user(request.user)
        if actor is None:
            self.message_user(
                request, _("Only agents and administrators may do this."), messages.ERROR
            )
            return
        try:
            version = change(actor)
        except DomainError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(request, _("%(version)s is active.") % {"version": version})


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    list_display = ("task", "old_label", "new_label", "interaction_id", "actor_label", "created_at")
    list_filter = ("task",)
    readonly_fields = ("task", "interaction_id", "text", "old_label", "new_label", "actor_label")
