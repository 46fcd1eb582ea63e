"""The demo installation's reference data: a mobile operator and a collecting society.

Every entry is keyed by its code, so loading twice changes nothing."""

from __future__ import annotations

from decimal import Decimal

TEAMS = [
    # code, German name, English name, tier
    ("first-level", "1st-Level-Service", "1st level service", 1),
    ("second-level", "2nd-Level-Fachteam", "2nd level specialists", 2),
    ("retention", "Kundenbindung", "Retention", 1),
    ("billing", "Rechnungsteam", "Billing", 2),
    ("cs-service", "Mitgliederservice", "Member service", 1),
    ("cs-specialists", "Fachberatung Urheberrecht", "Copyright specialists", 2),
    ("cs-licensing", "Lizenzierung", "Licensing department", 3),
]

QUEUES = [
    # code, German, English, team
    ("service", "Kundenservice", "Customer service", "first-level"),
    ("technical", "Technik", "Technical support", "second-level"),
    ("retention", "Kundenbindung", "Retention", "retention"),
    ("billing", "Rechnungen", "Billing", "billing"),
    ("cs-advice", "Beratung", "Advice", "cs-service"),
    ("cs-support", "Unterstützung", "Support", "cs-service"),
    ("cs-complaints", "Beschwerden", "Complaints", "cs-specialists"),
    ("cs-licensing", "Lizenzierung", "Licensing", "cs-licensing"),
    ("cs-identify", "Mitglied identifizieren", "Identify the member", "cs-service"),
    # The queues the shipped case types (their processes) route to.
    ("member-service", "Mitgliederanliegen", "Member requests", "cs-service"),
    (
        "member-service-2nd-level",
        "Mitgliederanliegen 2nd Level",
        "Member requests 2nd level",
        "cs-specialists",
    ),
    ("licensing", "Lizenzanfragen", "Licensing requests", "cs-licensing"),
    ("distribution", "Verteilungsanfragen", "Distribution requests", "cs-licensing"),
    ("complaints", "Beschwerden Mobilfunk", "Complaints", "first-level"),
    ("complaints-supervisors", "Kulanzfreigaben", "Goodwill approvals", "second-level"),
    ("telecom-contracts", "Vertragsänderungen", "Contract changes", "first-level"),
    ("telecom-back-office", "Vertrags-Backoffice", "Contract back office", "second-level"),
]

SKILLS = [
    ("lang-de", "Deutsch", "German", "language"),
    ("lang-en", "Englisch", "English", "language"),
    ("topic-billing", "Rechnungen", "Billing", "topic"),
    ("topic-tariffs", "Tarife", "Tariffs", "topic"),
    ("topic-technical", "Technik", "Technical", "topic"),
    ("topic-retention", "Kundenbindung", "Retention", "topic"),
    ("topic-copyright", "Urheberrecht", "Copyright", "topic"),
    ("topic-membership", "Mitgliedschaft", "Membership", "topic"),
    ("topic-royalties", "Ausschüttung", "Royalties", "topic"),
    ("topic-licensing", "Lizenzen", "Licensing", "topic"),
    ("product-mobile", "Mobilfunk", "Mobile", "product"),
    ("product-landline", "Festnetz", "Landline", "product"),
    ("tier-1", "1st Level", "1st level", "tier"),
    ("tier-2", "2nd Level", "2nd level", "tier"),
    ("tier-3", "3rd Level", "3rd level", "tier"),
]

# username, first, last, role, teams, skills {code: proficiency}, superuser
AGENTS = [
    ("anna", "Anna", "Schmidt", "agent", ["first-level"],
     {"lang-de": 10, "lang-en": 8, "topic-tariffs": 8, "product-mobile": 8, "tier-1": 10}, False),
    ("ben", "Ben", "Yilmaz", "agent", ["first-level", "billing"],
     {"lang-de": 10, "lang-en": 6, "topic-billing": 9, "product-landline": 7, "tier-1": 10},
     False),
    ("carla", "Carla", "Nowak", "agent", ["retention"],
     {"lang-de": 10, "lang-en": 9, "topic-retention": 9, "topic-tariffs": 9, "tier-1": 10},
     False),
    ("david", "David", "Klein", "agent", ["second-level"],
     {"lang-de": 10, "topic-technical": 10, "product-mobile": 9, "tier-2": 10}, False),
    ("maria", "Maria", "Hoffmann", "agent", ["cs-service"],
     {"lang-de": 10, "lang-en": 7, "topic-copyright": 7, "topic-membership": 9,
      "topic-royalties": 7, "tier-1": 10}, False),
    ("tom", "Tom", "Becker", "agent", ["cs-specialists", "cs-licensing"],
     {"lang-de": 10, "topic-copyright": 10, "topic-licensing": 9, "topic-royalties": 8,
      "tier-2": 10, "tier-3": 8}, False),
    ("sabine", "Sabine", "Wagner", "supervisor",
     ["first-level", "second-level", "retention", "billing"],
     {"lang-de": 10, "lang-en": 9, "tier-1": 10, "tier-2": 8}, False),
    ("admin", "Admin", "Istrator", "admin", [], {}, True),
]  # fmt: skip

