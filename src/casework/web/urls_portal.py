"""URLs of the customer portal (namespace "portal", under /portal/). docs/portal.md lists
them with what each does."""

from django.urls import URLPattern, path

from casework.web.views import portal

urlpatterns: list[URLPattern] = [
    path("", portal.home, name="home"),
    path("sign-in/", portal.sign_in, name="sign_in"),
    path("sign-in/password/", portal.password_sign_in, name="password_sign_in"),
    path("sign-in/sent/", portal.link_sent, name="link_sent"),
    path("sign-in/<str:token>/", portal.link, name="link"),
    path("sign-out/", portal.sign_out, name="sign_out"),
    path("language/", portal.language, name="language"),
    path("cases/", portal.cases, name="cases"),
    path("cases/<int:case_id>/", portal.case, name="case"),
    path("cases/<int:case_id>/reply/", portal.reply, name="reply"),
    path("documents/<int:attachment_id>/", portal.attachment, name="attachment"),
    path("requests/", portal.requests, name="requests"),
    path("requests/<slug:code>/", portal.request_form, name="request_form"),
    path("offers/", portal.offers, name="offers"),
    path("offers/<slug:code>/", portal.offer, name="offer"),
    path("callback/", portal.callback, name="callback"),
    path("callback/<int:callback_id>/cancel/", portal.callback_cancel, name="callback_cancel"),
    path("settings/", portal.settings_page, name="settings"),
    path("settings/password/", portal.password, name="password"),
]
