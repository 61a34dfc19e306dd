"""`make bench`: throughput figures, printed; never part of the test run."""
