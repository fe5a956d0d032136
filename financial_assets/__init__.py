"""financial_assets: a Dagster asset graph from OHLCV bars to validated data, features and labels."""
