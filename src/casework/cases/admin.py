from django.contrib import admin

from casework.cases.models import CaseType, ResolutionCode


@admin.register(CaseType)
class CaseTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_de", "name_en", "service_type", "default_queue", "is_active")
    list_filter = ("service_type", "is_active")


@admin.register(ResolutionCode)
class ResolutionCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_de", "name_en", "is_active")
