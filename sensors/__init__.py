"""One module per domain: its sensors, schedules and jobs, exported as `defs`. Sensors sit
above the assets (they import them) and below `definitions.py`, which assembles."""
