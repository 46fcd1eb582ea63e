"""URLs: Campaigns, response links and retention responses on the desktop and for customers."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
