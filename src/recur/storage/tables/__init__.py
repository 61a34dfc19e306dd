"""Every table, on one MetaData. Each group of resources has its own module."""

from recur.storage.tables.accounts import accounts, api_keys, idempotency_keys
from recur.storage.tables.base import metadata
from recur.storage.tables.billing import (
    charges,
    events,
    invoice_items,
    invoice_lines,
    invoices,
    subscription_items,
    subscriptions,
)
from recur.storage.tables.catalog import prices, products
from recur.storage.tables.credit_notes import (
    credit_note_lines,
    credit_notes,
    customer_balance_transactions,
)
from recur.storage.tables.customers import customers
from recur.storage.tables.discounts import coupons, promotion_codes
from recur.storage.tables.gateways import disputes, gateway_events
from recur.storage.tables.payment_methods import payment_methods
from recur.storage.tables.payments import gateway_rate_limits, payment_intents, refunds
from recur.storage.tables.schedules import subscription_schedules
from recur.storage.tables.tax import tax_rates
from recur.storage.tables.test_clocks import test_clocks
from recur.storage.tables.webhooks import (
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_fanout,
)

__all__ = [
    "accounts",
    "api_keys",
    "charges",
    "coupons",
    "credit_note_lines",
    "credit_notes",
    "customer_balance_transactions",
    "customers",
    "disputes",
    "events",
    "gateway_events",
    "gateway_rate_limits",
    "idempotency_keys",
    "invoice_items",
    "invoice_lines",
    "invoices",
    "metadata",
    "payment_intents",
    "payment_methods",
    "prices",
    "products",
    "promotion_codes",
    "refunds",
    "subscription_items",
    "subscription_schedules",
    "subscriptions",
    "tax_rates",
    "test_clocks",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_fanout",
]
