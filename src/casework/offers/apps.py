from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The event codes of offer decisions and model training (docs/next-best-offer.md). Stable:
# never reuse or rename one.
EVENT_TYPES = {
    "offer.accepted": _("offer accepted"),
    "offer.declined": _("offer declined"),
    "offer.propensity_trained": _("offer propensity model trained"),
}


class OffersConfig(AppConfig):
    name = "casework.offers"
    label = "offers"
    verbose_name = _("Offers")

    def ready(self) -> None:
        from casework.events import types

        # The registry accepts only codes it knows; these join it once, at start-up.
        for code, label in EVENT_TYPES.items():
            types.EVENT_TYPES.setdefault(code, label)
