"""URLs: Next-best-offer on the agent desktop."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
