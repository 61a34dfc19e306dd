"""The Stripe wire format: decoding, auth, errors, lists, expand, idempotency, routes."""
