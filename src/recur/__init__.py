"""Recur: a self-hosted subscription billing engine with a Stripe-compatible API."""

__version__ = "0.1.0"
