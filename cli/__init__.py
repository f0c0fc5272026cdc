"""Command-line entry points: `python -m cli.demo`, `cli.generate`, `cli.orders_stream`,
and the in-process runner the demo and the tests drive sensors with. The CLI sits on top:
it uses the assets, sensors, definitions and the API's query, and nothing imports it."""
