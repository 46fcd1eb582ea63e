from django.contrib import admin

from casework.intake.models import ChannelDefault


@admin.register(ChannelDefault)
class ChannelDefaultAdmin(admin.ModelAdmin):
    list_display = ("channel", "case_type")
