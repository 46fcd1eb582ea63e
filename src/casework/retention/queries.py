"""What the desk shows about campaigns and responses."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from casework.retention.models import Campaign, Response, ResponseOutcome


@dataclass(frozen=True)
class CampaignFigures:
    campaign: Campaign
    recipients: int
    sent: int
    opened: int
    clicked: int
    responded: int
    ordered: int
    declined: int
    exceptions: int


def campaign_figures() -> list[CampaignFigures]:
    campaigns = Campaign.objects.select_related("offer").annotate(
        n_recipients=Count("recipients"),
        n_sent=Count("recipients", filter=Q(recipients__sent_at__isnull=False)),
        n_opened=Count("recipients", filter=Q(recipients__opened_at__isnull=False)),
        n_clicked=Count("recipients", filter=Q(recipients__clicked_at__isnull=False)),
        n_responded=Count("recipients", filter=Q(recipients__responded_at__isnull=False)),
    )
    outcomes: dict[tuple[int, str], int] = {}
    for campaign_id, outcome, count in (
        Response.objects.filter(recipient__isnull=False)
        .values_list("recipient__campaign_id", "outcome")
        .annotate(n=Count("pk"))
    ):
        outcomes[(campaign_id, outcome)] = count
    return [
        CampaignFigures(
            campaign=campaign,
            recipients=campaign.n_recipients,
            sent=campaign.n_sent,
            opened=campaign.n_opened,
            clicked=campaign.n_clicked,
            responded=campaign.n_responded,
            ordered=outcomes.get((campaign.pk, ResponseOutcome.ORDERED), 0),
            declined=outcomes.get((campaign.pk, ResponseOutcome.DECLINED), 0),
            exceptions=outcomes.get((campaign.pk, ResponseOutcome.EXCEPTION), 0),
        )
        for campaign in campaigns
    ]
