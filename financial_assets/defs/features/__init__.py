"""The features family: technical features per ticker and date, and their completeness check."""
