"""End-to-end drivers: evaluate a model on a dataset, the demo, and (later) full recipes."""
