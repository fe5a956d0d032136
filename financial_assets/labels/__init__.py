"""Labels: forward returns, directions and triple-barrier outcomes, each with its end time t1."""
