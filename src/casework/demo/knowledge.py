"""The demo's knowledge base: articles of the mobile operator (tariffs, the international
option "Option Welt", contract term and cancellation, change of address, SIM and eSIM,
invoices, payment method) and of the collecting society (registering works, royalty
statements, membership, bank details), each in German and English, most public, a few for
agents only.

Idempotent like the rest of the demo: an article that exists (by code and language) is left
as it is, so an administrator's later edits survive another `casework demo`. The article
about international tariffs gets two versions, to show how older texts are kept.
"""

# The article texts keep one paragraph per line, as their authors write them: a line break
# inside a paragraph would show as one on the page.
# ruff: noqa: E501

from __future__ import annotations

from casework.kernel.actors import Actor
from casework.knowledge.models import Article, Category, Visibility
from casework.knowledge.services import ArticleContent, save_article

DEMO_ACTOR = Actor.system("demo")
PUBLIC, INTERNAL = Visibility.PUBLIC, Visibility.INTERNAL

# code, German name, English name, position
CATEGORIES = [
    ("tarife", "Tarife und Optionen", "Tariffs and options", 10),
    ("vertrag", "Vertrag und Kundendaten", "Contract and customer data", 20),
    ("sim", "SIM-Karte und Geräte", "SIM card and devices", 30),
    ("rechnung", "Rechnung und Zahlung", "Invoice and payment", 40),
    ("werke", "Werke und Abrechnung", "Works and royalties", 50),
    ("mitglieder", "Mitgliedschaft", "Membership", 60),
]

# The international article's first text: version 1, replaced by the one in ARTICLES.
WELT_V1 = {
    "de": ArticleContent(
        title="Auslandstarife und Option Welt",
        summary="Telefonieren und surfen außerhalb der EU mit der Option Welt für 9,99 € im Monat.",
        keywords="Ausland, Roaming, Urlaub, Reise, international",
        body="Mit der **Option Welt** telefonieren Sie in 60 Ländern außerhalb der EU für "
        "19 Cent pro Minute und surfen mit 1 GB im Monat.\n\nDie Option kostet 9,99 € im "
        "Monat und ist monatlich kündbar.",
    ),
    "en": ArticleContent(
        title="International tariffs and the Option Welt",
        summary="Calls and data outside the EU with the Option Welt for €9.99 a month.",
        keywords="abroad, roaming, holiday, travel, international",
        body="With the **Option Welt** you call from 60 countries outside the EU for 19 cents "
        "a minute and get 1 GB of data a month.\n\nThe option costs €9.99 a month and can be "
        "cancelled monthly.",
    ),
}

