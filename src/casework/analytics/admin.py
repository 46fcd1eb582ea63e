from django.contrib import admin

from casework.analytics.models import ServiceLevelTarget


@admin.register(ServiceLevelTarget)
class ServiceLevelTargetAdmin(admin.ModelAdmin):
    list_display = ("queue", "target_share", "answer_within_seconds")
    list_select_related = ("queue",)
