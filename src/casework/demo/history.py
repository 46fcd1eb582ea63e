"""A service history for the demo: the last weeks of contacts, cases, calls and chats, as if
the installation had been running then, so the supervisor's figures have something to show.

Everything goes through the product's own services with the clock pinned to the moment it
happens (`kernel.clock.running_at`): e-mails, portal messages and letters arrive through the
intake pipeline in batches (`ingest_batch`), calls and chats are queued, offered, accepted,
completed or abandoned through the router, agents log in and out, take cases, answer,
forward, resolve; the case engine runs the processes of the case types that have one, and
their service levels are met or breached by the engine's own timers. Timers and other jobs
run when they fall due, as the worker would have run them. Nothing is written into the
event log directly: the figures come from what the services recorded.

The history is a discrete-event simulation in time order: the day's arrivals and the
agents' shifts are planned each morning, and every step plans the next ones (the agent's
answer, the customer's return a day later on another channel). It is deterministic (fixed
random seed) and loads once: the `DemoHistory` row marks it, and it is written in the same
transaction as the history itself, which commits whole or not at all.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time as monotonic_time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Q

from casework.analytics.aggregation import catch_up
from casework.cases import services as cases
from casework.cases.models import (
    OPEN_STATUSES,
    OPEN_TASK_STATUSES,
    Case,
    CaseStatus,
    ProcessStatus,
    ResolutionCode,
    Task,
    TaskKind,
)
from casework.cases.process import business_calendar, complete_task
from casework.cases.regrouping import forward_case
from casework.channels.email.outbound import reply_by_email
from casework.customers.models import Customer, CustomerIdentifier
from casework.demo.loading import GENERATED_PREFIX
from casework.demo.models import DemoHistory
from casework.events.services import recording_transaction
from casework.intake.messages import InboundMessage, SenderIdentifier
from casework.intake.services import IntakeResult, ingest, ingest_batch
from casework.interactions.services import NewInteraction, record_interaction
from casework.kernel import clock, jobs, sql
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError
from casework.kernel.models import Job, JobStatus
from casework.routing import router
from casework.routing.models import (
    Agent,
    AgentStatus,
    Offer,
    OfferStatus,
    Queue,
    WorkItem,
    WorkItemStatus,
)
from casework.routing.presence import set_presence
from casework.routing.queries import actor_for_agent

SEED = 20_260_601
CONTACTS_PER_DAY = 45.0
CUSTOMERS_FOR_FULL_VOLUME = 2000
LIVE_WORK = (WorkItemStatus.QUEUED, WorkItemStatus.OFFERED, WorkItemStatus.ACCEPTED)
TELEPHONY = Actor.system("telephony")
SELF_SERVICE = Actor.system("self-service")
TELECOM, SOCIETY = "telecom", "society"
ROUTED = ("phone", "chat")

# -- what customers write about ------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    business: str
    case_type: str
    subject_de: str
    text_de: str
    subject_en: str
    text_en: str
    # Done by the customer in the portal: the system closes it (no person involved).
    self_service: bool = False


def _t(business: str, case_type: str, de: tuple[str, str], en: tuple[str, str], **kw: Any):  # noqa: ANN202
    return Topic(business, case_type, de[0], de[1], en[0], en[1], **kw)


TOPICS = [
    _t(TELECOM, "general-request",
       ("Frage zur Vertragslaufzeit", "Guten Tag, wann endet meine Mindestlaufzeit und welche "
        "Kündigungsfrist gilt für meinen Tarif?"),
       ("Question about my contract term", "Hello, when does my minimum term end and what "
        "notice period applies to my tariff?")),
    _t(TELECOM, "general-request",
       ("Neue Anschrift", "Ich bin umgezogen, bitte tragen Sie meine neue Adresse ein."),
       ("New address", "I have moved, please enter my new address."), self_service=True),
    _t(TELECOM, "general-request",
       ("Bankverbindung ändern", "Bitte aktualisieren Sie meine Bankverbindung für die "
        "Lastschrift."),
       ("Change of bank details", "Please update my bank details for the direct debit."),
       self_service=True),
    _t(TELECOM, "tariff-advice",
       ("Welcher Tarif passt?", "Ich brauche mehr Datenvolumen. Lohnt sich ein Wechsel in "
        "einen größeren Tarif für mich?"),
       ("Which tariff fits?", "I need more data. Is it worth switching to a bigger tariff?")),
    _t(TELECOM, "tariff-advice",
       ("Option fürs Ausland", "Ich fahre im Sommer nach Kanada. Welche Option brauche ich "
        "zum Telefonieren und Surfen?"),
       ("Option for travelling", "I am travelling to Canada this summer. Which option do I "
        "need for calls and data?")),
    _t(TELECOM, "billing-question",
       ("Frage zur Rechnung", "Guten Tag, auf meiner letzten Rechnung steht eine Position, "
        "die ich nicht verstehe. Können Sie mir das erklären?"),
       ("Question about my bill", "Hello, there is an item on my last bill that I do not "
        "understand. Could you explain it?")),
    _t(TELECOM, "billing-question",
       ("Doppelte Abbuchung", "Der Rechnungsbetrag wurde diesen Monat zweimal abgebucht. "
        "Bitte prüfen Sie das."),
       ("Charged twice", "The amount of my bill was debited twice this month. Please check.")),
    _t(TELECOM, "technical-fault",
       ("Kein Netz", "Seit gestern habe ich zu Hause kein Netz mehr, Anrufe brechen ab."),
       ("No signal", "Since yesterday I have had no signal at home, calls drop.")),
    _t(TELECOM, "technical-fault",
       ("Internet langsam", "Das mobile Internet ist seit Tagen extrem langsam."),
       ("Slow internet", "Mobile data has been extremely slow for days.")),
    _t(TELECOM, "complaint",
       ("Beschwerde", "Ich bin sehr unzufrieden, seit Wochen warte ich auf eine Antwort zu "
        "meinem Vertrag. Das ist inakzeptabel."),
       ("Complaint", "I am very unhappy, I have been waiting for weeks for an answer about my "
        "contract. This is unacceptable.")),
    _t(TELECOM, "complaint-goodwill",
       ("Ausfall und Gutschrift", "Mein Anschluss war drei Tage gestört. Ich erwarte eine "
        "Gutschrift."),
       ("Outage and credit", "My line was down for three days. I expect a credit.")),
    _t(TELECOM, "retention-offer",
       ("Kündigung", "Hiermit kündige ich meinen Vertrag zum nächstmöglichen Zeitpunkt. "
        "Ein anderer Anbieter ist günstiger."),
       ("Cancellation", "I hereby cancel my contract at the earliest possible date. Another "
        "provider is cheaper.")),
    _t(SOCIETY, "cs-advice",
       ("Frage zur Ausschüttung", "Wie lange dauert es normalerweise bis zur Ausschüttung "
        "für das letzte Quartal?"),
       ("Question about the royalty payment", "How long does the royalty payment for the "
        "last quarter usually take?")),
    _t(SOCIETY, "cs-advice",
       ("Werk anmelden", "Ich hätte eine Frage zur Anmeldung eines neuen Werks."),
       ("Registering a work", "I have a question about registering a new work.")),
    _t(SOCIETY, "cs-support",
       ("Portal-Anmeldung", "Ich kann mich nicht im Mitgliederportal anmelden, bitte helfen "
        "Sie mir."),
       ("Portal login", "I cannot log in to the member portal, please help me.")),
    _t(SOCIETY, "cs-support",
       ("Bankverbindung für die Ausschüttung", "Bitte ändern Sie meine Bankverbindung für "
        "die Ausschüttung."),
       ("Bank details for royalties", "Please change my bank details for royalty payments."),
       self_service=True),
    _t(SOCIETY, "cs-complaint",
       ("Abrechnung unvollständig", "In meiner Abrechnung fehlen mehrere Aufführungen. Das "
        "ist schon das dritte Mal."),
       ("Statement incomplete", "Several performances are missing from my statement. This "
        "is the third time.")),
    _t(SOCIETY, "collecting-society-request",
       ("Anfrage zu meiner Mitgliedschaft", "Guten Tag, ich habe eine Frage zu meiner "
        "Mitgliedschaft und den Beiträgen."),
       ("Question about my membership", "Hello, I have a question about my membership and "
        "the fees.")),
    _t(SOCIETY, "collecting-society-request",
       ("Werkanmeldung fehlerhaft", "Die Anmeldung meines Werks ist fehlerhaft, bitte "
        "korrigieren Sie die Angaben."),
       ("Work registration wrong", "The registration of my work is wrong, please correct "
        "it.")),
]  # fmt: skip

# Case types by share of each business's contacts; processes only where a channel can
# start them (not by phone or chat: those become a plain case type of the same matter).
CASE_TYPE_WEIGHTS = {
    TELECOM: {
        "general-request": 22, "tariff-advice": 20, "billing-question": 22,
        "technical-fault": 16, "complaint": 6, "complaint-goodwill": 4, "retention-offer": 10,
    },
    SOCIETY: {"cs-advice": 30, "cs-support": 25, "cs-complaint": 10,
              "collecting-society-request": 35},
}  # fmt: skip
SPOKEN_INSTEAD = {"complaint-goodwill": "complaint", "collecting-society-request": "cs-advice"}

CHANNEL_WEIGHTS = {"email": 30, "phone": 32, "chat": 15, "portal": 13, "letter": 10}
DAY_FACTORS = (1.2, 1.05, 1.0, 0.95, 0.85, 0.35, 0.0)  # Monday … Sunday

# Contacts per hour of the day (Berlin time): a morning peak 9–11, another at 14–15.
WEEKDAY_HOURS = {7: 0.25, 8: 0.9, 9: 1.5, 10: 1.7, 11: 1.4, 12: 0.9, 13: 1.0, 14: 1.35,
                 15: 1.25, 16: 0.9, 17: 0.6, 18: 0.35, 19: 0.25, 20: 0.15}  # fmt: skip
SATURDAY_HOURS = {8: 0.4, 9: 1.0, 10: 1.2, 11: 1.1, 12: 0.8, 13: 0.6, 14: 0.4, 15: 0.3,
                  16: 0.2, 17: 0.2, 18: 0.15}  # fmt: skip

# When calls and chats are answered (start, end hour; local time): weekdays, Saturdays.
HOTLINES = {TELECOM: ((8, 18), (9, 14)), SOCIETY: ((8, 16), None)}
TECHNICAL_HOTLINE_END = 17

# The agents' shifts (local time) and who works on Saturdays.
SHIFTS = {
    "anna": ((8, 0), (16, 30)), "ben": ((8, 0), (16, 30)), "carla": ((9, 30), (18, 0)),
    "david": ((8, 30), (17, 0)), "maria": ((8, 0), (16, 15)), "tom": ((9, 0), (17, 30)),
    "sabine": ((8, 30), (17, 0)),
}  # fmt: skip
SATURDAY_SHIFTS = {"ben": ((9, 0), (14, 15)), "carla": ((9, 0), (14, 15))}
DEFAULT_SHIFT = ((8, 30), (17, 0))

# Calls and chats: the hotline's queue, the skills an agent needs, the skills preferred
# (relaxing while the caller waits, so a specialist first and any colleague later).
HOTLINE_ROUTES = {
    "general-request": ("service", {"tier-1": 5}, {"topic-tariffs": 8}),
    "tariff-advice": ("service", {"tier-1": 5}, {"topic-tariffs": 8}),
    "complaint": ("service", {"tier-1": 5}, {"topic-tariffs": 8}),
    "billing-question": ("billing", {"tier-1": 5}, {"topic-billing": 8}),
    "retention-offer": ("retention", {"tier-1": 5}, {"topic-retention": 8}),
    "technical-fault": ("technical", {"product-mobile": 5}, {"topic-technical": 8}),
}
SOCIETY_ROUTE = ({"topic-copyright": 5}, {})

# Where a case goes when the first agent finds it belongs elsewhere.
FORWARDS = {
    "general-request": ("billing", "technical"),
    "tariff-advice": ("retention",),
    "complaint": ("billing",),
    "cs-advice": ("cs-complaints",),
    "cs-support": ("cs-advice",),
}
RESOLUTIONS = {
    "general-request": ("answered", "solved", "no-action"),
    "tariff-advice": ("answered", "contract-changed", "contract-changed"),
    "billing-question": ("solved", "answered", "goodwill"),
    "technical-fault": ("solved", "solved", "answered"),
    "complaint": ("goodwill", "solved", "answered"),
    "retention-offer": ("retained", "retained", "cancelled-contract"),
}
DEFAULT_RESOLUTIONS = ("answered", "solved")
# The retention outcomes the figures count (analytics: CASEWORK_RETENTION_OUTCOMES).
RETENTION_CODES = [
    ("retained", "Kunde gehalten", "Customer retained"),
    ("cancelled-contract", "Vertrag gekündigt", "Contract cancelled"),
]

MAILBOXES = {TELECOM: "kundenservice@demo.casework.test", SOCIETY: "service@demo.casework.test"}

# The reference journeys' people call and write too, now and then: (customer number, days
# ago, hour, channel, case type). Their matters are settled at once, so the demo's
# journeys (Helmut's open case with anna, …) stay as the README tells them.
NAMED_CONTACTS = [
    ("K10000001", 38, 10, "phone", "billing-question"),
    ("K10000001", 17, 9, "letter", "general-request"),
    ("K10000002", 33, 17, "chat", "tariff-advice"),
    ("K10000002", 12, 8, "email", "billing-question"),
    ("K10000003", 26, 9, "email", "cs-advice"),
    ("K10000003", 9, 11, "portal", "cs-support"),
]


# -- the simulation ------------------------------------------------------------------------

_NEXT_DUE_JOB = (
    f"SELECT {{columns}} FROM {Job._meta.db_table} t WHERE t.status = %s"
    " AND t.next_attempt_at <= %s ORDER BY t.next_attempt_at LIMIT 1"
)
_CASE = f"SELECT {{columns}} FROM {Case._meta.db_table} t WHERE t.id = %s"
_NEW_OFFERS = f"SELECT {{columns}} FROM {Offer._meta.db_table} t WHERE t.id > %s ORDER BY t.id"


@dataclass(frozen=True)
class Person:
    customer_id: int
    language: str
    email: str
    phone: str
    name: str
    is_named: bool = False


@dataclass
class Matter:
    """What the simulation remembers about a case it created."""

    case_id: int
    reference: str
    person: Person
    topic: Topic
    first_channel: str
    has_mail: bool = False
    answered: bool = False
    forwarded: bool = False
    waited: bool = False
    returns: int = 0


@dataclass
class Call:
    """A call or chat in the router: who, about what, and what happens once answered."""

    person: Person
    topic: Topic
    channel: str
    matter: Matter | None
    arrived_at: datetime
    handle_seconds: float
    retried: bool = False
    answered: bool = False


@dataclass
class Stats:
    contacts: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    abandoned: int = 0
    resolved: int = 0
    automated: int = 0
    forwarded: int = 0
    returns: int = 0


class Simulation:
    def __init__(
        self,
        *,
        first_day: date,
        last_day: date,
        contacts_per_day: float,
        seed: int,
        pinned: clock.PinnedTime,
    ) -> None:
        self.rnd = random.Random(seed)
        self.pinned = pinned
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self.calendar = business_calendar()
        self.first_day, self.last_day = first_day, last_day
        self.horizon = self.local(last_day + timedelta(days=1), 0)
        self.contacts_per_day = contacts_per_day
        self.heap: list[tuple[datetime, int, Callable[..., None], tuple[Any, ...]]] = []
        self.order = itertools.count()
        self.numbers = itertools.count(1)
        self.pending_messages: list[tuple[InboundMessage, Person, Topic, Matter | None]] = []
        self.flush_at: datetime | None = None
        self.calls: dict[int, Call] = {}
        self.matters: dict[int, Matter] = {}
        self.last_offer_id = Offer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        self.stats = Stats()
        self.agents = {
            agent.user.username: agent
            for agent in Agent.objects.select_related("user").prefetch_related("teams")
            if agent.user.is_active and not agent.user.is_superuser
        }
        self.actors = {name: actor_for_agent(agent) for name, agent in self.agents.items()}
        self.names = {agent.pk: name for name, agent in self.agents.items()}
        self.workers = self._workers_by_queue()
        self.people, self.named = self._people()

    # -- scheduling --

    def local(self, day: date, hour: int, minute: int = 0, second: float = 0) -> datetime:
        moment = datetime.combine(day, time(hour, minute), tzinfo=self.zone)
        return moment + timedelta(seconds=second)

    def at(self, moment: datetime, action: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self.heap, (moment, next(self.order), action, args))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 6 and not self.calendar.is_holiday(day)

    def run(self) -> None:
        day = self.first_day
        while day <= self.last_day:
            if self.is_working_day(day):
                self.at(self.local(day, 0, 5), self.plan_day, day)
            day += timedelta(days=1)
        while self.heap and self.heap[0][0] < self.horizon:
            moment = self.heap[0][0]
            if self.run_due_jobs(moment):
                continue  # the jobs may have planned steps before `moment`
            _moment, _order, action, args = heapq.heappop(self.heap)
            self.pinned.move_to(max(moment, self.pinned.at))
            action(*args)
        # Later steps belong to the days after the history: that work is still open.
        while self.run_due_jobs(self.horizon):
            pass

    def run_due_jobs(self, until: datetime) -> bool:
        """The worker's pass at the time the next job falls due, if that is not after
        `until`; returns whether there was one."""
        field = Job._meta.get_field("next_attempt_at")
        # Asked before every step of the history: a lean query.
        due = sql.select(
            Job, _NEXT_DUE_JOB, [JobStatus.QUEUED.value, field.get_db_prep_value(until, connection)]
        )
        if not due:
            return False
        self.pinned.move_to(max(due[0].next_attempt_at, self.pinned.at))
        jobs.run_due()
        self.watch_offers()
        return True

    # -- the day --

    def plan_day(self, day: date) -> None:
        saturday = day.weekday() == 5
        shifts = SATURDAY_SHIFTS if saturday else SHIFTS
        for name in sorted(self.agents):
            if saturday and name not in shifts:
                continue
            (start_h, start_m), (end_h, end_m) = shifts.get(name, DEFAULT_SHIFT)
            jitter = self.rnd.uniform(-240, 420)
            self.at(self.local(day, start_h, start_m, jitter), self.presence, name, "available")
            if not saturday:
                lunch = self.local(day, 12, 0, self.rnd.uniform(-1800, 5400))
                self.at(lunch, self.presence, name, "break")
                self.at(lunch + timedelta(minutes=self.rnd.uniform(30, 45)), self.presence, name,
                        "available")  # fmt: skip
            self.at(self.local(day, end_h, end_m, self.rnd.uniform(-120, 600)), self.presence,
                    name, "offline")  # fmt: skip
        expected = self.contacts_per_day * DAY_FACTORS[day.weekday()]
        count = max(0, round(self.rnd.gauss(expected, expected * 0.12)))
        for _number in range(count):
            self.plan_first_contact(day, saturday)
        for number, days_ago, hour, channel, case_type in NAMED_CONTACTS:
            if number in self.named and self.named_day(days_ago) == day:
                topic = next(t for t in TOPICS if t.case_type == case_type)
                moment = self.local(day, hour, 0, self.rnd.uniform(0, 2400))
                self.at(moment, self.contact, self.named[number], topic, channel, None)

    def named_day(self, days_ago: int) -> date | None:
        day = self.last_day + timedelta(days=1) - timedelta(days=days_ago)
        while not self.is_working_day(day) or day.weekday() == 5:
            day -= timedelta(days=1)
        return day if day >= self.first_day else None

    def plan_first_contact(self, day: date, saturday: bool) -> None:
        rnd = self.rnd
        business = TELECOM if rnd.random() < 0.75 else SOCIETY
        case_type = _weighted(rnd, CASE_TYPE_WEIGHTS[business])
        topic = rnd.choice([t for t in TOPICS if t.case_type == case_type])
        channel = _weighted(rnd, CHANNEL_WEIGHTS)
        if topic.self_service and rnd.random() < 0.6:
            channel = "portal"
        if channel in ROUTED and topic.case_type in SPOKEN_INSTEAD:
            spoken = SPOKEN_INSTEAD[topic.case_type]
            topic = rnd.choice([t for t in TOPICS if t.case_type == spoken])
        hours = SATURDAY_HOURS if saturday else WEEKDAY_HOURS
        if channel == "letter":
            hours = {8: 1.0, 9: 1.0}  # the morning post
        elif channel in ROUTED:
            opening = self.hotline(business, day, topic)
            if opening is None:
                channel = "email"
            else:
                hours = {h: w for h, w in hours.items() if opening[0] <= h < opening[1]}
        hour = _weighted(rnd, hours)
        moment = self.local(day, hour, 0, rnd.uniform(0, 3599))
        self.at(moment, self.contact, rnd.choice(self.people), topic, channel, None)

    def hotline(self, business: str, day: date, topic: Topic) -> tuple[int, int] | None:
        weekday, saturday = HOTLINES[business]
        opening = saturday if day.weekday() == 5 else weekday
        if opening and topic.case_type == "technical-fault":
            if day.weekday() == 5:
                return None
            opening = (opening[0], min(opening[1], TECHNICAL_HOTLINE_END))
        return opening

    def is_hotline_open(self, moment: datetime, topic: Topic) -> bool:
        local = clock.localtime(moment)
        opening = self.hotline(topic.business, local.date(), topic)
        if opening is None or not self.is_working_day(local.date()):
            return False
        return opening[0] <= local.hour + local.minute / 60 < opening[1] - 0.25

    def presence(self, name: str, state: str, tries: int = 0) -> None:
        agent = self.agents[name]
        status = AgentStatus.objects.filter(agent=agent).first()
        if state in ("break", "offline") and status is not None and status.used_units and tries < 8:
            # Still on a call or in a chat: finish it first.
            self.at(self.pinned.at + timedelta(seconds=90), self.presence, name, state, tries + 1)
            return
        if status is not None and status.presence_id == state:
            return
        set_presence(agent.pk, state, actor=self.actors[name])
        self.watch_offers()

    def back_at_desk(self, name: str) -> None:
        status = AgentStatus.objects.filter(agent=self.agents[name]).first()
        if status is not None and status.presence_id == "not_responding":
            self.presence(name, "available")

    # -- contacts --

    def contact(self, person: Person, topic: Topic, channel: str, matter: Matter | None) -> None:
        if channel in ROUTED:
            self.call(person, topic, channel, matter)
        else:
            self.write(person, topic, channel, matter)

    def text_of(self, person: Person, topic: Topic, matter: Matter | None) -> tuple[str, str]:
        english = person.language == "en"
        subject = topic.subject_en if english else topic.subject_de
        text = topic.text_en if english else topic.text_de
        if matter is not None:
            again = "Once more about" if english else "Nochmals zu"
            subject = f"{again} {matter.reference}: {subject}"
            text = (
                f"{'Regarding' if english else 'Betrifft'} {matter.reference}. "
                + ("I am getting in touch again: " if english else "Ich melde mich noch einmal: ")
                + text
            )
        greeting = "Kind regards" if english else "Mit freundlichen Grüßen"
        return subject, f"{text}\n\n{greeting}\n{person.name}"

    def write(self, person: Person, topic: Topic, channel: str, matter: Matter | None) -> None:
        """An e-mail, a portal message or a letter: collected for the next intake batch."""
        if channel == "email" and not person.email:
            channel = "portal"  # no address on record: the customer uses the portal
        number = next(self.numbers)
        subject, text = self.text_of(person, topic, matter)
        received = self.pinned.at
        sender: tuple[SenderIdentifier, ...] = ()
        payload: dict[str, Any] = {}
        customer_id: int | None = person.customer_id
        external_id = f"demo-history-{channel}-{number:06d}"
        if channel == "email":
            mailbox = MAILBOXES[topic.business]
            external_id = f"demo-history-{number:06d}@mail.example.com"
            sender = (SenderIdentifier("email", person.email),)
            customer_id = None  # the mailbox knows the address only
            payload = {
                "mailbox": mailbox,
                "message_id": external_id,
                "from": person.email,
                "to": [mailbox],
                "date": received.isoformat(),
            }
        message = InboundMessage(
            channel=channel,
            external_id=external_id,
            received_at=received,
            sender=sender,
            sender_name=person.name,
            subject=subject,
            text=text,
            payload=payload,
            customer_id=customer_id,
            case_id=matter.case_id if matter else None,
            case_type=None if matter else topic.case_type,
        )
        self.pending_messages.append((message, person, topic, matter))
        if self.flush_at is None:
            # Mail is fetched and forms are taken in every five minutes, all at once.
            minute = clock.localtime(received).minute
            wait = (5 - minute % 5) * 60 - clock.localtime(received).second
            self.flush_at = received + timedelta(seconds=wait)
            self.at(self.flush_at, self.flush)

    def flush(self) -> None:
        batch, self.pending_messages, self.flush_at = self.pending_messages, [], None
        results = ingest_batch([message for message, *_ in batch])
        for (message, person, topic, matter), result in zip(batch, results, strict=True):
            if isinstance(result, DomainError):
                continue
            self.contacted(result, message.channel, person, topic, matter)

    def contacted(
        self,
        result: IntakeResult,
        channel: str,
        person: Person,
        topic: Topic,
        matter: Matter | None,
        *,
        agent: str | None = None,
    ) -> Matter:
        self.stats.contacts[channel] += 1
        case = result.case
        if matter is None:
            matter = self.matters.get(case.pk)
        if matter is None:
            matter = Matter(case.pk, case.reference, person, topic, channel)
            self.matters[case.pk] = matter
        else:
            matter.returns += 1
            self.stats.returns += 1
        if channel == "email" and result.interaction.payload.get("mailbox"):
            matter.has_mail = True
        if agent is not None:
            return matter  # the agent on the call decides what follows
        if result.is_new_case:
            if channel == "portal" and topic.self_service and self.rnd.random() < 0.75:
                self.at(self.pinned.at + timedelta(seconds=self.rnd.uniform(5, 90)),
                        self.settle_by_itself, case.pk)  # fmt: skip
                return matter
            self.plan_work(matter, self.first_worker(case))
            self.plan_return(matter)
        elif case.status in OPEN_STATUSES and not _process_running(case):
            self.plan_work(matter, self.owner_or_worker(case), soon=True)
        return matter

    # -- calls and chats --

    def call(
        self, person: Person, topic: Topic, channel: str, matter: Matter | None
    ) -> Call | None:
        if not self.is_hotline_open(self.pinned.at, topic):
            self.write(person, topic, "email", matter)
            return None
        queue, required, desired = self.route_of(topic)
        language = "en" if person.language == "en" else "de"
        number = next(self.numbers)
        item = router.submit_work_item(
            router.NewWorkItem(
                channel=channel,
                external_id=f"demo-history-{channel}-{number:06d}",
                customer_id=person.customer_id,
                case_id=matter.case_id if matter else None,
                language=language,
                queue=queue,
                required_skills={**required, f"lang-{language}": 5},
                desired_skills=desired,
            ),
            actor=TELEPHONY,
        )
        if channel == "phone":
            seconds = _lognormal(self.rnd, median=330, sigma=0.5, low=120, high=900)
        else:
            seconds = _lognormal(self.rnd, median=420, sigma=0.45, low=150, high=900)
        call = self.calls[item.pk] = Call(person, topic, channel, matter, self.pinned.at, seconds)
        # How long the caller waits before hanging up (or leaves the chat).
        patience = _lognormal(self.rnd, median=110, sigma=0.9, low=8, high=900)
        self.at(self.pinned.at + timedelta(seconds=patience), self.hang_up, item.pk)
        self.watch_offers()
        return call

    def route_of(self, topic: Topic) -> tuple[str, dict[str, int], dict[str, int]]:
        if topic.business == SOCIETY:
            queue = cases.get_case_type(topic.case_type).default_queue.code
            return queue, dict(SOCIETY_ROUTE[0]), dict(SOCIETY_ROUTE[1])
        queue, required, desired = HOTLINE_ROUTES[
            SPOKEN_INSTEAD.get(topic.case_type, topic.case_type)
        ]
        return queue, dict(required), dict(desired)

    def watch_offers(self) -> None:
        """New offers ring at the agent's desk: most are taken after a few seconds, now and
        then one rings out (the agent is away for a moment)."""
        for offer in sql.select(Offer, _NEW_OFFERS, [self.last_offer_id]):
            self.last_offer_id = offer_id = offer.pk
            item_id, offered_at = offer.item_id, offer.offered_at
            if offer.status != OfferStatus.PENDING or item_id not in self.calls:
                continue
            name = self.names[offer.agent_id]
            if self.rnd.random() < 0.02:
                # Not at the desk: the offer rings out; back a few minutes later.
                back = offered_at + timedelta(seconds=self.rnd.uniform(90, 300))
                self.at(back, self.back_at_desk, name)
                continue
            ring = self.rnd.uniform(2, 10) if self.calls[item_id].channel == "phone" else 0
            ring += self.rnd.uniform(1, 6)
            self.at(offered_at + timedelta(seconds=ring), self.answer, item_id, offer_id, name)

    def answer(self, item_id: int, offer_id: int, name: str) -> None:
        if not Offer.objects.filter(pk=offer_id, status=OfferStatus.PENDING).exists():
            return  # the caller hung up meanwhile
        call = self.calls[item_id]
        try:
            router.accept_offer(item_id, actor=self.actors[name])
        except DomainError:
            self.watch_offers()
            return
        call.answered = True
        self.stats.answered += 1
        number = next(self.numbers)
        subject, text = self.text_of(call.person, call.topic, call.matter)
        label = "Anruf" if call.channel == "phone" else "Chat"
        result = ingest(
            InboundMessage(
                channel=call.channel,
                external_id=f"demo-history-{call.channel}-{number:06d}",
                received_at=call.arrived_at,
                sender=(SenderIdentifier("phone", call.person.phone),)
                if call.channel == "phone" and call.person.phone
                else (),
                sender_name=call.person.name,
                subject=f"{label}: {subject}",
                text=text,
                payload={"work_item_id": item_id},
                customer_id=call.person.customer_id,
                case_id=call.matter.case_id if call.matter else None,
                case_type=None if call.matter else call.topic.case_type,
            )
        )
        call.matter = self.contacted(
            result, call.channel, call.person, call.topic, call.matter, agent=name
        )
        case = result.case
        if case.owner_id is None and not _process_running(case):
            cases.assign_case(case, self.agents[name], actor=self.actors[name])
        self.at(self.pinned.at + timedelta(seconds=call.handle_seconds), self.end_call, item_id,
                name)  # fmt: skip

    def end_call(self, item_id: int, name: str) -> None:
        call = self.calls.pop(item_id)
        router.complete_work_item(item_id, actor=self.actors[name])
        self.watch_offers()
        matter = call.matter
        assert matter is not None
        case = _case(matter.case_id)
        if case.status not in OPEN_STATUSES or _process_running(case):
            return
        matter.answered = True
        settle = 0.75 if matter.returns else 0.58
        if call.person.is_named or self.rnd.random() < settle:
            self.resolve(case, matter, name)
        elif not self.maybe_forward(case, matter, name):
            self.plan_work(matter, name)
        if not matter.returns:
            self.plan_return(matter)

    def hang_up(self, item_id: int) -> None:
        call = self.calls.get(item_id)
        if call is None or call.answered:
            return
        item = WorkItem.objects.filter(pk=item_id).first()
        if item is None or item.status not in (WorkItemStatus.QUEUED, WorkItemStatus.OFFERED):
            return
        router.withdraw_work_item(item_id, actor=TELEPHONY, reason="caller hung up")
        self.calls.pop(item_id)
        self.stats.abandoned += 1
        self.watch_offers()
        if call.retried or call.person.is_named:
            return
        chance = self.rnd.random()
        if chance < 0.5:  # tries again a little later
            later = self.pinned.at + timedelta(minutes=self.rnd.uniform(5, 60))
            self.at(later, self.retry, call)
        elif chance < 0.7:  # writes instead
            later = self.pinned.at + timedelta(minutes=self.rnd.uniform(10, 120))
            self.at(later, self.write, call.person, call.topic, "email", call.matter)

    def retry(self, call: Call) -> None:
        again = self.call(call.person, call.topic, call.channel, call.matter)
        if again is not None:
            again.retried = True

    # -- work on cases --

    def first_worker(self, case: Case) -> str:
        names = self.workers.get(case.queue.code) or sorted(
            n for n, a in self.agents.items() if a.role == "supervisor"
        )
        return self.rnd.choice(names)

    def owner_or_worker(self, case: Case) -> str:
        return self.names.get(case.owner_id or 0) or self.first_worker(case)

    def plan_work(self, matter: Matter, name: str, *, soon: bool = False) -> None:
        """The agent takes the case up later: within the hour, later that day, the next
        working day, now and then after a few days, rarely after a week."""
        rnd = self.rnd
        chance = rnd.random()
        if soon or chance < 0.35:
            delay = rnd.uniform(10, 90) * 60
        elif chance < 0.72:
            delay = rnd.uniform(2, 6) * 3600
        elif chance < 0.95:
            delay = rnd.uniform(18, 30) * 3600
        elif chance < 0.985:
            delay = rnd.uniform(50, 100) * 3600
        else:  # it got lost in the backlog for a week or so
            delay = rnd.uniform(140, 260) * 3600
        moment = self.on_shift(name, self.pinned.at + timedelta(seconds=delay))
        self.at(moment, self.work, matter.case_id, name)

    def on_shift(self, name: str, moment: datetime) -> datetime:
        """`moment` if the agent is at work then, else a while after their next shift
        starts."""
        local = clock.localtime(moment)
        day = local.date()
        for _day in range(14):
            saturday = day.weekday() == 5
            shifts = SATURDAY_SHIFTS if saturday else SHIFTS
            if self.is_working_day(day) and (name in shifts or not saturday):
                (start_h, start_m), (end_h, end_m) = shifts.get(name, DEFAULT_SHIFT)
                start = self.local(day, start_h, start_m, 600)
                end = self.local(day, end_h, end_m, -900)
                if moment <= start:
                    return start + timedelta(seconds=self.rnd.uniform(0, 5400))
                if moment < end:
                    return moment
            day += timedelta(days=1)
            moment = self.local(day, 0)
        return moment

    def work(self, case_id: int, name: str) -> None:
        case = _case(case_id)
        matter = self.matters[case_id]
        if case.status not in OPEN_STATUSES:
            return
        agent, actor = self.agents[name], self.actors[name]
        if case.process_key and case.process_status != ProcessStatus.COMPLETED:
            self.work_process(case, matter, name)
            return
        if case.owner_id != agent.pk:
            case = cases.assign_case(case, agent, actor=actor)
        self.respond(case, matter, name)
        if self.rnd.random() < 0.2:
            cases.add_note(case, _note(self.rnd), actor=actor)
        if matter.person.is_named:
            self.resolve(case, matter, name)
            return
        if self.maybe_forward(case, matter, name):
            return
        if not matter.waited and self.rnd.random() < 0.08:
            # Documents or an answer from the customer are missing: ask, and wait.
            matter.waited = True
            cases.update_case(case, cases.CaseChanges(status=CaseStatus.PENDING), actor=actor)
            self.plan_return(matter, certain=True)
            return
        self.resolve(case, matter, name)

    def respond(self, case: Case, matter: Matter, name: str) -> None:
        """The agent's answer to the customer, the first time they take the case up: by
        e-mail where the customer wrote one, else a call back now and then."""
        if matter.answered:
            return
        matter.answered = True
        actor = self.actors[name]
        english = matter.person.language == "en"
        if matter.has_mail and self.rnd.random() < 0.9:
            greeting = "Hello" if english else "Guten Tag"
            reply_by_email(case, f"{greeting},\n\n{_answer(english)}", actor=actor, quote=True)
        elif matter.first_channel in ("letter", "portal", "phone") and self.rnd.random() < 0.4:
            with recording_transaction():
                record_interaction(
                    NewInteraction(
                        channel="phone",
                        direction="outbound",
                        occurred_at=self.pinned.at,
                        customer_id=case.customer_id,
                        case_id=case.pk,
                        agent_id=self.agents[name].pk,
                        subject="Rückruf" if not english else "Call back",
                        text=_answer(english),
                        sender=matter.person.phone,
                    ),
                    actor=actor,
                )

    def maybe_forward(self, case: Case, matter: Matter, name: str) -> bool:
        targets = FORWARDS.get(matter.topic.case_type)
        if matter.forwarded or not targets or matter.person.is_named:
            return False
        if self.rnd.random() >= 0.12:
            return False
        matter.forwarded = True
        target = cases.get_queue(self.rnd.choice(targets))
        case = forward_case(case, target, note=_forward_note(target.code), actor=self.actors[name])
        self.stats.forwarded += 1
        self.plan_work(matter, self.first_worker(case))
        return True

    def resolve(self, case: Case, matter: Matter, name: str) -> None:
        codes = RESOLUTIONS.get(matter.topic.case_type, DEFAULT_RESOLUTIONS)
        code = "duplicate" if self.rnd.random() < 0.01 else self.rnd.choice(codes)
        cases.resolve_case(case, resolution_code=code, actor=self.actors[name])
        self.stats.resolved += 1

    def settle_by_itself(self, case_id: int) -> None:
        """Done in the portal: the system closes the case, nobody had to look."""
        case = _case(case_id)
        if case.status in OPEN_STATUSES and not case.process_key:
            cases.resolve_case(case, resolution_code="solved", note="Portal", actor=SELF_SERVICE)
            self.stats.resolved += 1
            self.stats.automated += 1

    def work_process(self, case: Case, matter: Matter, name: str) -> None:
        """A case with a process: the agent does the task it waits for (a form, an answer),
        and the next one is taken up later by whoever its queue belongs to."""
        task = (
            Task.objects.filter(case=case, status__in=OPEN_TASK_STATUSES)
            .select_related("queue")
            .order_by("pk")
            .first()
        )
        if task is None or task.kind not in (TaskKind.FORM, TaskKind.WORK):
            return  # waiting for something else (the customer, a department, a decision)
        agent, actor = self.agents[name], self.actors[name]
        if case.owner_id != agent.pk:
            case = cases.assign_case(case, agent, actor=actor)
        self.respond(case, matter, name)
        complete_task(
            task,
            actor=actor,
            data=_form_data(self.rnd, task.step_key, matter, case),
            note=_answer(matter.person.language == "en") if task.kind == TaskKind.WORK else "",
        )
        case.refresh_from_db()
        if case.status not in OPEN_STATUSES:
            self.stats.resolved += 1
            return
        following = (
            Task.objects.filter(case=case, status__in=OPEN_TASK_STATUSES)
            .select_related("queue")
            .order_by("pk")
            .first()
        )
        if following is not None and following.kind in (TaskKind.FORM, TaskKind.WORK):
            worker = self.rnd.choice(self.workers.get(following.queue.code) or [name])
            self.plan_work(matter, worker)

    # -- customers coming back --

    def plan_return(self, matter: Matter, *, certain: bool = False) -> None:
        """Some customers get in touch again a day or two later about the same case, often
        on another channel, quoting its reference."""
        if matter.person.is_named or matter.returns >= 2:
            return
        if not certain and self.rnd.random() >= 0.13:
            return
        rnd = self.rnd
        # Asking how things stand a few hours later, or back the next day or the one after.
        hours = rnd.uniform(2, 7) if rnd.random() < 0.4 else rnd.uniform(18, 52)
        moment = self.pinned.at + timedelta(hours=hours)
        local = clock.localtime(moment)
        day = local.date()
        while not self.is_working_day(day):
            day += timedelta(days=1)
        if day != local.date() or not 8 <= local.hour < 19:
            moment = self.local(day, _weighted(rnd, WEEKDAY_HOURS), 0, rnd.uniform(0, 3599))
        channels = dict(CHANNEL_WEIGHTS)
        if rnd.random() < 0.7:
            channels.pop(matter.first_channel, None)
        channel = _weighted(rnd, channels)
        if channel == "letter":
            channel = "email"
        self.at(moment, self.come_back, matter, channel)

    def come_back(self, matter: Matter, channel: str) -> None:
        if channel in ROUTED and not self.is_hotline_open(self.pinned.at, matter.topic):
            channel = "email"
        self.contact(matter.person, matter.topic, channel, matter)

    # -- set-up --

    def _workers_by_queue(self) -> dict[str, list[str]]:
        """Who takes up a queue's cases: its team's agents (the supervisor only where the
        team has nobody else)."""
        workers: dict[str, list[str]] = {}
        for queue in Queue.objects.select_related("team").order_by("code"):
            team = [
                name
                for name, agent in sorted(self.agents.items())
                if any(t.pk == queue.team_id for t in agent.teams.all())
            ]
            agents = [name for name in team if self.agents[name].role == "agent"]
            workers[queue.code] = agents or team
        return workers

    def _people(self) -> tuple[list[Person], dict[str, Person]]:
        wanted = Q(customer_number__startswith=GENERATED_PREFIX) | Q(
            customer_number__in=[number for number, *_ in NAMED_CONTACTS]
        )
        identifiers: dict[int, dict[str, str]] = {}
        for customer_id, kind, value in (
            CustomerIdentifier.objects.filter(kind__in=("email", "phone"))
            .filter(customer__in=Customer.objects.filter(wanted))
            .order_by("pk")
            .values_list("customer_id", "kind", "value")
        ):
            identifiers.setdefault(customer_id, {}).setdefault(kind, value)
        people, named = [], {}
        rows = Customer.objects.filter(wanted, merged_into=None, is_provisional=False)
        for customer in rows.order_by("customer_number"):
            found = identifiers.get(customer.pk, {})
            is_named = not customer.customer_number.startswith(GENERATED_PREFIX)
            person = Person(
                customer.pk,
                customer.language,
                found.get("email", ""),
                found.get("phone", ""),
                customer.display_name,
                is_named,
            )
            if is_named:
                named[customer.customer_number] = person
            else:
                people.append(person)
        return people, named


def _case(case_id: int) -> Case:
    """The case as it stands (read at every step of the history: a lean query)."""
    return sql.select(Case, _CASE, [case_id])[0]


def _process_running(case: Case) -> bool:
    return bool(case.process_key) and case.process_status != ProcessStatus.COMPLETED


def _weighted(rnd: random.Random, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    return rnd.choices(keys, weights=[weights[k] for k in keys])[0]


def _lognormal(rnd: random.Random, *, median: float, sigma: float, low: float, high: float):  # noqa: ANN202
    return min(high, max(low, median * math.exp(rnd.gauss(0, sigma))))


def _answer(english: bool) -> str:
    if english:
        return "thank you for your message. We have looked into it and taken care of it."
    return "vielen Dank für Ihre Nachricht. Wir haben Ihr Anliegen geprüft und erledigt."


def _note(rnd: random.Random) -> str:
    return rnd.choice(
        [
            "Kunde telefonisch nicht erreicht, Nachricht hinterlassen.",
            "Unterlagen geprüft, alles vollständig.",
            "Rücksprache mit der Fachabteilung gehalten.",
            "Vertragsdaten kontrolliert.",
        ]
    )


def _forward_note(queue: str) -> str:
    return {
        "billing": "Bitte Rechnung prüfen.",
        "technical": "Störung bitte technisch prüfen.",
        "retention": "Kunde denkt über Kündigung nach.",
        "cs-complaints": "Kundin ist unzufrieden, bitte übernehmen.",
    }.get(queue, "Bitte übernehmen.")


def _form_data(rnd: random.Random, step: str, matter: Matter, case: Case) -> dict[str, Any]:
    """What the agent enters into a process's form."""
    if step == "capture-request":
        return {
            "topic": rnd.choice(["membership", "membership", "work_registration", "other"]),
            "member_number": f"{100000 + matter.person.customer_id % 900000:06d}",
            "question": matter.topic.text_de,
        }
    if step == "capture-complaint":
        return {
            "complaint_reason": rnd.choice(["outage", "billing_error", "service_quality"]),
            "description": matter.topic.text_de,
        }
    if step == "record-goodwill":
        return {"goodwill_amount": 0, "goodwill_reason": "Entschuldigung, Ursache behoben"}
    return {}


