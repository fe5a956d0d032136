"""Dagster wiring, one folder per domain; the financial logic lives outside, in plain modules."""
