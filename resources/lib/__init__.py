"""The platform's shared library: plain modules, no `ConfigurableResource` (those are the
modules of `resources/` itself). `storage`: a location (local folder or `s3://` bucket) and
every read and write of files through it; `files`: atomic writes, content hashes, a full disk
named; `landing`, `landing_index`: the landing mechanism; `serving`: published answers.
Imports neither Dagster nor DuckDB (the CTR API uses it as it is). docs/architecture.md."""
