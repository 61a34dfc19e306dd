"""The worker: a loop that claims due work and hands it to services."""
