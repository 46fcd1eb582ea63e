"""Signing in to the portal: by a link mailed to a known address, or by the password the
customer set. Both are rate-limited per address and per client address.

The answer to "mail me a link" is the same whether or not the address belongs to a
customer, so the form cannot be used to find out who is a customer. A link works once,
for `CASEWORK_PORTAL_LINK_MINUTES` minutes; it is redeemed by one conditional UPDATE, so
two requests racing with the same link sign in at most once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from casework.channels.email.models import Mailbox
from casework.customers.identifiers import Identifier, IdentifierKind, InvalidIdentifier
from casework.customers.identifiers import normalise_email as _normalise_email
from casework.customers.matching import MatchOutcome, identify
from casework.customers.models import Customer, CustomerIdentifier
from casework.events.services import record, recording_transaction
from casework.kernel import clock
from casework.kernel.actors import Actor
from casework.kernel.errors import DomainError, InvalidInput
from casework.portal import mail, tokens
from casework.portal.models import PortalAccount, SignInAttempt, SignInLink

logger = logging.getLogger(__name__)

PORTAL_ACTOR = Actor.system("portal")


def link_minutes() -> int:
    return int(getattr(settings, "CASEWORK_PORTAL_LINK_MINUTES", 15))


def attempts_allowed() -> int:
    """Sign-in requests per address and per client address within the window."""
    return int(getattr(settings, "CASEWORK_PORTAL_SIGN_IN_LIMIT", 5))


def window_minutes() -> int:
    return int(getattr(settings, "CASEWORK_PORTAL_SIGN_IN_WINDOW_MINUTES", 15))


@dataclass(frozen=True)
class Client:
    """Who is asking, as the request shows it: for the rate limit and the audit."""

    address: str
    user_agent: str = ""


class RateLimited(DomainError):
    code = "portal_rate_limited"
    status = 429


class InvalidLink(DomainError):
    """Unknown, malformed, used or expired: one answer for all, nothing to probe."""

    code = "portal_link_invalid"
    status = 400


class LinkState(StrEnum):
    VALID = "valid"
    INVALID = "invalid"  # unknown or malformed
    USED = "used"
    EXPIRED = "expired"


def normalise_email(raw: str) -> str:
    try:
        return _normalise_email(raw)
    except InvalidIdentifier as error:
        raise InvalidInput(_("Please enter a valid e-mail address."), field="email") from error


def find_customer_by_email(address: str) -> Customer | None:
    result = identify([Identifier(IdentifierKind.EMAIL, address)])
    return result.customer if result.outcome == MatchOutcome.MATCHED else None


# -- the rate limit --------------------------------------------------------------------------


def count_attempt(*keys: str) -> None:
    """Count one attempt under each key; raise RateLimited, counting nothing, when one of
    them has used up its attempts in the window. In the database: every process counts."""
    now = clock.now()
    since = now - timedelta(minutes=window_minutes())
    with transaction.atomic():
        for key in keys:
            if (
                SignInAttempt.objects.filter(key=key, attempted_at__gt=since).count()
                >= attempts_allowed()
            ):
                raise RateLimited(
                    _("Too many sign-in requests. Please wait %(minutes)d minutes and try again.")
                    % {"minutes": window_minutes()}
                )
        SignInAttempt.objects.bulk_create(
            [SignInAttempt(key=key, attempted_at=now) for key in keys]
        )
        # What has left the window counts no more: keep the table small.
        SignInAttempt.objects.filter(attempted_at__lte=since).delete()


# -- links -----------------------------------------------------------------------------------


def request_sign_in_link(raw_email: str, *, client: Client, language: str) -> bool:
    """Mail a sign-in link if the address belongs to a customer. Returns whether a mail
    was queued: for tests and the log only; the customer must be told the same either way."""
    address = normalise_email(raw_email)
    count_attempt(tokens.attempt_key("email", address), tokens.attempt_key("ip", client.address))
    customer = find_customer_by_email(address)
    if customer is None:
        return False
    mailbox = mail.sender_mailbox()
    if mailbox is None:
        logger.warning("no active mailbox: the portal cannot send sign-in links")
        return False
    # The customer's own language, as their other mail; the page's when it is neither.
    language = customer.language[:2] if customer.language[:2] in ("de", "en") else language
    issue_link(customer, to_address=address, client=client, language=language, mailbox=mailbox)
    return True


def issue_link(
    customer: Customer,
    *,
    to_address: str,
    client: Client,
    language: str,
    mailbox: Mailbox | None,
) -> str:
    """A new link for the customer, mailed to `to_address` from `mailbox` (without one, the
    link is only made: the demo prints it); returns its URL."""
    token = tokens.new_token()
    now = clock.now()
    minutes = link_minutes()
    url = settings.CASEWORK_PUBLIC_URL + reverse("portal:link", kwargs={"token": token})
    with recording_transaction():
        link = SignInLink.objects.create(
            customer=customer,
            token_sha256=tokens.token_sha256(token),
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
            requested_from=client.address[:64],
        )
        if mailbox is not None:
            mail.queue_sign_in_mail(
                mailbox=mailbox,
                customer=customer,
                to_address=to_address,
                url=url,
                minutes=minutes,
                language=language,
                actor=PORTAL_ACTOR,
            )
        record(
            "portal.sign_in_link_sent",
            actor=PORTAL_ACTOR,
            object_type="customer",
            object_id=customer.pk,
            payload={
                "link_id": link.pk,
                "client_address": client.address,
                "expires_at": link.expires_at,
                "mailed": mailbox is not None,
            },
        )
    return url


def link_state(token: str) -> LinkState:
    """What a link is, without using it (the page that asks "sign in?")."""
    if not tokens.is_well_formed(token):
        return LinkState.INVALID
    link = SignInLink.objects.filter(token_sha256=tokens.token_sha256(token)).first()
    if link is None:
        return LinkState.INVALID
    if link.used_at is not None:
        return LinkState.USED
    if link.expires_at <= clock.now():
        return LinkState.EXPIRED
    return LinkState.VALID


def redeem_link(token: str, *, client: Client) -> Customer:
    """Use the link: once, before it expires. Raises InvalidLink otherwise."""
    if not tokens.is_well_formed(token):
        raise InvalidLink(_("This sign-in link is not valid."))
    now = clock.now()
    with recording_transaction():
        digest = tokens.token_sha256(token)
        used = SignInLink.objects.filter(
            token_sha256=digest, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if used != 1:
            raise InvalidLink(_invalid_link_message(link_state(token)))
        link = SignInLink.objects.select_related("customer").get(token_sha256=digest)
        customer = _survivor(link.customer)
        if customer is None:
            raise InvalidLink(_("This sign-in link is not valid."))
        _record_sign_in(customer, method="link", client=client)
    return customer


def _invalid_link_message(state: LinkState) -> str:
    if state == LinkState.USED:
        return _("This sign-in link has been used already. Please ask for a new one.")
    if state == LinkState.EXPIRED:
        return _("This sign-in link has expired. Please ask for a new one.")
    return _("This sign-in link is not valid.")


def invalid_link_message(state: LinkState) -> str:
    return _invalid_link_message(state)


def _survivor(customer: Customer) -> Customer | None:
    hops = 0
    while customer.merged_into_id is not None and hops < 10:
        customer = Customer.objects.get(pk=customer.merged_into_id)
        hops += 1
    return None if customer.merged_into_id is not None else customer


def _record_sign_in(customer: Customer, *, method: str, client: Client) -> None:
    record(
        "portal.signed_in",
        actor=Actor.customer(customer.pk),
        object_type="customer",
        object_id=customer.pk,
        payload={
            "method": method,
            "client_address": client.address,
            "user_agent": client.user_agent[:500],
        },
    )


# -- passwords -------------------------------------------------------------------------------

# Checked when the address is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_PASSWORD = make_password("casework-portal-dummy")


def sign_in_with_password(raw_email: str, password: str, *, client: Client) -> Customer | None:
    """The customer whose address and password these are, signed in; None otherwise."""
    address = normalise_email(raw_email)
    count_attempt(tokens.attempt_key("password", address), tokens.attempt_key("ip", client.address))
    customer = find_customer_by_email(address)
    account = (
        PortalAccount.objects.filter(customer=customer).first() if customer is not None else None
    )
    if account is None:
        check_password(password, _DUMMY_PASSWORD)
        return None
    if not check_password(password, account.password):
        return None
    assert customer is not None
    with recording_transaction():
        _record_sign_in(customer, method="password", client=client)
    return customer


def has_password(customer: Customer) -> bool:
    return PortalAccount.objects.filter(customer=customer).exists()


def set_password(customer: Customer, password: str, confirmation: str) -> None:
    """Set or change the customer's portal password (they are signed in already)."""
    if password != confirmation:
        raise InvalidInput(_("The two passwords are not the same."), field="password2")
    try:
        validate_password(password)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), field="password1") from error
    now = clock.now()
    with recording_transaction():
        PortalAccount.objects.filter(customer=customer).delete()
        PortalAccount.objects.create(
            customer=customer, password=make_password(password), password_set_at=now
        )
        record(
            "portal.password_set",
            actor=Actor.customer(customer.pk),
            object_type="customer",
            object_id=customer.pk,
            payload={},
        )


def record_sign_out(customer: Customer, *, client: Client) -> None:
    with recording_transaction():
        record(
            "portal.signed_out",
            actor=Actor.customer(customer.pk),
            object_type="customer",
            object_id=customer.pk,
            payload={"client_address": client.address},
        )


def email_of(customer: Customer) -> str | None:
    """The customer's first e-mail address (where a demo link is sent)."""
    return (
        CustomerIdentifier.objects.filter(customer=customer, kind=IdentifierKind.EMAIL)
        .order_by("pk")
        .values_list("value", flat=True)
        .first()
    )