DEMO_PASSWORD = "casework-demo"

PRODUCTS = [
    # code, kind, German, English, monthly fee
    ("mobil-s", "tariff", "Mobil S (5 GB)", "Mobile S (5 GB)", Decimal("9.99")),
    ("mobil-m", "tariff", "Mobil M (20 GB)", "Mobile M (20 GB)", Decimal("19.99")),
    ("mobil-l", "tariff", "Mobil L (unbegrenzt)", "Mobile L (unlimited)", Decimal("34.99")),
    ("sprache-basis", "tariff", "Sprache Basis (nur Telefonie)", "Voice basic (calls only)",
     Decimal("7.99")),
    ("festnetz", "tariff", "Festnetz Komfort", "Landline comfort", Decimal("24.99")),
    ("intl-eu", "option", "Option Ausland EU+", "Option abroad EU+", Decimal("4.99")),
    ("intl-welt", "option", "Option Welt (inkl. Japan)", "Option world (incl. Japan)",
     Decimal("9.99")),
    ("daten-plus", "option", "Datenpaket +10 GB", "Data pack +10 GB", Decimal("5.00")),
    ("smartphone-a", "device", "Smartphone A54", "Smartphone A54", Decimal("12.50")),
    ("mitglied-urheber", "membership", "Mitgliedschaft Urheber", "Membership author",
     Decimal("0.00")),
    ("mitglied-verlag", "membership", "Mitgliedschaft Verlag", "Membership publisher",
     Decimal("0.00")),
]  # fmt: skip

CASE_TYPES = [
    # code, German, English, service type, queue
    ("general-request", "Allgemeines Anliegen", "General request", "support", "service"),
    ("tariff-advice", "Tarifberatung", "Tariff advice", "advice", "service"),
    ("billing-question", "Rechnungsfrage", "Billing question", "support", "billing"),
    ("technical-fault", "Technische Störung", "Technical fault", "support", "technical"),
    ("complaint", "Beschwerde", "Complaint", "complaint", "service"),
    ("retention-offer", "Kündigungsrückgewinnung", "Retention", "advice", "retention"),
    ("cs-advice", "Mitgliederberatung", "Member advice", "advice", "cs-advice"),
    ("cs-support", "Mitgliederunterstützung", "Member support", "support", "cs-support"),
    ("cs-complaint", "Mitgliederbeschwerde", "Member complaint", "complaint", "cs-complaints"),
    ("cs-licensing", "Lizenzprüfung", "Licence review", "support", "cs-licensing"),
]

CHANNEL_DEFAULTS = {
    "email": "general-request",
    "phone": "general-request",
    "chat": "tariff-advice",
    "portal": "cs-support",
    "letter": "general-request",
    "partner": "retention-offer",
    "sms": "general-request",
    "api": "general-request",
}

MAILBOXES = [
    # address, display name, case type, queue, language, queue for unknown senders (None:
    # a provisional customer is created from the address)
    (
        "service@demo.casework.test",
        "Mitgliederservice",
        "collecting-society-request",
        "member-service",
        "de",
        "cs-identify",
    ),
    (
        "kundenservice@demo.casework.test",
        "Kundenservice",
        "general-request",
        "service",
        "de",
        None,
    ),
]

# code, language, name, text (placeholders: knowledge.templating.PLACEHOLDERS)
REPLY_TEMPLATES = [
    (
        "thanks-checking",
        "de",
        "Danke, wir prüfen",
        "{{ customer.salutation }} {{ customer.last_name }},\n\nvielen Dank für Ihre Nachricht "
        "zu {{ case.reference }}. Wir prüfen Ihr Anliegen und melden uns innerhalb von zwei "
        "Werktagen bei Ihnen.\n\nMit freundlichen Grüßen\n{{ agent.name }}",
    ),
    (
        "thanks-checking",
        "en",
        "Thank you, we are checking",
        "Dear {{ customer.name }},\n\nthank you for your message about {{ case.reference }}. "
        "We are looking into it and will get back to you within two working days.\n\n"
        "Kind regards\n{{ agent.name }}",
    ),
    (
        "statement-explained",
        "de",
        "Abrechnung erläutert",
        "{{ customer.salutation }} {{ customer.last_name }},\n\ndie Ausschüttung in Ihrer "
        "Abrechnung setzt sich aus den gemeldeten Nutzungen des Quartals zusammen. Die "
        "Einzelaufstellung finden Sie im Mitgliederportal.\n\nMit freundlichen Grüßen\n"
        "{{ agent.name }}",
    ),
]

RESOLUTION_CODES = [
    ("answered", "Frage beantwortet", "Question answered"),
    ("solved", "Problem gelöst", "Problem solved"),
    ("contract-changed", "Vertrag geändert", "Contract changed"),
    ("goodwill", "Kulanz gewährt", "Goodwill granted"),
    ("no-action", "Keine Aktion nötig", "No action needed"),
    ("duplicate", "Doppelt erfasst", "Duplicate"),
    ("forwarded", "An Fachabteilung übergeben", "Handed to department"),
]
