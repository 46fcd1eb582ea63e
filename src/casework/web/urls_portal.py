"""URLs of the customer portal (namespace "portal", under /portal/)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
