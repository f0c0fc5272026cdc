"""Customer insights (spec section 5): SQL source -> cleaned aggregate + four Polars
insights in the warehouse -> MongoDB / embedded document store, every 3 hours."""
