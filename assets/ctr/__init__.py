"""Product CTR (spec section 2): JSON view events + SQL purchases, per-minute rollups, and
the serving contract (`serving`, `render`) the FastAPI app in `api/` reads."""
