"""The backtest family: the served predictions traded after costs, beside buy-and-hold, and its checks."""
