"""The pure domain core: money, time, ids, periods and pricing, free of I/O and frameworks."""
