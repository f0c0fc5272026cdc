"""One module per domain: its sensors, schedules and jobs, exported as `defs`. Sensors sit
above the assets (they import them) and below `definitions.py`, which assembles."""

# How often a sensor looks. The daemon's loop never runs a sensor more often than every
# 5 s; an idle tick of every sensor here is a few milliseconds (an index lookup, a stat of
# the stream offsets), so looking at the floor keeps the file -> run hop short.
TICK_SECONDS = 5
