#!/bin/bash
# Runs once, from the influxdb:2.x image's entrypoint, right after the initial
# setup (DOCKER_INFLUXDB_INIT_MODE=setup) and before the server is opened up.
# Maps the v1 database "donghaeng" (retention policy "autogen") onto the
# bucket, so InfluxQL over /query?db=donghaeng works as on InfluxDB 1.x.
set -euo pipefail

org="${DOCKER_INFLUXDB_INIT_ORG:?DOCKER_INFLUXDB_INIT_ORG is not set}"
bucket="${DOCKER_INFLUXDB_INIT_BUCKET:?DOCKER_INFLUXDB_INIT_BUCKET is not set}"
token="${DOCKER_INFLUXDB_INIT_ADMIN_TOKEN:?DOCKER_INFLUXDB_INIT_ADMIN_TOKEN is not set}"
db="$bucket"  # the platform's INFLUX_DB equals the bucket name

# The entrypoint exports DOCKER_INFLUXDB_INIT_BUCKET_ID; look it up if it did not.
bucket_id="${DOCKER_INFLUXDB_INIT_BUCKET_ID:-}"
if [ -z "$bucket_id" ]; then
  bucket_id="$(influx bucket list --org "$org" --token "$token" --name "$bucket" --hide-headers | cut -f1)"
fi
if [ -z "$bucket_id" ]; then
  echo "init-dbrp: bucket '$bucket' not found in org '$org'" >&2
  exit 1
fi

# InfluxDB 2.4+ also derives "virtual" mappings from bucket names; an explicit
# one makes /query?db=… work on every 2.x release.
# The entrypoint runs this only on a fresh data volume, so no mapping exists yet.
influx v1 dbrp create \
  --org "$org" \
  --token "$token" \
  --bucket-id "$bucket_id" \
  --db "$db" \
  --rp autogen \
  --default
echo "init-dbrp: mapped database '$db' (rp autogen) to bucket '$bucket' ($bucket_id)"
