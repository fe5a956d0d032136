"""The drift family: drift reports per ticker and date, their check and the report server."""