# -- loading -------------------------------------------------------------------------------


def load_history(
    *,
    weeks: int = 8,
    progress: Callable[[str], None] = print,
    contacts_per_day: float | None = None,
    seed: int = SEED,
) -> int:
    """The service history of the last `weeks` weeks up to yesterday, then the figures
    caught up. About `contacts_per_day` customers get in touch on an ordinary weekday
    (fewer on Saturdays, none on Sundays and public holidays), by default 45 for the
    demo's 2,000 generated customers and proportionally fewer for fewer. Once: returns
    the number of inbound contacts, 0 when there is a history already (or no customers)."""
    loaded = DemoHistory.objects.first()
    if loaded is not None:
        progress(
            # Operator output, in English like the demo loader's other lines.
            f"service history: loaded before ({loaded.first_day} to {loaded.last_day})"
        )
        return 0
    if contacts_per_day is None:
        customers = Customer.objects.filter(customer_number__startswith=GENERATED_PREFIX).count()
        contacts_per_day = CONTACTS_PER_DAY * min(1.0, customers / CUSTOMERS_FOR_FULL_VOLUME)
    if weeks < 1 or contacts_per_day <= 0:
        return 0
    if WorkItem.objects.filter(status__in=LIVE_WORK).exists():
        # The router would offer today's waiting calls to the agents of the past.
        progress("service history: not loaded while calls or chats are waiting")
        return 0
    started = monotonic_time.monotonic()
    today = clock.localtime(clock.now()).date()
    first_day, last_day = today - timedelta(days=7 * weeks), today - timedelta(days=1)
    with recording_transaction():
        _ensure_retention_codes()
        start = datetime.combine(first_day, time(), tzinfo=ZoneInfo(settings.TIME_ZONE))
        with clock.running_at(start) as pinned:
            simulation = Simulation(
                first_day=first_day,
                last_day=last_day,
                contacts_per_day=contacts_per_day,
                seed=seed,
                pinned=pinned,
            )
            simulation.run()
        stats = simulation.stats
        contacts = sum(stats.contacts.values())
        DemoHistory.objects.create(
            first_day=first_day, last_day=last_day, contacts=contacts, seed=seed
        )
    catch_up()
    by_channel = ", ".join(f"{channel} {n}" for channel, n in sorted(stats.contacts.items()))
    seconds = monotonic_time.monotonic() - started
    progress(
        f"service history: {contacts} contacts ({by_channel}) from {first_day} to {last_day}, "
        f"{stats.answered} calls and chats answered, {stats.abandoned} abandoned, "
        f"{stats.resolved} cases resolved ({seconds:.0f} s)"
    )
    return contacts


def _ensure_retention_codes() -> None:
    """The outcomes of retention cases (saved, lost), so the churn figures have names."""
    for code, name_de, name_en in RETENTION_CODES:
        ResolutionCode.objects.get_or_create(
            code=code, defaults={"name_de": name_de, "name_en": name_en}
        )
