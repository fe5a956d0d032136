"""Validation of bars: vectorised rules that decide quarantine, and the pandera and Great
Expectations suites that check the same rules as Dagster asset checks."""
