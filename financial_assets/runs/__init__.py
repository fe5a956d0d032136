"""Running the graph: the instance, stages, event-log storages and the Dagster internals they use."""
