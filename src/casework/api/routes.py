"""The REST API under /api/v1: OpenAPI schema at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

from ninja import NinjaAPI

from casework.api import analytics, cases, customers, webhooks
from casework.api.auth import BearerToken
from casework.api.errors import install_error_handlers

api = NinjaAPI(
    title="Casework API",
    version="1",
    description="Customers, their 360° view, cases, interactions, intake, webhooks and "
    "KPIs. "
    "Authenticate with `Authorization: Bearer <token>` (`casework token create USER`).",
    auth=BearerToken(),
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("", customers.router)
api.add_router("", cases.router)
api.add_router("", webhooks.router)
api.add_router("", analytics.router)
api.add_router("", "casework.api.partners.router")
api.add_router("", "casework.api.offers.router")
api.add_router("", "casework.api.retention.router")
api.add_router("", "casework.api.cti.router")
