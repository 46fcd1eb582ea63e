"""`casework offers train`: learn the propensities from every offer decision so far.
`casework offers rank CUSTOMER_NUMBER`: print the customer's next best offers with score,
propensity and reasons (what the case screen shows). docs/next-best-offer.md explains both.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from casework.customers.models import Customer
from casework.kernel.actors import Actor
from casework.offers.ranking import next_best_offers
from casework.offers.services import train_propensity_model

ACTOR = Actor.system("offers")


class Command(BaseCommand):
    help = (
        "Next-best-offer operations. 'train' fits the propensity model on all decisions; "
        "'rank CUSTOMER_NUMBER' prints a customer's ranked offers and actions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        train = actions.add_parser("train", help="fit the propensity model on all decisions")
        train.add_argument("--by", default="", help="who trained it (default: system:offers)")
        rank = actions.add_parser("rank", help="print a customer's next best offers")
        rank.add_argument("customer", help="the customer number")
        rank.add_argument("--limit", type=int, default=5)
        rank.add_argument("--language", choices=["de", "en"], default="de")

    def handle(self, *args: object, **options: Any) -> None:
        if options["action"] == "train":
            self._train(options)
        else:
            self._rank(options)

    def _train(self, options: dict[str, Any]) -> None:
        model = train_propensity_model(actor=ACTOR, trained_by=options["by"])
        offers = model.parameters["offers"]
        self.stdout.write(
            f"propensity model #{model.pk}: {model.decisions} decisions; "
            f"{len(offers)} offers with a model of their own"
            + (f" ({', '.join(sorted(offers))})" if offers else "")
            + "; the others rank by their smoothed acceptance rate"
        )

    def _rank(self, options: dict[str, Any]) -> None:
        customer = Customer.objects.filter(customer_number=options["customer"]).first()
        if customer is None:
            raise CommandError(f"no customer with the number {options['customer']}")
        with translation.override(options["language"]):
            suggestions = next_best_offers(customer, limit=options["limit"])
        if not suggestions:
            self.stdout.write("no eligible offers")
        for rank, suggestion in enumerate(suggestions, start=1):
            self.stdout.write(
                f"{rank}. {suggestion.offer.code:<24} score {suggestion.score:>9.2f}  "
                f"propensity {suggestion.propensity:.3f} ({suggestion.propensity_source})"
                + (f"  {suggestion.reason_text}" if suggestion.reasons else "")
            )
