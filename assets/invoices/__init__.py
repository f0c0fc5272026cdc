"""Invoices (spec section 1): CSV files -> `invoices.raw_invoices`
-> `invoices.venue_daily_totals`.
"""
