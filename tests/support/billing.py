"""Scenario helpers: a catalog, a customer on a test clock, moving the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import stripe

from recur.domain.clock import to_unix
from tests.support.clocks import wait_for_clock_ready


@dataclass
class Shop:
    """A customer with a card on a test clock, and the client that sees them."""

    client: stripe.StripeClient
    clock_id: str
    customer_id: str

    def advance(self, to: datetime) -> None:
        """Move the clock to `to` and wait until every due action has run."""
        self.client.v1.test_helpers.test_clocks.advance(
            self.clock_id, params={"frozen_time": to_unix(to)}
        )
        wait_for_clock_ready(self.client, self.clock_id, timeout=60)

    def price(
        self, amount: int, *, interval: str = "month", currency: str = "eur", name: str = "Desk"
    ) -> str:
        """A recurring price of a new product."""
        product = self.client.v1.products.create(params={"name": name})
        return self.client.v1.prices.create(
            params={
                "product": product.id,
                "currency": currency,
                "unit_amount": amount,
                "recurring": {"interval": interval},  # type: ignore[typeddict-item]
            }
        ).id

    def invoices(self, subscription_id: str) -> list[stripe.Invoice]:
        """The subscription's invoices, oldest first."""
        found = self.client.v1.invoices.list(params={"subscription": subscription_id, "limit": 100})
        return list(reversed(found.data))

    def events(self, type_prefix: str = "") -> list[str]:
        """Event types, oldest first (optionally those starting with a prefix)."""
        found = self.client.v1.events.list(params={"limit": 100}).auto_paging_iter()
        return list(reversed([e.type for e in found if e.type.startswith(type_prefix)]))


def open_shop(
    client: stripe.StripeClient, start: datetime, *, payment_method: str | None = "pm_card_visa"
) -> Shop:
    """A test clock frozen at `start` and a customer on it (with a default card)."""
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": to_unix(start)})
    params: dict[str, object] = {"name": "Ada", "test_clock": clock.id}
    if payment_method:
        params["payment_method"] = payment_method
        params["invoice_settings"] = {"default_payment_method": payment_method}
    customer = client.v1.customers.create(params=params)  # type: ignore[arg-type]
    return Shop(client, clock.id, customer.id)
