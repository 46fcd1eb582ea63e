from django.contrib import admin
from django.urls import include, path

from casework.api.routes import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("portal/", include(("casework.web.urls_portal", "portal"))),
    path("chat/", include(("casework.web.urls_chat", "chat"))),
    path("phone/", include(("casework.web.urls_phone", "phone"))),
    path("", include("casework.web.urls")),
]
