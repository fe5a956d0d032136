"""Operations: the nightly schedule, stage jobs, retraining, freshness, alerts and status caches."""
