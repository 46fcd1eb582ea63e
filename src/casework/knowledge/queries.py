"""Reply templates ready to insert for one case: filled for its customer and the agent."""

from __future__ import annotations

from dataclasses import dataclass

from casework.cases.models import Case
from casework.kernel.actors import Actor
from casework.knowledge.models import ReplyTemplate
from casework.knowledge.templating import fill
from casework.routing.models import Agent


@dataclass(frozen=True)
class FilledTemplate:
    code: str
    name: str
    language: str
    text: str


def list_filled_templates(case: Case, actor: Actor) -> list[FilledTemplate]:
    """Active templates in the customer's language first, then the other language."""
    customer = case.customer
    language = customer.language if customer else "de"
    agent = Agent.objects.select_related("user").filter(pk=actor.id).first()
    values = {
        "customer.salutation": customer.salutation if customer else "",
        "customer.first_name": customer.first_name if customer else "",
        "customer.last_name": customer.last_name if customer else "",
        "customer.name": customer.display_name if customer else "",
        "customer.number": customer.customer_number if customer else "",
        "case.reference": case.reference,
        "case.subject": case.subject,
        "agent.name": agent.display_name if agent else "",
        "agent.first_name": agent.user.first_name if agent else "",
    }
    templates = sorted(
        ReplyTemplate.objects.filter(is_active=True),
        key=lambda t: (t.language != language, t.name.lower()),
    )
    return [FilledTemplate(t.code, t.name, t.language, fill(t.body, values)) for t in templates]
