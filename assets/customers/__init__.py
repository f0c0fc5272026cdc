"""The customers domain (placeholder until its pipeline lands)."""

import dagster as dg

defs = dg.Definitions()
