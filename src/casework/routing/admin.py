from django.contrib import admin

from casework.routing.models import Agent, AgentSkill, Queue, Skill, Team


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 1


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("user", "role")
    list_filter = ("role", "teams")
    filter_horizontal = ("teams",)
    inlines = [AgentSkillInline]


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
