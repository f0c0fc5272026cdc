"""Software-defined assets, one package per domain, each exporting `defs`."""
