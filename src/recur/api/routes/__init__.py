"""One module per resource; importing a module registers its routes and expand loaders."""

import importlib

MODULES = [
    "subscriptions",
    "subscription_items",
    "subscription_schedules",
    "invoice_preview",  # before "invoices": its fixed path wins over /v1/invoices/{invoice}
    "invoices",
    "invoice_items",
    "events",
    "coupons",
    "customers",
    "balance_transactions",
    "credit_notes",
    "payment_methods",
    "payment_intents",
    "charges",
    "refunds",
    "disputes",
    "billing_settings",
    "prices",
    "products",
    "promotion_codes",
    "tax_rates",
    "test_clocks",
    "webhook_endpoints",
]


def load_all() -> None:
    """Import every resource module (idempotent)."""
    for name in MODULES:
        importlib.import_module(f"recur.api.routes.{name}")


def configure(public_url: str) -> None:
    """Load every module and give them what depends on the installation (its public URL)."""
    load_all()
    from recur.api.routes import invoices

    invoices.configure(public_url)
