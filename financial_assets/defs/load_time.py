"""The code location's load-time settings, read once when it loads: partitions, schedule and freshness use these."""

from financial_assets.load_settings import LoadSettings, load_settings

LOAD: LoadSettings = load_settings()
