"""The ASGI application: Django's HTTP views and the WebSockets of the chat and the desk."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.config.settings.demo")
# Django first: the WebSocket routes import models.
http_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from casework.chat.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": http_application,
        # The visitor's socket is open to every site that embeds the widget (it acts only
        # on the chat token it holds); the agent's socket needs the desk's session.
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
