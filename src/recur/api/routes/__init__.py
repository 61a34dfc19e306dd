"""One module per resource; importing a module registers its routes and expand loaders."""

import importlib

MODULES = [
    "customers",
]


def load_all() -> None:
    """Import every resource module (idempotent)."""
    for name in MODULES:
        importlib.import_module(f"recur.api.routes.{name}")
