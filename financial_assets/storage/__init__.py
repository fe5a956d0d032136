"""Storage: the partitioned Parquet lake and the archive of replaced raw bars."""
