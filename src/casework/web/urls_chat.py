"""URLs of the chat: the widget's script and HTTP fallback, the agents' chat console."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
