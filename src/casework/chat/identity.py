"""Who a chat visitor is, proved: a signed start token.

A website that knows its visitor (signed in to its own customer area) signs the customer
number with the installation's chat key and hands it to the widget
(`data-identity="…"`); Casework's own pages (the portal, a personal campaign link) do the
same for the customer they know. The token may carry context (the offer a campaign
advertised) so the bot and the agent know why the customer came. Unsigned or expired
tokens are refused; nothing else makes a visitor "verified"."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from casework.customers.models import Customer
from casework.kernel.errors import InvalidInput

_SALT = "casework.chat.identity"
# A token is for starting a chat soon after the page was served.
MAX_AGE_SECONDS = 24 * 3600


class IdentityRefused(InvalidInput):
    code = "chat_identity_refused"


@dataclass(frozen=True)
class Identity:
    customer: Customer | None
    context: dict[str, Any] = field(default_factory=dict)


def _key() -> str:
    configured = settings.CASEWORK_CHAT_IDENTITY_KEY
    if configured:
        return configured
    return hashlib.sha256(f"chat-identity:{settings.SECRET_KEY}".encode()).hexdigest()


def sign_identity(customer_number: str | None, *, context: dict[str, Any] | None = None) -> str:
    """The token for a widget started for this customer (None: anonymous, context only)."""
    return signing.dumps(
        {"customer": customer_number, "context": context or {}}, key=_key(), salt=_SALT
    )


def read_identity(token: str) -> Identity:
    try:
        data = signing.loads(token, key=_key(), salt=_SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired as error:
        raise IdentityRefused(_("the identity token has expired"), field="identity") from error
    except signing.BadSignature as error:
        raise IdentityRefused(_("the identity token is not valid"), field="identity") from error
    number = data.get("customer")
    customer = None
    if number:
        customer = Customer.objects.filter(customer_number=number).first()
        if customer is None:
            raise IdentityRefused(_("the identity token names no known customer"), field="identity")
    context = data.get("context") if isinstance(data.get("context"), dict) else {}
    return Identity(customer=customer, context=context)
