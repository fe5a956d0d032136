"""The labels family: forward-looking labels per ticker and date."""
