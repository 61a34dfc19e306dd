"""One module per resource; importing a module registers its routes and expand loaders."""

import importlib

MODULES = [
    "coupons",
    "customers",
    "payment_methods",
    "prices",
    "products",
    "promotion_codes",
    "tax_rates",
    "test_clocks",
]


def load_all() -> None:
    """Import every resource module (idempotent)."""
    for name in MODULES:
        importlib.import_module(f"recur.api.routes.{name}")
