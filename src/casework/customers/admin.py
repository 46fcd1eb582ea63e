"""Reference data only: customers themselves are changed through the desktop and the API,
whose services record every change in the event log."""

from django.contrib import admin

from casework.customers.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "name_de", "name_en", "monthly_fee", "is_active")
    list_filter = ("kind", "is_active")
