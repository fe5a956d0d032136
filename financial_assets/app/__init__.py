"""The application floor: the command line, the range runner and the DVC metrics, which use the asset graph.

Floors, each importing only the ones below it (test_layers.py holds them): the financial core (every other
subpackage, no Dagster) < `runs/` (Dagster plumbing) < `defs/` (the asset graph) < `definitions.py` (the code
location) < `app/` (this package).
"""