# code, category, visibility, {language: content}
ARTICLES: list[tuple[str, str, str, dict[str, ArticleContent]]] = [
    (
        "tarife-ueberblick",
        "tarife",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Unsere Mobilfunktarife im Überblick",
                summary="Sprache S, Mobil M und Mobil L: Minuten, Datenvolumen und Preise.",
                keywords="Tarif, Tarifwechsel, Datenvolumen, Flatrate, Preis, günstig",
                body="""Wir bieten drei Tarife an, die Sie jederzeit zum Monatsende wechseln können:

- **Sprache S** – 9,99 € im Monat: Telefon- und SMS-Flatrate, kein Datenvolumen. Ideal, wenn Sie nur telefonieren.
- **Mobil M** – 19,99 € im Monat: Flatrate und 10 GB Datenvolumen mit 5G.
- **Mobil L** – 29,99 € im Monat: Flatrate und 40 GB Datenvolumen, EU-Roaming inklusive.

## Tarif wechseln

Ein Wechsel in einen größeren Tarif ist sofort möglich, in einen kleineren zum Ende der Mindestlaufzeit. Sie wechseln im Kundenportal unter „Mein Vertrag“ oder telefonisch bei unserem Kundenservice.""",
            ),
            "en": ArticleContent(
                title="Our mobile tariffs at a glance",
                summary="Voice S, Mobile M and Mobile L: minutes, data and prices.",
                keywords="tariff, plan, change tariff, data volume, flat rate, price, cheap",
                body="""We offer three tariffs, and you can switch at the end of any month:

- **Voice S** – €9.99 a month: unlimited calls and texts, no mobile data. Ideal if you only make calls.
- **Mobile M** – €19.99 a month: unlimited calls and 10 GB of data with 5G.
- **Mobile L** – €29.99 a month: unlimited calls and 40 GB of data, EU roaming included.

## Changing your tariff

You can move to a larger tariff at once, and to a smaller one at the end of the minimum term. Change it in the customer portal under "My contract" or call our customer service.""",
            ),
        },
    ),
    (
        "auslandstarife-option-welt",
        "tarife",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Auslandstarife und Option Welt",
                summary="Günstig telefonieren und surfen außerhalb der EU: die Option Welt für 7,99 € im Monat.",
                keywords="Ausland, Roaming, Urlaub, Reise, Praktikum, Japan, USA, international, Auslandsgespräche",
                body="""Innerhalb der EU telefonieren und surfen Sie zu denselben Preisen wie zu Hause (EU-Roaming). Außerhalb der EU gelten Auslandstarife, die schnell teuer werden können.

## Die Option Welt

Mit der **Option Welt** telefonieren Sie in 80 Ländern außerhalb der EU – darunter die USA, Japan, die Schweiz und die Türkei – für 9 Cent pro Minute und surfen mit 3 GB Datenvolumen im Monat.

- Preis: 7,99 € im Monat, monatlich kündbar
- Buchen im Kundenportal, in der App oder beim Kundenservice
- Gilt ab dem Tag der Buchung

## Anrufe ins Ausland

Anrufe von Deutschland ins Ausland sind in der Option Welt ebenfalls enthalten: 9 Cent pro Minute in alle 80 Länder.

Tipp: Buchen Sie die Option vor der Reise. Bei einem längeren Aufenthalt, etwa einem Praktikum, lohnt sie sich fast immer.""",
            ),
            "en": ArticleContent(
                title="International tariffs and the Option Welt",
                summary="Low-cost calls and data outside the EU: the Option Welt for €7.99 a month.",
                keywords="abroad, roaming, holiday, travel, internship, Japan, USA, international calls",
                body="""Within the EU you call and use data at the same prices as at home (EU roaming). Outside the EU international tariffs apply, and they can get expensive quickly.

## The Option Welt

With the **Option Welt** you call from 80 countries outside the EU – among them the USA, Japan, Switzerland and Turkey – for 9 cents a minute and get 3 GB of data a month.

- Price: €7.99 a month, can be cancelled monthly
- Book it in the customer portal, in the app or with customer service
- Valid from the day you book it

## Calls abroad

Calls from Germany to other countries are included in the Option Welt too: 9 cents a minute to all 80 countries.

Tip: book the option before you travel. For a longer stay, such as an internship, it almost always pays off.""",
            ),
        },
    ),
    (
        "vertragslaufzeit-kuendigung",
        "vertrag",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Vertragslaufzeit und Kündigung",
                summary="Mindestlaufzeit, Verlängerung und wie Sie Ihren Vertrag kündigen.",
                keywords="kündigen, Kündigungsfrist, Laufzeit, Vertragsende, Verlängerung, Sonderkündigung",
                body="""Verträge mit Smartphone haben eine Mindestlaufzeit von 24 Monaten, Verträge ohne Gerät von 1 oder 24 Monaten. Nach der Mindestlaufzeit verlängert sich der Vertrag auf unbestimmte Zeit und ist dann mit einer Frist von einem Monat kündbar.

## So kündigen Sie

- Über den Kündigungsbutton im Kundenportal („Vertrag hier kündigen“)
- Schriftlich per Brief oder E-Mail mit Ihrer Kundennummer
- Telefonisch beim Kundenservice

Sie erhalten eine Bestätigung mit dem Vertragsende. Ihre Rufnummer können Sie zu einem anderen Anbieter mitnehmen.

## Sonderkündigung

Bei einem Umzug ins Ausland oder einer Preiserhöhung haben Sie ein Sonderkündigungsrecht.""",
            ),
            "en": ArticleContent(
                title="Contract term and cancellation",
                summary="Minimum term, renewal and how to cancel your contract.",
                keywords="cancel, cancellation, notice period, term, contract end, renewal, terminate",
                body="""Contracts with a smartphone have a minimum term of 24 months, contracts without a device 1 or 24 months. After the minimum term the contract continues indefinitely and can then be cancelled with one month's notice.

## How to cancel

- With the cancellation button in the customer portal ("Cancel contract here")
- In writing, by letter or e-mail, with your customer number
- By phone with customer service

You receive a confirmation with the end date of your contract. You can take your phone number to another provider.

## Special right of cancellation

If you move abroad or prices go up, you may cancel early.""",
            ),
        },
    ),
    (
        "adresse-aendern",
        "vertrag",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Adresse ändern bei Umzug",
                summary="So teilen Sie uns Ihre neue Anschrift mit.",
                keywords="Umzug, Anschrift, Adressänderung, neue Adresse, umziehen",
                body="""Sie ziehen um? Ändern Sie Ihre Anschrift am einfachsten selbst im Kundenportal unter „Meine Daten“. Die neue Adresse gilt sofort für Rechnungen und Briefe.

Alternativ schreiben Sie uns eine E-Mail mit Ihrer Kundennummer, der neuen Anschrift und dem Umzugsdatum. Ein Umzug innerhalb Deutschlands ist kein Grund für eine Sonderkündigung, Ihr Mobilfunkvertrag läuft einfach weiter.""",
            ),
            "en": ArticleContent(
                title="Changing your address when you move",
                summary="How to tell us your new address.",
                keywords="move, moving house, address change, new address, relocation",
                body="""Moving house? The easiest way is to change your address yourself in the customer portal under "My details". The new address applies at once to invoices and letters.

Or send us an e-mail with your customer number, the new address and the date of the move. Moving within Germany does not allow early cancellation; your mobile contract simply continues.""",
            ),
        },
    ),
    (
        "sim-esim",
        "sim",
        PUBLIC,
        {
            "de": ArticleContent(
                title="SIM-Karte und eSIM",
                summary="Ersatz-SIM, Wechsel zur eSIM, PIN und PUK.",
                keywords="SIM, eSIM, Ersatzkarte, PIN, PUK, gesperrt, verloren, gestohlen, QR-Code",
                body="""## SIM-Karte verloren oder defekt

Lassen Sie Ihre SIM-Karte sofort beim Kundenservice sperren. Eine Ersatz-SIM kostet 14,95 € und kommt in zwei bis drei Werktagen per Post.

## Wechsel zur eSIM

Ihr Smartphone unterstützt eSIM? Bestellen Sie im Kundenportal eine eSIM. Sie erhalten einen QR-Code per E-Mail, den Sie mit dem Smartphone scannen. Die alte SIM-Karte wird dabei deaktiviert.

## PIN und PUK

Nach dreimaliger falscher PIN-Eingabe ist die Karte gesperrt. Die PUK finden Sie im Kundenportal unter „Meine SIM-Karten“.""",
            ),
            "en": ArticleContent(
                title="SIM card and eSIM",
                summary="Replacement SIM, switching to eSIM, PIN and PUK.",
                keywords="SIM, eSIM, replacement card, PIN, PUK, blocked, lost, stolen, QR code",
                body="""## SIM card lost or broken

Have your SIM card blocked by customer service straight away. A replacement SIM costs €14.95 and arrives by post in two to three working days.

## Switching to eSIM

Does your smartphone support eSIM? Order an eSIM in the customer portal. You receive a QR code by e-mail, which you scan with the phone. The old SIM card is deactivated.

## PIN and PUK

After three wrong PIN entries the card is blocked. You find the PUK in the customer portal under "My SIM cards".""",
            ),
        },
    ),
    (
        "rechnung-fragen",
        "rechnung",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Fragen zur Rechnung",
                summary="Wann die Rechnung kommt, was die Posten bedeuten und was bei Fehlern zu tun ist.",
                keywords="Rechnung, Abbuchung, doppelt abgebucht, Betrag, Posten, Einspruch, Drittanbieter",
                body="""Ihre Rechnung steht jeden Monat um den 5. im Kundenportal bereit; wir schicken Ihnen eine E-Mail, sobald sie da ist.

## Posten auf der Rechnung

- **Grundgebühr**: der monatliche Preis Ihres Tarifs und Ihrer Optionen
- **Verbindungen**: Gespräche und Daten, die nicht im Tarif enthalten sind, zum Beispiel im Ausland
- **Drittanbieter**: Käufe über Ihre Mobilfunkrechnung, etwa Abos in Apps

## Betrag falsch oder doppelt abgebucht?

Schreiben Sie uns innerhalb von acht Wochen mit der Rechnungsnummer. Wir prüfen die Rechnung und erstatten zu viel gezahlte Beträge auf Ihr Konto.""",
            ),
            "en": ArticleContent(
                title="Questions about your invoice",
                summary="When the invoice comes, what its items mean and what to do about mistakes.",
                keywords="invoice, bill, charged twice, amount, items, dispute, third-party charges",
                body="""Your invoice is ready in the customer portal around the 5th of each month; we send you an e-mail when it is there.

## Items on the invoice

- **Monthly fee**: the monthly price of your tariff and your options
- **Usage**: calls and data not included in your tariff, for example abroad
- **Third parties**: purchases charged to your mobile bill, such as app subscriptions

## Amount wrong or charged twice?

Write to us within eight weeks with the invoice number. We check the invoice and refund anything you paid too much to your account.""",
            ),
        },
    ),
    (
        "zahlungsart-aendern",
        "rechnung",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Zahlungsart ändern",
                summary="Lastschrift, Überweisung oder Dauerauftrag: so stellen Sie um.",
                keywords="Zahlungsart, Lastschrift, SEPA, Überweisung, Dauerauftrag, IBAN, Bankverbindung",
                body="""Sie können per SEPA-Lastschrift, Überweisung oder Dauerauftrag bezahlen.

- **Lastschrift**: Tragen Sie Ihre IBAN im Kundenportal unter „Zahlungsart“ ein und erteilen Sie das SEPA-Mandat.
- **Überweisung oder Dauerauftrag**: Überweisen Sie den Rechnungsbetrag mit Ihrer Kundennummer im Verwendungszweck. Für einen Dauerauftrag nennen wir Ihnen gern den monatlichen Betrag.

Die Änderung gilt ab der nächsten Rechnung.""",
            ),
            "en": ArticleContent(
                title="Changing your payment method",
                summary="Direct debit, bank transfer or standing order: how to switch.",
                keywords="payment method, direct debit, SEPA, bank transfer, standing order, IBAN, bank details",
                body="""You can pay by SEPA direct debit, bank transfer or standing order.

- **Direct debit**: enter your IBAN in the customer portal under "Payment method" and grant the SEPA mandate.
- **Bank transfer or standing order**: transfer the invoice amount with your customer number as the reference. For a standing order we are happy to tell you the monthly amount.

The change applies from the next invoice.""",
            ),
        },
    ),
    (
        "kulanz-auslandsrechnung",
        "rechnung",
        INTERNAL,
        {
            "de": ArticleContent(
                title="Kulanz bei hohen Auslandsrechnungen (intern)",
                summary="Wann und wie viel Kulanz Agenten bei Roaming-Kosten gewähren dürfen.",
                keywords="Kulanz, Gutschrift, Roaming, Auslandsrechnung, Beschwerde, hohe Rechnung",
                body="""Bei einer Rechnung mit Auslandsverbindungen über 100 € ohne gebuchte Option Welt:

1. Prüfen, ob die Kostenwarnung per SMS versendet wurde.
2. Einmalig pro Kunde und Jahr bis zu 50 % der Auslandskosten gutschreiben, höchstens 150 €.
3. Option Welt rückwirkend zum Monatsanfang anbieten, wenn der Kunde noch im Ausland ist.

Darüber hinaus an den 2nd Level (Team Rechnung) weitergeben. Die Gutschrift als Notiz am Fall festhalten.""",
            ),
            "en": ArticleContent(
                title="Goodwill for high roaming bills (internal)",
                summary="When and how much goodwill agents may grant for roaming charges.",
                keywords="goodwill, credit, roaming, bill abroad, complaint, high invoice",
                body="""For an invoice with international usage above €100 and no Option Welt booked:

1. Check whether the cost warning was sent by text message.
2. Once per customer and year, credit up to 50 % of the international charges, at most €150.
3. Offer the Option Welt backdated to the start of the month if the customer is still abroad.

Anything beyond goes to 2nd level (billing team). Record the credit as a note on the case.""",
            ),
        },
    ),
    (
        "kuendigung-gespraech",
        "vertrag",
        INTERNAL,
        {
            "de": ArticleContent(
                title="Kündigungswunsch: Gesprächsleitfaden (intern)",
                summary="Wie Agenten Kündigungswünsche aufnehmen und welche Angebote sie machen dürfen.",
                keywords="Kündigung, Rückgewinnung, Kundenbindung, Angebot, Retention",
                body="""1. Kündigungsgrund erfragen und am Fall notieren (Preis, Leistung, Umzug, Unzufriedenheit).
2. Die nächsten besten Angebote im Fall ansehen; passende Angebote aktiv nennen.
3. Lehnt der Kunde ab, die Kündigung ohne weitere Überredung aufnehmen und das Vertragsende bestätigen.

Niemals eine Kündigung verweigern oder verzögern.""",
            ),
            "en": ArticleContent(
                title="Cancellation request: call guide (internal)",
                summary="How agents take cancellation requests and which offers they may make.",
                keywords="cancellation, win-back, retention, offer, churn",
                body="""1. Ask for the reason and note it on the case (price, service, move, dissatisfaction).
2. Look at the next best offers on the case; name suitable ones.
3. If the customer declines, take the cancellation without further persuasion and confirm the end date.

Never refuse or delay a cancellation.""",
            ),
        },
    ),
    (
        "werke-anmelden",
        "werke",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Werke anmelden",
                summary="So melden Sie neue Kompositionen und Texte zur Verwertung an.",
                keywords="Werkanmeldung, Komposition, Text, Urheber, Verlag, ISWC, Anmeldung, Lied",
                body="""Melden Sie jedes neue Werk an, bevor es aufgeführt, gesendet oder veröffentlicht wird. Nur angemeldete Werke können wir abrechnen.

## So geht es

1. Im Mitgliederportal „Werk anmelden“ wählen.
2. Titel, Urheber (Komposition, Text, Bearbeitung) und deren Anteile angeben.
3. Bei Verlagswerken den Verlag und den Verlagsvertrag nennen.

Die Anmeldung ist kostenlos. Nach der Prüfung erhält das Werk eine Werknummer und eine ISWC. Fehlende Angaben fragen wir per E-Mail nach.""",
            ),
            "en": ArticleContent(
                title="Registering your works",
                summary="How to register new compositions and lyrics for licensing.",
                keywords="work registration, composition, lyrics, author, publisher, ISWC, register, song",
                body="""Register every new work before it is performed, broadcast or released. We can only pay royalties for registered works.

## How it works

1. Choose "Register a work" in the member portal.
2. Enter the title, the authors (composition, lyrics, arrangement) and their shares.
3. For published works, name the publisher and the publishing agreement.

Registration is free. After checking, the work gets a work number and an ISWC. We ask for missing details by e-mail.""",
            ),
        },
    ),
    (
        "abrechnung-ausschuettung",
        "werke",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Ihre Abrechnung und Ausschüttung",
                summary="Wann ausgeschüttet wird, wie sich die Beträge zusammensetzen und was bei fehlenden Nutzungen zu tun ist.",
                keywords="Abrechnung, Ausschüttung, Tantiemen, Aufführung, Nutzung, Quartal, fehlt, Reklamation",
                body="""Wir schütten viermal im Jahr aus, jeweils zum Quartalsende. Ihre Abrechnung steht im Mitgliederportal unter „Abrechnungen“.

## Wie sich der Betrag zusammensetzt

Die Ausschüttung ergibt sich aus den gemeldeten Nutzungen Ihrer Werke: Aufführungen bei Konzerten, Sendungen im Radio und Fernsehen, Streaming und Tonträger. Jede Nutzung wird nach dem Verteilungsplan bewertet.

## Aufführungen fehlen

Fehlt eine Aufführung in Ihrer Abrechnung, reichen Sie innerhalb von sechs Monaten eine Reklamation mit dem Programm (Setlist), Datum und Veranstaltungsort ein. Wir prüfen sie und rechnen nach.""",
            ),
            "en": ArticleContent(
                title="Your royalty statement and distribution",
                summary="When royalties are paid, how the amounts are made up, and what to do about missing performances.",
                keywords="royalty statement, distribution, royalties, performance, usage, quarter, missing, claim",
                body="""We distribute royalties four times a year, at the end of each quarter. Your statement is in the member portal under "Statements".

## How the amount is made up

The distribution follows the reported uses of your works: performances at concerts, radio and TV broadcasts, streaming and recordings. Each use is valued according to the distribution plan.

## Performances missing

If a performance is missing from your statement, file a claim within six months with the programme (set list), date and venue. We check it and pay what is due.""",
            ),
        },
    ),
    (
        "mitgliedschaft",
        "mitglieder",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Mitglied werden",
                summary="Wer Mitglied werden kann, was es kostet und welche Unterlagen nötig sind.",
                keywords="Mitgliedschaft, Aufnahme, Beitritt, Berechtigungsvertrag, Mitgliedsbeitrag, Komponist, Textdichter",
                body="""Mitglied werden können Komponistinnen, Textdichter und Musikverlage, deren Werke veröffentlicht oder aufgeführt werden.

## Aufnahme

1. Online-Antrag im Mitgliederportal ausfüllen.
2. Berechtigungsvertrag unterschreiben.
3. Nachweis eines veröffentlichten oder aufgeführten Werks beilegen.

Die Aufnahmegebühr beträgt einmalig 90 €, der Jahresbeitrag 50 €. Er wird mit der ersten Ausschüttung verrechnet. Über die Aufnahme entscheiden wir innerhalb von vier Wochen.""",
            ),
            "en": ArticleContent(
                title="Becoming a member",
                summary="Who can join, what it costs and which documents are needed.",
                keywords="membership, join, admission, agreement, membership fee, composer, lyricist",
                body="""Composers, lyricists and music publishers whose works are published or performed can become members.

## Admission

1. Fill in the online application in the member portal.
2. Sign the rights agreement.
3. Enclose proof of a published or performed work.

The admission fee is a one-off €90, the annual fee €50, offset against the first distribution. We decide on admission within four weeks.""",
            ),
        },
    ),
    (
        "bankverbindung-aendern",
        "mitglieder",
        PUBLIC,
        {
            "de": ArticleContent(
                title="Bankverbindung ändern",
                summary="Neue IBAN für Ihre Ausschüttungen mitteilen.",
                keywords="Bankverbindung, IBAN, Konto, Kontowechsel, Auszahlung, Ausschüttung, Bank",
                body="""Ändern Sie Ihre Bankverbindung im Mitgliederportal unter „Meine Daten“ > „Bankverbindung“. Aus Sicherheitsgründen bestätigen Sie die Änderung mit einem Code, den wir Ihnen per Post schicken.

Änderungen, die bis zwei Wochen vor dem Quartalsende eingehen, gelten schon für die nächste Ausschüttung. Das Konto muss auf Ihren Namen oder den Ihres Verlags lauten.""",
            ),
            "en": ArticleContent(
                title="Changing your bank details",
                summary="Tell us the new IBAN for your royalty payments.",
                keywords="bank details, IBAN, account, new account, payout, distribution, bank",
                body="""Change your bank details in the member portal under "My details" > "Bank account". For your security, you confirm the change with a code we send you by post.

Changes that reach us up to two weeks before the end of a quarter apply to the next distribution. The account must be in your name or your publisher's.""",
            ),
        },
    ),
    (
        "werkanmeldung-pruefen",
        "werke",
        INTERNAL,
        {
            "de": ArticleContent(
                title="Werkanmeldungen prüfen: Sonderfälle (intern)",
                summary="Bearbeitungen, Anteile über 100 % und strittige Urheberschaft.",
                keywords="Werkanmeldung, Prüfung, Bearbeitung, Anteile, Urheberschaft, Streitfall, 2nd Level",
                body="""- **Anteile ergeben mehr als 100 %**: Anmeldung zurückstellen, alle Beteiligten anschreiben.
- **Bearbeitung gemeinfreier Werke**: nur mit Nachweis der eigenschöpferischen Leistung; an die Abteilung Werkdokumentation weiterleiten (Unterfall).
- **Strittige Urheberschaft**: Ausschüttung sperren und an den 3rd Level (Rechtsabteilung) geben.

Das Mitglied erhält über jeden Schritt eine Nachricht zum Fall.""",
            ),
            "en": ArticleContent(
                title="Checking work registrations: special cases (internal)",
                summary="Arrangements, shares above 100 % and disputed authorship.",
                keywords="work registration, check, arrangement, shares, authorship, dispute, 2nd level",
                body="""- **Shares add up to more than 100 %**: put the registration on hold and write to everyone involved.
- **Arrangements of public-domain works**: only with proof of original creative work; forward to the works documentation department (sub-case).
- **Disputed authorship**: block the distribution and hand over to 3rd level (legal department).

The member is told about every step on the case.""",
            ),
        },
    ),
]


def load_knowledge() -> int:
    """Create the missing categories and articles; returns how many articles exist."""
    categories = {}
    for code, name_de, name_en, position in CATEGORIES:
        categories[code], _ = Category.objects.get_or_create(
            code=code, defaults={"name_de": name_de, "name_en": name_en, "position": position}
        )
    for code, category, visibility, texts in ARTICLES:
        for language, content in texts.items():
            if Article.objects.filter(code=code, language=language).exists():
                continue
            article = Article(
                code=code,
                language=language,
                category=categories[category],
                visibility=visibility,
            )
            if code == "auslandstarife-option-welt":
                save_article(article, WELT_V1[language], actor=DEMO_ACTOR)
            save_article(article, content, actor=DEMO_ACTOR)
    return Article.objects.count()
