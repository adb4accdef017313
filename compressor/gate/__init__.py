"""The CI gate: budgets files and the verdicts of a report against them (``compress check``)."""
