from django.contrib import admin

from casework.routing.models import (
    Agent,
    AgentSkill,
    AgentStatus,
    ChannelCapacity,
    Offer,
    PresenceLog,
    PresenceState,
    Queue,
    RoutingRule,
    RoutingRuleSkill,
    Skill,
    Team,
    WorkItem,
)
from casework.routing.port import agent_changed


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 1


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("user", "role")
    list_filter = ("role", "teams")
    filter_horizontal = ("teams",)
    inlines = [AgentSkillInline]

    def save_related(self, request, form, formsets, change) -> None:  # noqa: ANN001
        super().save_related(request, form, formsets, change)
        agent_changed(form.instance.pk)  # the skills in the inline


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("code", "name_de", "name_en", "tier")


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "name_de", "name_en")
    list_filter = ("kind",)


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("code", "name_de", "name_en", "team")
    filter_horizontal = ("required_skills",)


@admin.register(PresenceState)
class PresenceStateAdmin(admin.ModelAdmin):
    list_display = ("code", "name_de", "name_en", "is_routable", "is_selectable", "is_logged_in")
    list_editable = ("is_selectable",)


@admin.register(ChannelCapacity)
class ChannelCapacityAdmin(admin.ModelAdmin):
    list_display = (
        "channel",
        "units",
        "is_push",
        "offer_timeout_seconds",
        "sets_busy",
        "after_work_seconds",
    )


class RoutingRuleSkillInline(admin.TabularInline):
    model = RoutingRuleSkill
    extra = 1


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """The routing table: rows are tried in `order`; the first whose conditions hold wins."""

    list_display = (
        "order",
        "name",
        "is_active",
        "channel",
        "case_type",
        "service_type",
        "language",
        "customer_segment",
        "active_from",
        "active_until",
        "queue",
        "priority",
    )
    list_display_links = ("name",)
    list_editable = ("order", "is_active")
    list_filter = ("is_active", "channel", "language")
    inlines = [RoutingRuleSkillInline]


@admin.register(AgentStatus)
class AgentStatusAdmin(admin.ModelAdmin):
    """Capacity is editable; presence and occupancy change through the router only."""

    list_display = ("agent", "presence", "presence_since_at", "used_units", "capacity_units")
    list_filter = ("presence",)
    fields = ("agent", "presence", "presence_since_at", "used_units", "capacity_units")
    readonly_fields = ("agent", "presence", "presence_since_at", "used_units")

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        # The capacity only: presence and occupancy may have moved on since the form was read.
        obj.save(update_fields=["capacity_units"])
        agent_changed(obj.agent_id)


@admin.register(PresenceLog)
class PresenceLogAdmin(admin.ModelAdmin):
    list_display = ("agent", "presence", "started_at", "ended_at", "set_by")
    list_filter = ("presence",)
    date_hierarchy = "started_at"

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


class OfferInline(admin.TabularInline):
    model = Offer
    extra = 0
    can_delete = False
    readonly_fields = ("agent", "status", "offered_at", "expires_at", "answered_at", "is_affinity")


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    """Read-only: work items change through the router, which records every change."""

    list_display = ("pk", "channel", "queue", "status", "agent", "priority", "queued_at")
    list_filter = ("status", "channel", "queue")
    inlines = [OfferInline]

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False
