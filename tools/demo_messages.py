"""Write the demo's labelled example messages for the topic, urgency and sentiment
classifiers: `src/casework/demo/demo_data/messages.csv` (text, language, topic, urgency,
sentiment). Short German and English messages to the mobile operator and the collecting
society, composed from the phrases below with a fixed seed (no third-party data), so the
file is the same on every run:

    .venv/bin/python tools/demo_messages.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src/casework/demo/demo_data/messages.csv"
ROWS_PER_TOPIC = 64

# Topic labels are the demo's topic skills, so a topic can name who knows about it.
CONCERNS = {
    "topic-billing": (
        [
            "meine Rechnung für {month} ist viel zu hoch",
            "Sie haben am {day}. {month} doppelt abgebucht",
            "ich verstehe eine Position auf meiner Rechnung nicht",
            "bitte schicken Sie mir eine Kopie der Rechnung für {month}",
            "die versprochene Gutschrift fehlt auf meiner Rechnung",
            "auf der Rechnung stehen Gebühren für Dienste, die ich nie bestellt habe",
            "die Lastschrift für {month} ist zurückgegangen, wie zahle ich jetzt",
        ],
        [
            "my bill for {month_en} is far too high",
            "you charged me twice on {month_en} {day}",
            "I do not understand an item on my invoice",
            "please send me a copy of the invoice for {month_en}",
            "the credit you promised is missing from my bill",
            "my invoice lists charges for services I never ordered",
            "the direct debit for {month_en} bounced, how do I pay now",
        ],
    ),
    "topic-tariffs": (
        [
            "ich möchte in einen günstigeren Tarif wechseln",
            "welcher Tarif hat mehr Datenvolumen als meiner",
            "gibt es eine Option für Telefonate ins Ausland",
            "mein Vertrag läuft aus, welches Angebot haben Sie für mich",
            "ich brauche kein Datenvolumen, nur einen Tarif zum Telefonieren",
            "kann ich ein neues Smartphone zu meinem Tarif dazubuchen",
            "lohnt sich für mich die Option Welt für Reisen nach Japan",
        ],
        [
            "I would like to switch to a cheaper tariff",
            "which tariff has more data than mine",
            "is there an option for calls abroad",
            "my contract ends soon, what can you offer me",
            "I need no data at all, just a plan for phone calls",
            "can I add a new smartphone to my plan",
            "is the world option worth it for trips to Japan",
        ],
    ),
    "topic-technical": (
        [
            "seit {day} Tagen habe ich kein Netz",
            "das Internet ist extrem langsam",
            "meine SIM-Karte wird vom Telefon nicht erkannt",
            "der Router verliert ständig die Verbindung",
            "Anrufe brechen nach wenigen Sekunden ab",
            "ich kann keine SMS mehr empfangen",
            "das Festnetz knackt und rauscht seit gestern",
        ],
        [
            "I have had no signal for {day} days",
            "the internet is extremely slow",
            "my phone does not recognise the SIM card",
            "the router keeps dropping the connection",
            "calls drop after a few seconds",
            "I cannot receive text messages any more",
            "the landline has been crackling since yesterday",
        ],
    ),
    "topic-retention": (
        [
            "ich möchte meinen Vertrag kündigen",
            "bitte bestätigen Sie meine Kündigung zum {day}. {month}",
            "ich wechsle zu einem anderen Anbieter und nehme meine Nummer mit",
            "die Konkurrenz ist günstiger, deshalb kündige ich",
            "ich ziehe ins Ausland und brauche den Vertrag nicht mehr",
            "wie kann ich meinen Vertrag vorzeitig beenden",
        ],
        [
            "I want to cancel my contract",
            "please confirm my cancellation as of {month_en} {day}",
            "I am moving to another provider and taking my number",
            "the competition is cheaper, so I am cancelling",
            "I am moving abroad and no longer need the contract",
            "how can I end my contract early",
        ],
    ),
    "topic-membership": (
        [
            "ich möchte als Komponistin Mitglied werden",
            "bitte ändern Sie meine Anschrift in der Mitgliederakte",
            "wie kann ich meine Mitgliedschaft beenden",
            "ich habe meine Mitgliedsnummer vergessen",
            "welche Unterlagen brauche ich für die Aufnahme als Textdichter",
            "bitte tragen Sie meine neue Bankverbindung für die Mitgliedschaft ein",
        ],
        [
            "I would like to become a member as a composer",
            "please update my address in my membership file",
            "how do I end my membership",
            "I have forgotten my membership number",
            "which documents do I need to join as a lyricist",
            "please record my new bank details for my membership",
        ],
    ),
    "topic-royalties": (
        [
            "meine Ausschüttung für das {quarter}. Quartal fehlt",
            "die Abrechnung meiner Tantiemen stimmt nicht",
            "wann wird die nächste Ausschüttung überwiesen",
            "in meiner Abrechnung fehlt ein Titel, der oft im Radio lief",
            "bitte erklären Sie mir, wie die Verteilung berechnet wird",
            "die Ausschüttung ist deutlich niedriger als im letzten Jahr",
        ],
        [
            "my royalty payment for quarter {quarter} is missing",
            "the statement of my royalties is wrong",
            "when will the next distribution be paid",
            "a song that was often on the radio is missing from my statement",
            "please explain how the distribution is calculated",
            "the payment is much lower than last year",
        ],
    ),
    "topic-licensing": (
        [
            "wir brauchen eine Lizenz für ein Konzert am {day}. {month}",
            "was kostet Hintergrundmusik in unserem Café",
            "bitte schicken Sie uns den Lizenzvertrag für unser Straßenfest",
            "wir möchten Musik in einem Werbevideo verwenden",
            "unsere Veranstaltung wurde falsch lizenziert",
            "brauchen wir für die Weihnachtsfeier im Verein eine Lizenz",
        ],
        [
            "we need a licence for a concert on {month_en} {day}",
            "what does background music in our café cost",
            "please send us the licence agreement for our street festival",
            "we want to use music in an advertising video",
            "our event was licensed wrongly",
            "do we need a licence for our club's Christmas party",
        ],
    ),
    "topic-copyright": (
        [
            "ich möchte ein neues Werk anmelden",
            "mein Lied wurde ohne Erlaubnis in einem Film verwendet",
            "wie melde ich eine Bearbeitung eines bekannten Stücks an",
            "die Werkmeldung für meinen neuen Song fehlt im Verzeichnis",
            "jemand hat meinen Liedtext kopiert und veröffentlicht",
            "bitte korrigieren Sie die Urheberanteile bei meinem Werk",
        ],
        [
            "I would like to register a new work",
            "my song was used in a film without permission",
            "how do I register an arrangement of a well-known piece",
            "the registration of my new song is missing from the catalogue",
            "someone copied my lyrics and published them",
            "please correct the authors' shares for my work",
        ],
    ),
}

OPENERS = (
    ["Sehr geehrte Damen und Herren,", "Hallo,", "Guten Tag,", "Liebes Service-Team,", ""],
    ["Dear Sir or Madam,", "Hello,", "Hi,", "Good morning,", ""],
)
CLOSERS = (
    ["Mit freundlichen Grüßen", "Viele Grüße", "Danke im Voraus.", "Gruß", ""],
    ["Kind regards", "Best wishes", "Thanks in advance.", "Regards", ""],
)
URGENCY = {
    "high": (
        [
            "Es ist sehr dringend, bitte melden Sie sich noch heute.",
            "Das muss sofort geklärt werden, die Frist läuft morgen ab.",
            "DRINGEND: ich brauche bis heute Abend eine Antwort.",
            "Bitte umgehend bearbeiten, ich bin darauf angewiesen.",
        ],
        [
            "This is very urgent, please get back to me today.",
            "This has to be sorted out immediately, the deadline is tomorrow.",
            "URGENT: I need an answer by tonight.",
            "Please deal with this at once, I depend on it.",
        ],
    ),
    "low": (
        [
            "Es eilt nicht, melden Sie sich, wenn Sie Zeit haben.",
            "Keine Eile, bei Gelegenheit reicht.",
            "Das hat Zeit bis nächsten Monat.",
        ],
        [
            "No rush, get back to me whenever convenient.",
            "There is no hurry, whenever you have time.",
            "This can wait until next month.",
        ],
    ),
    "normal": ([""], [""]),
}
SENTIMENT = {
    "negative": (
        [
            "Ich bin sehr verärgert.",
            "Das ist eine Unverschämtheit, schon wieder!",
            "Ich bin maßlos enttäuscht von Ihrem Service.",
            "So geht man nicht mit Kunden um.",
        ],
        [
            "I am really annoyed.",
            "This is unacceptable, not again!",
            "I am deeply disappointed with your service.",
            "This is no way to treat customers.",
        ],
    ),
    "positive": (
        [
            "Vielen Dank für die schnelle Hilfe beim letzten Mal!",
            "Ich bin mit Ihrem Service sehr zufrieden.",
            "Ihre Kollegin war beim letzten Anruf großartig, danke!",
        ],
        [
            "Thank you so much for the quick help last time!",
            "I am very happy with your service.",
            "Your colleague was wonderful on my last call, thanks!",
        ],
    ),
    "neutral": ([""], [""]),
}
MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August"]


def _pick(rnd: random.Random, weights: dict[str, int]) -> str:
    return rnd.choices(list(weights), weights=list(weights.values()))[0]


def rows(seed: int = 2026) -> list[dict[str, str]]:
    rnd = random.Random(seed)
    out = []
    for topic, (german, english) in CONCERNS.items():
        for n in range(ROWS_PER_TOPIC):
            side = n % 2  # 0 German, 1 English
            urgency = _pick(rnd, {"high": 25, "normal": 55, "low": 20})
            sentiment = _pick(rnd, {"negative": 30, "neutral": 50, "positive": 20})
            month = rnd.randrange(len(MONTHS))
            concern = rnd.choice((german, english)[side]).format(
                month=MONTHS[month],
                month_en=MONTHS_EN[month],
                day=rnd.randint(1, 28),
                quarter=rnd.randint(1, 4),
            )
            parts = [
                rnd.choice(OPENERS[side]),
                rnd.choice(SENTIMENT[sentiment][side]) if rnd.random() < 0.5 else "",
                concern[0].upper() + concern[1:] + ".",
                rnd.choice(SENTIMENT[sentiment][side]),
                rnd.choice(URGENCY[urgency][side]),
                rnd.choice(CLOSERS[side]),
            ]
            text = " ".join(part for part in parts if part)
            out.append(
                {
                    "text": text,
                    "language": ("de", "en")[side],
                    "topic": topic,
                    "urgency": urgency,
                    "sentiment": sentiment,
                }
            )
    rnd.shuffle(out)
    return out


def main() -> None:
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["text", "language", "topic", "urgency", "sentiment"]
        )
        writer.writeheader()
        writer.writerows(rows())
    print(f"{OUT}: {ROWS_PER_TOPIC * len(CONCERNS)} messages")


if __name__ == "__main__":
    main()
