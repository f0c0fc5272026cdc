#!/bin/sh
# First start of the PostgreSQL container: one server, one database per role of the platform.
#   dagster   - Dagster's run/event/schedule storage (DAGSTER_PG_URL)
#   invoices  - the invoices RDS (INVOICES_DB_URL)
#   purchases - the CTR purchases source (PURCHASES_DB_URL)
#   ecommerce - the e-commerce source (ECOMMERCE_DB_URL)
#   retail    - the point-of-sale database the change stream captures (RETAIL_DB_URL)
set -eu
for db in dagster invoices purchases ecommerce retail; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
done
