"""`casework campaign select|schedule|stop|letters CODE`: a campaign's operator tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from casework.kernel.errors import DomainError
from casework.retention import campaigns
from casework.retention.models import Campaign


class Command(BaseCommand):
    help = (
        "Campaign operations: 'select' adds the customers the audience rule, their consent "
        "and the offer's rule admit; 'schedule' lets the worker send; 'stop' halts it; "
        "'letters' writes the next print run of a letter campaign as one PDF."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["select", "schedule", "stop", "letters"])
        parser.add_argument("code", help="the campaign's code")
        parser.add_argument("--output", "-o", help="letters: the PDF to write")
        parser.add_argument("--limit", type=int, help="letters: at most this many")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.select_related("offer").filter(code=options["code"]).first()
        if campaign is None:
            raise CommandError(_("no campaign “%(code)s”") % {"code": options["code"]})
        try:
            self._run(campaign, options)
        except DomainError as error:
            raise CommandError(error.message) from error

    def _run(self, campaign: Campaign, options: dict[str, Any]) -> None:
        action = options["action"]
        if action == "select":
            selection = campaigns.select_recipients(campaign)
            self.stdout.write(
                _("%(selected)d customers added (%(considered)d considered)")
                % {"selected": selection.selected, "considered": selection.considered}
            )
        elif action == "schedule":
            campaigns.schedule(campaign, actor=campaigns.ACTOR)
            self.stdout.write(_("scheduled: the worker sends from now on"))
        elif action == "stop":
            campaigns.stop(campaign, actor=campaigns.ACTOR)
            self.stdout.write(_("stopped"))
        else:
            pdf, count = campaigns.print_letters(campaign, limit=options["limit"])
            if not count:
                self.stdout.write(_("no letters left to print"))
                return
            target = Path(options["output"] or f"{campaign.code}-letters.pdf")
            target.write_bytes(pdf)
            self.stdout.write(
                _("%(count)d letters written to %(path)s") % {"count": count, "path": target}
            )
