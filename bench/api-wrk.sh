#!/bin/sh
# GET job status under wrk on loopback: starts its own Temporal, S3, workers and API, leaves one job awaiting
# approval, and runs `wrk -t2 -c16 -d20s --latency` against GET /v1/fine-tuning/jobs/{id}.
#   bench/api-wrk.sh [threads] [connections] [duration]     (Debian: apt-get install -y wrk)
set -eu
cd "$(dirname "$0")/.."
exec npx tsx bench/api-wrk.ts "$@"
