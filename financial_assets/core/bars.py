"""The canonical bar frame every source returns and every asset stores."""

from __future__ import annotations

PRICE_COLUMNS = ("open", "high", "low", "close")
#: Columns of a raw bar frame, in order. `date` is datetime64[ns], tz-naive, at midnight;
#: prices and volume are float64; `adj_close` is NaN when the source has none;
#: `source_row` is the row's position in the source, so out-of-order input stays visible.
RAW_COLUMNS = ("ticker", "date", "open", "high", "low", "close", "volume", "adj_close", "source_row")
