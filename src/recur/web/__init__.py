"""Hosted pages: checkout, customer portal, admin console (server-rendered)."""
