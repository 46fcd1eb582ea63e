"""WebSocket URLs (the ASGI application's, beside Django's HTTP URLs)."""

from django.urls import path

from casework.chat import consumers

websocket_urlpatterns = [
    path("chat/ws/visitor/", consumers.VisitorConsumer.as_asgi()),
    path("chat/ws/agent/", consumers.AgentConsumer.as_asgi()),
]
