"""URLs: campaigns' response links for customers, and retention on the desk."""

from django.urls import path

from casework.web.views import retention

urlpatterns = [
    path("r/<str:code>", retention.response_page, name="response"),
    path("r/<str:code>/o.gif", retention.response_opened, name="response_opened"),
    path("r/<str:code>/unsubscribe", retention.unsubscribe, name="unsubscribe"),
    path(
        "customers/<int:customer_id>/retention-response/",
        retention.phone_response,
        name="phone_response",
    ),
    path("retention/scans/", retention.scan_upload, name="retention_scans"),
    path(
        "attachments/<int:attachment_id>/as-response-card/",
        retention.attachment_as_scan,
        name="attachment_as_scan",
    ),
    path("retention/campaigns/", retention.campaign_list, name="campaigns"),
    path(
        "retention/campaigns/<int:campaign_id>/letters/",
        retention.campaign_letters,
        name="campaign_letters",
    ),
]
