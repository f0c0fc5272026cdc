"""`make demo`, one driver per domain: `run(defs, instance) -> str` makes the domain's sensors
and jobs do their work in this process and returns the answer a person came for."""
