"""Texts of generated customer contacts: e-mail subjects and bodies, call notes, chat lines.

German-heavy, like the installations Casework is built for; about a fifth in English.
Deterministic for a given `random.Random`.
"""

from __future__ import annotations

import random

SUBJECTS_DE = [
    "Rechnung {n} fehlerhaft", "Frage zu meiner Rechnung vom {day}.{month}.",
    "Kündigung meines Vertrags {n}", "Tarifwechsel gewünscht", "Rufnummernmitnahme",
    "Kein Netz seit gestern", "Adressänderung", "Lastschrift zurückgebucht",
    "Roaming-Kosten in der Schweiz", "SIM-Karte defekt", "Beschwerde über Ihren Außendienst",
    "Gutschrift noch nicht erhalten", "Vertragsverlängerung {n}", "Zählerstand für {month}/2026",
]  # fmt: skip
SUBJECTS_EN = [
    "Order {n} has not arrived", "Invoice {n} is wrong", "Cannot log in to the portal",
    "Charged twice for order {n}", "Please cancel contract {n}", "Roaming charges",
]  # fmt: skip
SENTENCES_DE = [
    "ich habe heute Ihre Rechnung erhalten und verstehe die Position {n} nicht.",
    "Seit dem {day}.{month}. funktioniert mein Anschluss nur noch sporadisch.",
    "Bitte teilen Sie mir mit, bis wann die Gutschrift auf meinem Konto eingeht.",
    "Ich habe bereits zweimal angerufen, aber niemand konnte mir helfen.",
    "Die Kundennummer finden Sie in der Signatur.",
    "Anbei sende ich Ihnen die gewünschten Unterlagen.",
    "Mein Vertrag läuft meines Wissens am {day}.{month}.2027 aus.",
    "Bitte buchen Sie den Betrag von {euros},{cents} € nicht noch einmal ab.",
    "Ich bin umgezogen und möchte meine neue Anschrift mitteilen.",
    "Können Sie mir bitte eine Kopie des Vertrags per E-Mail schicken?",
    "Im Kundenportal wird mir seit Tagen eine Fehlermeldung angezeigt.",
    "Ich bitte um eine schriftliche Bestätigung.",
]  # fmt: skip
SENTENCES_EN = [
    "I received your invoice today and do not understand item {n}.",
    "My connection has been dropping since {month}/{day}.",
    "Please let me know when the refund will reach my account.",
    "I have called twice already and nobody could help me.",
    "Please send me a copy of my contract.",
    "The portal shows an error message whenever I try to log in.",
]  # fmt: skip
CALL_NOTES = [
    "Kunde ruft an wegen Rechnung {n}; Position Roaming unklar.",
    "Anruferin meldet Störung seit {day}.{month}., Router bereits neu gestartet.",
    "Kunde möchte Tarif wechseln, Beratung gewünscht; Rückruf vereinbart.",
    "Kündigungswunsch zum Vertragsende, Gründe: Preis.",
    "Frage zur Lastschrift über {euros},{cents} €, Kunde bittet um Prüfung.",
    "Adresse geändert, Bestätigung per Brief gewünscht.",
]  # fmt: skip
CHAT_LINES = [
    "Hallo, wie kann ich meine Rufnummer mitnehmen?",
    "Guten Tag, meine letzte Rechnung ist viel zu hoch ({euros},{cents} €).",
    "Ich kann mich im Portal nicht anmelden.",
    "Hi, my SIM card stopped working yesterday.",
]  # fmt: skip


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        n=rng.randint(100_000, 999_999),
        day=rng.randint(1, 28),
        month=rng.randint(1, 12),
        euros=rng.randint(5, 400),
        cents=f"{rng.randint(0, 99):02d}",
    )


def subject(rng: random.Random, *, english: bool = False) -> str:
    return _fill(rng.choice(SUBJECTS_EN if english else SUBJECTS_DE), rng)


def email_body(rng: random.Random, name: str, *, english: bool = False) -> str:
    sentences = SENTENCES_EN if english else SENTENCES_DE
    greeting = "Dear Sir or Madam," if english else "Sehr geehrte Damen und Herren,"
    closing = "Kind regards" if english else "Mit freundlichen Grüßen"
    lines = [_fill(rng.choice(sentences), rng) for _ in range(rng.randint(2, 6))]
    quoted = ""
    if rng.random() < 0.3:  # a quoted earlier message makes some bodies much longer
        quoted = "\n\n> " + "\n> ".join(_fill(rng.choice(sentences), rng) for _ in range(8))
    return f"{greeting}\n\n{' '.join(lines)}\n\n{closing}\n{name}{quoted}"


def call_note(rng: random.Random) -> str:
    return _fill(rng.choice(CALL_NOTES), rng)


def chat_line(rng: random.Random) -> str:
    return _fill(rng.choice(CHAT_LINES), rng)
