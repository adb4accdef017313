"""Pruning: whole channels (torch-pruning), unstructured and N:M masks, per-layer sensitivity;
each method ends in a ``PruneOutcome`` (outcome.py)."""
