"""URLs of the chat (namespace "chat", under /chat/): the widget's HTTP fallback, the
widget's demonstration page, the agents' chat console. The WebSockets are in
`casework.chat.routing`."""

from django.urls import URLPattern, path

from casework.web.views import chat

urlpatterns: list[URLPattern] = [
    path("api/hello", chat.api_hello, name="api_hello"),
    path("api/messages", chat.api_messages, name="api_messages"),
    path("api/upload", chat.api_upload, name="api_upload"),
    path("api/identify", chat.api_identify, name="api_identify"),
    path("api/leave", chat.api_leave, name="api_leave"),
    path("try/", chat.widget_demo, name="widget_demo"),
    path("console/", chat.console, name="console"),
    path("console/sidebar/", chat.console_sidebar, name="console_sidebar"),
    path("console/presence/", chat.presence, name="presence"),
    path("console/offers/<int:item_id>/accept/", chat.accept, name="accept"),
    path("console/offers/<int:item_id>/decline/", chat.decline, name="decline"),
    path("console/<int:conversation_id>/send/", chat.send, name="send"),
    path("console/<int:conversation_id>/transfer/", chat.transfer, name="transfer"),
    path("console/<int:conversation_id>/link/", chat.link, name="link"),
    path("console/<int:conversation_id>/end/", chat.end, name="end"),
]
