"""Loading the demo data set: reference data, the reference journeys' customers (Helmut,
Lisa, a member of the collecting society) and generated customers with history.

Idempotent: every object is found by its code or number first, so `casework demo` can run
any number of times. Generated data is deterministic (fixed random seed)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from casework.cases import services as cases
from casework.cases.models import Case, CaseType, ResolutionCode
from casework.cases.process import publish_configured
from casework.channels.email.models import Mailbox
from casework.classify.models import ClassifierTask
from casework.classify.services import train_version
from casework.classify.sources import read_labelled_csv
from casework.customers import services as customers
from casework.customers.models import Customer, Product
from casework.demo import reference
from casework.demo.names import CITIES, FIRST_NAMES, LAST_NAMES, STREETS
from casework.events.services import recording_transaction
from casework.intake.models import ChannelDefault, TopicRoute
from casework.interactions.models import Interaction
from casework.interactions.services import NewInteraction, record_interaction
from casework.kernel.actors import Actor, Role
from casework.knowledge.models import ReplyTemplate
from casework.routing.models import Agent, AgentSkill, Queue, Skill, Team
from casework.routing.queries import actor_for_agent

DEMO_ACTOR = Actor.system("demo")
GENERATED_PREFIX = "D"


def load_demo(*, generated_customers: int = 2000, progress: Callable[[str], None] = print) -> None:
    load_reference_data()
    progress("reference data: teams, queues, skills, agents, products, case types")
    load_journeys()
    load_processes()
    progress("reference journeys: Helmut Berger, Lisa Schneider, Dr. Jana Wolff")
    if load_classifiers():
        progress("classifiers: service type, topic, urgency and sentiment trained")
    load_topic_routes()
    created = load_generated_customers(generated_customers)
    progress(f"generated customers: {created} new, {generated_customers} in all")
    from casework.demo.history import load_history  # it builds on this module

    load_history(progress=progress)
    from casework.demo.retention import load_retention

    load_retention()
    progress("retention: offers, an e-mail and a letter campaign, sales partner shop-muenster")
    from casework.demo.portal import load_portal

    load_portal()
    progress("customer portal: forms, Lisa's and Dr. Jana Wolff's conversations, an offer")
    from casework.demo.knowledge import load_knowledge

    progress(f"knowledge base: {load_knowledge()} articles in German and English")
    from casework.demo.chat import load_chat

    load_chat()
    progress("chat: the bot's intent model; anna and carla available for chats")
    from casework.demo.phone import load_phone

    load_phone()
    progress("phone: a telephone system (CTI), two hotlines, a line for every agent")


@recording_transaction()
def load_reference_data() -> None:
    teams = {}
    for code, name_de, name_en, tier in reference.TEAMS:
        teams[code], _ = Team.objects.get_or_create(
            code=code, defaults={"name_de": name_de, "name_en": name_en, "tier": tier}
        )
    queues = {}
    for code, name_de, name_en, team in reference.QUEUES:
        queues[code], _ = Queue.objects.get_or_create(
            code=code, defaults={"name_de": name_de, "name_en": name_en, "team": teams[team]}
        )
    skills = {}
    for code, name_de, name_en, kind in reference.SKILLS:
        skills[code], _ = Skill.objects.get_or_create(
            code=code, defaults={"name_de": name_de, "name_en": name_en, "kind": kind}
        )
    user_model = get_user_model()
    for username, first, last, role, team_codes, skill_levels, superuser in reference.AGENTS:
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "email": f"{username}@demo.casework.test",
                "is_staff": superuser or role == Role.SUPERVISOR,
                "is_superuser": superuser,
            },
        )
        if created:
            user.set_password(reference.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        agent, _ = Agent.objects.get_or_create(user=user, defaults={"role": role})
        agent.teams.set([teams[code] for code in team_codes])
        for skill_code, level in skill_levels.items():
            AgentSkill.objects.update_or_create(
                agent=agent, skill=skills[skill_code], defaults={"proficiency": level}
            )
    for code, kind, name_de, name_en, fee in reference.PRODUCTS:
        Product.objects.get_or_create(
            code=code,
            defaults={"kind": kind, "name_de": name_de, "name_en": name_en, "monthly_fee": fee},
        )
    for code, name_de, name_en, service_type, queue in reference.CASE_TYPES:
        CaseType.objects.get_or_create(
            code=code,
            defaults={
                "name_de": name_de,
                "name_en": name_en,
                "service_type": service_type,
                "default_queue": queues[queue],
            },
        )
    # The shipped case types with processes: the collecting society's requests and their
    # departments' sub-cases, complaints with goodwill, contract changes, retention orders.
    publish_configured(actor=DEMO_ACTOR)
    for channel, case_type in reference.CHANNEL_DEFAULTS.items():
        ChannelDefault.objects.get_or_create(
            channel=channel, defaults={"case_type": CaseType.objects.get(code=case_type)}
        )
    for address, display_name, case_type, queue, language, identify in reference.MAILBOXES:
        Mailbox.objects.get_or_create(
            address=address,
            defaults={
                "display_name": display_name,
                "case_type": CaseType.objects.get(code=case_type),
                "queue": queues[queue],
                "language": language,
                "identify_queue": queues[identify] if identify else None,
            },
        )
    for code, language, name, body in reference.REPLY_TEMPLATES:
        ReplyTemplate.objects.get_or_create(
            code=code, language=language, defaults={"name": name, "body": body}
        )
    for code, name_de, name_en in reference.RESOLUTION_CODES:
        ResolutionCode.objects.get_or_create(
            code=code, defaults={"name_de": name_de, "name_en": name_en}
        )


def _agent_actor(username: str) -> Actor:
    return actor_for_agent(Agent.objects.select_related("user").get(user__username=username))


def _ago(days: float, hour: int = 10) -> datetime:
    moment = timezone.localtime() - timedelta(days=days)
    return moment.replace(hour=hour, minute=15, second=0, microsecond=0)


def _interaction(
    customer: Customer,
    case_id: int | None,
    channel: str,
    direction: str,
    when: datetime,
    subject: str,
    text: str,
    *,
    agent: Actor | None = None,
    sender: str = "",
    payload: dict | None = None,
) -> None:
    record_interaction(
        NewInteraction(
            channel=channel,
            direction=direction,
            occurred_at=when,
            customer_id=customer.pk,
            case_id=case_id,
            agent_id=agent.id if agent else None,
            sender=sender,
            subject=subject,
            text=text,
            payload=payload or {},
        ),
        actor=agent or DEMO_ACTOR,
    )


@recording_transaction()
def load_journeys() -> None:
    if Customer.objects.filter(customer_number="K10000001").exists():
        return
    anna, ben = _agent_actor("anna"), _agent_actor("ben")

    helmut = customers.create_customer(
        customers.NewCustomer(
            customer_number="K10000001",
            salutation="Herr",
            first_name="Helmut",
            last_name="Berger",
            birth_date=date(1950, 3, 14),
            street="Lindenstraße 12",
            postal_code="10969",
            city="Berlin",
            preferred_channel="phone",
            identifiers=[
                customers.RawIdentifier("phone", "030 2345 6789"),
                customers.RawIdentifier("phone", "0171 2345678"),
            ],
        ),
        actor=DEMO_ACTOR,
    )
    customers.add_contract(
        helmut,
        customers.NewContract(
            product_code="festnetz", start_date=date(2008, 4, 1), contract_number="V-2008-044120"
        ),
        actor=DEMO_ACTOR,
    )
    customers.add_payment_method(
        helmut,
        customers.NewPaymentMethod(
            kind="standing_order",
            account_holder="Helmut Berger",
            iban="DE89 3704 0044 0532 0130 00",
        ),
        actor=DEMO_ACTOR,
    )
    customers.record_consent(
        helmut,
        "marketing_letter",
        is_granted=True,
        source="Vertrag 2008",
        actor=DEMO_ACTOR,
        recorded_at=_ago(6000),
    )
    customers.record_consent(
        helmut,
        "marketing_email",
        is_granted=False,
        source="Telefonat",
        actor=DEMO_ACTOR,
        recorded_at=_ago(400),
    )
    old_case = cases.open_case(
        cases.NewCase(
            case_type=cases.get_case_type("billing-question"),
            subject="Rechnung März doppelt abgebucht",
            customer_id=helmut.pk,
        ),
        actor=DEMO_ACTOR,
    )
    _interaction(
        helmut,
        old_case.pk,
        "letter",
        "inbound",
        _ago(420),
        "Rechnung März",
        "Sehr geehrte Damen und Herren, der Betrag wurde zweimal "
        "abgebucht. Bitte prüfen Sie das. Mit freundlichen Grüßen, H. Berger",
    )
    _interaction(
        helmut,
        old_case.pk,
        "phone",
        "outbound",
        _ago(415, 14),
        "Rückruf zur Rechnung",
        "Doppelte Abbuchung bestätigt, Gutschrift veranlasst.",
        agent=ben,
    )
    cases.resolve_case(old_case, resolution_code="solved", note="Gutschrift 24,99 €", actor=ben)
    _interaction(
        helmut,
        None,
        "phone",
        "inbound",
        _ago(200, 9),
        "Störung Festnetz",
        "Leitung knackt seit gestern. Techniker-Termin vereinbart.",
        agent=anna,
    )
    offer = cases.open_case(
        cases.NewCase(
            case_type=cases.get_case_type("tariff-advice"),
            subject="Angebot aus der Broschüre: Smartphone mit Tarif",
            customer_id=helmut.pk,
            owner_id=anna.id,
        ),
        actor=anna,
    )
    _interaction(
        helmut,
        offer.pk,
        "phone",
        "inbound",
        _ago(2, 11),
        "Anruf: Angebot aus der Broschüre",
        "Kunde fragt nach dem Smartphone-Angebot aus der Broschüre (Mobil M mit "
        "Smartphone A54). Fragen beantwortet, Vertrag gebucht.",
        agent=anna,
        sender="030 2345 6789",
    )
    customers.add_contract(
        helmut,
        customers.NewContract(
            product_code="mobil-m",
            start_date=_ago(2).date(),
            status="ordered",
            contract_number="V-2026-118377",
            option_codes=["smartphone-a"],
        ),
        actor=anna,
    )

    lisa = customers.create_customer(
        customers.NewCustomer(
            customer_number="K10000002",
            salutation="Frau",
            first_name="Lisa",
            last_name="Schneider",
            birth_date=date(2003, 6, 2),
            street="Aegidiistraße 5",
            postal_code="48143",
            city="Münster",
            preferred_channel="chat",
            identifiers=[
                customers.RawIdentifier("email", "lisa.schneider@example.org"),
                customers.RawIdentifier("phone", "0152 34567890"),
                customers.RawIdentifier("portal_account", "lisa.s"),
            ],
        ),
        actor=DEMO_ACTOR,
    )
    customers.add_contract(
        lisa,
        customers.NewContract(
            product_code="mobil-s",
            start_date=date(2024, 12, 1),
            end_date=date(2026, 12, 31),
            contract_number="V-2024-301577",
        ),
        actor=DEMO_ACTOR,
    )
    customers.add_payment_method(
        lisa,
        customers.NewPaymentMethod(
            kind="card", card_brand="Visa", card_last4="4242", card_expiry="09/2028"
        ),
        actor=DEMO_ACTOR,
    )
    customers.record_consent(
        lisa,
        "marketing_email",
        is_granted=True,
        source="Portal",
        actor=DEMO_ACTOR,
        recorded_at=_ago(700),
    )
    customers.record_consent(
        lisa, "profiling", is_granted=True, source="Portal", actor=DEMO_ACTOR, recorded_at=_ago(700)
    )
    _interaction(
        lisa,
        None,
        "email",
        "outbound",
        _ago(20),
        "Tarife fürs Ausland",
        "Newsletter: Mit der Option Welt telefonieren und surfen Sie auch in Japan.",
        payload={"campaign": "newsletter-ausland", "opened_at": _ago(19).isoformat()},
    )
    customers.record_interest(
        lisa,
        "international-tariffs",
        source="Newsletter 'Tarife fürs Ausland' geöffnet",
        actor=DEMO_ACTOR,
        recorded_at=_ago(19),
    )
    _interaction(
        lisa,
        None,
        "email",
        "outbound",
        _ago(3),
        "Ihr Vertrag läuft bald aus",
        "Hallo Lisa, dein Vertrag Mobil S endet am 31.12.2026. Wir haben ein Angebot für dich.",
        payload={"campaign": "retention-2026-q4"},
    )
    chat_case = cases.open_case(
        cases.NewCase(
            case_type=cases.get_case_type("tariff-advice"),
            subject="Chat: Welcher Tarif für ein Praktikum in Japan?",
            customer_id=lisa.pk,
        ),
        actor=DEMO_ACTOR,
    )
    _interaction(
        lisa,
        chat_case.pk,
        "chat",
        "inbound",
        _ago(1, 19),
        "Chat auf der Website",
        "Lisa: Mein Vertrag läuft aus. Welcher Tarif passt, wenn ich ab Februar ein "
        "Praktikum in Japan mache?\nBot: Die Option Welt enthält Japan. Möchtest du "
        "mit einer Beraterin sprechen?\nLisa: Ja, bitte ruft mich zurück.",
        sender="lisa.s",
        payload={"callback_requested": True},
    )

    jana = customers.create_customer(
        customers.NewCustomer(
            customer_number="K10000003",
            salutation="Frau Dr.",
            first_name="Jana",
            last_name="Wolff",
            birth_date=date(1978, 11, 9),
            street="Rosenthaler Straße 40",
            postal_code="10178",
            city="Berlin",
            preferred_channel="email",
            identifiers=[
                customers.RawIdentifier("email", "jana.wolff@example.net"),
                customers.RawIdentifier("portal_account", "M-104233"),
            ],
        ),
        actor=DEMO_ACTOR,
    )
    customers.add_contract(
        jana,
        customers.NewContract(
            product_code="mitglied-urheber", start_date=date(2015, 1, 1), contract_number="M-104233"
        ),
        actor=DEMO_ACTOR,
    )
    complaint = cases.open_case(
        cases.NewCase(
            case_type=cases.get_case_type("cs-complaint"),
            subject="Abrechnung Q3: Aufführungen fehlen",
            customer_id=jana.pk,
        ),
        actor=DEMO_ACTOR,
    )
    _interaction(
        jana,
        complaint.pk,
        "email",
        "inbound",
        _ago(4, 8),
        "Abrechnung Q3: Aufführungen fehlen",
        "Guten Tag, in meiner Abrechnung für das dritte Quartal fehlen drei "
        "Aufführungen meines Werks 'Nachtstück' (Konzerthaus, 12.08.). "
        "Bitte prüfen Sie das. Dr. Jana Wolff",
        sender="jana.wolff@example.net",
    )

    # One person twice: the letter department created a second record for Helmut.
    customers.create_customer(
        customers.NewCustomer(
            first_name="H.",
            last_name="Berger",
            street="Lindenstraße 12",
            postal_code="10969",
            city="Berlin",
            preferred_channel="letter",
            customer_number="K10000004",
        ),
        actor=DEMO_ACTOR,
    )


DEMO_DATA = Path(__file__).resolve().parent / "demo_data"


def load_classifiers() -> bool:
    """Classifiers trained on the demo's own example messages (German and English, written
    for the demo; `tools/demo_messages.py`), so new mail arrives categorised: service type,
    topic (the demo's topic skills), urgency and sentiment. Each once."""
    trained = False
    for task, file_name in (
        ("service_type", "service_type.csv"),
        ("topic", "messages.csv"),
        ("urgency", "messages.csv"),
        ("sentiment", "messages.csv"),
    ):
        if ClassifierTask.objects.filter(name=task).exists():
            continue
        source = read_labelled_csv(
            DEMO_DATA / file_name,
            text_column="text",
            label_column=task,
            language_column="language",
        )
        train_version(task, source, actor=DEMO_ACTOR, trained_by="demo")
        trained = True
    return trained


# The mobile operator's mailbox opens a general request; a recognised topic picks the
# case type (and with it the queue) instead.
TOPIC_ROUTES = [
    ("topic-billing", "billing-question"),
    ("topic-technical", "technical-fault"),
    ("topic-tariffs", "tariff-advice"),
    ("topic-retention", "retention-offer"),
]


def load_topic_routes() -> None:
    general = CaseType.objects.get(code="general-request")
    for topic, case_type in TOPIC_ROUTES:
        TopicRoute.objects.get_or_create(
            topic=topic,
            from_case_type=general,
            defaults={"case_type": CaseType.objects.get(code=case_type)},
        )


@recording_transaction()
def load_processes() -> None:
    """Dr. Jana Wolff asks whether a radio station may use her work: a collecting-society
    request whose process sends a sub-case to the licensing department (the worker moves
    it on when the demo runs)."""
    jana = Customer.objects.get(customer_number="K10000003")
    if Case.objects.filter(customer=jana, case_type__code="collecting-society-request").exists():
        return
    request = cases.open_case(
        cases.NewCase(
            case_type=cases.get_case_type("collecting-society-request"),
            subject="Lizenz für Radiosendung 'Sommerlied'",
            customer_id=jana.pk,
            service_type="advice",
            data={
                "topic": "licensing",
                "member_number": "104233",
                "work_title": "Sommerlied",
                "question": "Ein Radiosender möchte 'Sommerlied' senden. Braucht er eine "
                "Einzellizenz?",
            },
        ),
        actor=DEMO_ACTOR,
    )
    _interaction(
        jana,
        request.pk,
        "email",
        "inbound",
        _ago(1, 9),
        "Lizenz für Radiosendung 'Sommerlied'",
        "Guten Tag, ein Radiosender möchte mein Werk 'Sommerlied' senden. Braucht er dafür "
        "eine Einzellizenz? Mitgliedsnummer 104233. Dr. Jana Wolff",
        sender="jana.wolff@example.net",
    )


CHANNEL_TEXTS = {
    "email": ("Frage zu meiner Rechnung", "Guten Tag, ich verstehe eine Position nicht."),
    "phone": ("Anruf", "Kunde fragt nach Vertragslaufzeit und Kündigungsfrist."),
    "chat": ("Chat", "Wie kann ich meine Rufnummer mitnehmen?"),
    "portal": ("Adressänderung im Portal", "Neue Anschrift eingetragen."),
    "letter": ("Brief", "Widerspruch gegen die letzte Rechnung."),
}


def load_generated_customers(count: int, *, chunk: int = 250) -> int:
    """`count` deterministic customers D0000001…, with contracts, payment methods and a
    history of contacts. Customers are created through the services (each is audited);
    their older history arrives in bulk, as an import of an earlier system would bring it."""
    existing = set(
        Customer.objects.filter(customer_number__startswith=GENERATED_PREFIX).values_list(
            "customer_number", flat=True
        )
    )
    tariffs = ["mobil-s", "mobil-m", "mobil-l", "sprache-basis", "festnetz"]
    channels = list(CHANNEL_TEXTS)
    created = 0
    for start in range(0, count, chunk):
        with recording_transaction():
            history: list[Interaction] = []
            for n in range(start + 1, min(start + chunk, count) + 1):
                number = f"{GENERATED_PREFIX}{n:07d}"
                if number in existing:
                    continue
                rnd = random.Random(n)
                customer = _generated_customer(rnd, n, number)
                start = date(2015, 1, 1) + timedelta(days=rnd.randrange(3900))
                customers.add_contract(
                    customer,
                    customers.NewContract(
                        product_code=rnd.choice(tariffs),
                        start_date=start,
                        end_date=_current_term_end(start),
                        contract_number=f"V-{number}-1",
                        option_codes=["intl-eu"] if rnd.random() < 0.2 else [],
                    ),
                    actor=DEMO_ACTOR,
                )
                _generated_payment(rnd, customer)
                for _ in range(rnd.randrange(0, 9)):
                    channel = rnd.choice(channels)
                    subject, text = CHANNEL_TEXTS[channel]
                    history.append(
                        Interaction(
                            customer=customer,
                            channel=channel,
                            direction="inbound" if rnd.random() < 0.8 else "outbound",
                            occurred_at=_ago(rnd.uniform(5, 900), rnd.randrange(8, 19)),
                            subject=subject,
                            text=text,
                        )
                    )
                if rnd.random() < 0.12:
                    case = cases.open_case(
                        cases.NewCase(
                            case_type=cases.get_case_type(
                                rnd.choice(
                                    [
                                        "general-request",
                                        "billing-question",
                                        "technical-fault",
                                        "complaint",
                                        "cs-support",
                                        "cs-advice",
                                    ]
                                )
                            ),
                            subject=rnd.choice([s for s, _ in CHANNEL_TEXTS.values()]),
                            customer_id=customer.pk,
                            priority=rnd.choice([1, 2, 2, 2, 3, 4]),
                        ),
                        actor=DEMO_ACTOR,
                    )
                    history.append(
                        Interaction(
                            customer=customer,
                            case=case,
                            channel="email",
                            direction="inbound",
                            occurred_at=_ago(rnd.uniform(0.1, 4)),
                            subject=case.subject,
                            text="Bitte um Rückmeldung.",
                        )
                    )
                created += 1
            Interaction.objects.bulk_create(history, batch_size=500)
    return created


def _current_term_end(start: date) -> date:
    """Mobile contracts run in yearly terms: the end of the one running today."""
    today = timezone.localdate()
    years = max(today.year - start.year, 1)
    end = _same_day(start, start.year + years)
    return end if end > today else _same_day(start, start.year + years + 1)


def _same_day(day: date, year: int) -> date:
    return (
        day.replace(year=year, day=28)
        if (day.month, day.day) == (2, 29)
        else day.replace(year=year)
    )


def _generated_customer(rnd: random.Random, n: int, number: str) -> Customer:
    first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
    city, postal_code = rnd.choice(CITIES)
    local = f"{first}.{last}".lower().translate(
        str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
    )
    identifiers = [
        customers.RawIdentifier("email", f"{local}.{n}@example.com"),
        customers.RawIdentifier("phone", f"+49 151 {40000000 + n:08d}"),
    ]
    birth_date = date(1940, 1, 1) + timedelta(days=rnd.randrange(23000))
    return customers.create_customer(
        customers.NewCustomer(
            customer_number=number,
            first_name=first,
            last_name=last,
            birth_date=birth_date,
            segment=_age_segment(birth_date),
            street=f"{rnd.choice(STREETS)} {rnd.randrange(1, 120)}",
            postal_code=postal_code,
            city=city,
            preferred_channel=rnd.choice(["email", "phone", "chat", "letter", ""]),
            language="en" if rnd.random() < 0.08 else "de",
            identifiers=identifiers,
        ),
        actor=DEMO_ACTOR,
    )


def _age_segment(birth_date: date) -> str:
    """The demo's segments, by age: the personas its figures compare."""
    age = (date(2026, 11, 1) - birth_date).days // 365
    return "young" if age < 30 else "established" if age < 60 else "senior"


def _generated_payment(rnd: random.Random, customer: Customer) -> None:
    kind = rnd.choice(["direct_debit", "direct_debit", "standing_order", "card", "paypal"])
    method = customers.NewPaymentMethod(kind=kind, account_holder=customer.display_name)
    if kind in ("direct_debit", "standing_order"):
        method.iban = _german_iban(rnd)
    elif kind == "card":
        method.card_brand = rnd.choice(["Visa", "Mastercard"])
        method.card_last4 = f"{rnd.randrange(10000):04d}"
    else:
        method.paypal_email = customer.identifiers.get(kind="email").value
    customers.add_payment_method(customer, method, actor=DEMO_ACTOR)


def _german_iban(rnd: random.Random) -> str:
    bank_and_account = f"{rnd.randrange(10**7, 10**8)}{rnd.randrange(10**9, 10**10)}0"[:18]
    check = 98 - int(f"{bank_and_account}131400") % 97
    return f"DE{check:02d}{bank_and_account}"
