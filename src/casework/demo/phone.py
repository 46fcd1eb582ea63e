"""The demo's telephone system: a CTI connection in Casework's format (played by
`casework phone …`), the hotlines of the mobile operator and the collecting society, and a
line (extension) for every agent."""

from __future__ import annotations

from casework.channels.phone.models import AgentLine, ConnectionKind, CtiConnection, Hotline
from casework.kernel import secrets
from casework.routing.models import Agent, Queue

CONNECTION = "demo-pbx"
# A demo secret, printed by `casework demo`; a real installation sets its own in the admin.
DEMO_SECRET = "demo-cti-secret"
SERVICE_LINE = "+498001234567"
MEMBER_LINE = "+498007654321"
EXTENSIONS = {
    "anna": "201",
    "ben": "202",
    "carla": "203",
    "david": "204",
    "maria": "205",
    "tom": "206",
    "sabine": "207",
}


def load_phone() -> None:
    """Idempotent: what exists is left as it is (changes made in the admin survive)."""
    connection, _created = CtiConnection.objects.get_or_create(
        code=CONNECTION,
        defaults={
            "name": "Demo-Telefonanlage",
            "kind": ConnectionKind.GENERIC,
            "secret": secrets.encrypt(DEMO_SECRET),
            "default_queue": Queue.objects.get(code="service"),
            "language": "de",
        },
    )
    for number, name, queue in (
        (SERVICE_LINE, "Kundenservice Mobilfunk", "service"),
        (MEMBER_LINE, "Mitgliederservice", "cs-advice"),
    ):
        Hotline.objects.get_or_create(
            connection=connection,
            number=number,
            defaults={
                "name": name,
                "language": "de",
                "queue": Queue.objects.get(code=queue),
            },
        )
    for agent in Agent.objects.filter(user__username__in=EXTENSIONS).select_related("user"):
        AgentLine.objects.get_or_create(
            agent=agent, defaults={"extension": EXTENSIONS[agent.user.username]}
        )
