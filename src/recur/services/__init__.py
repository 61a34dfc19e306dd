"""Use cases: one verb per function, each over a unit of work it does not commit."""
