#!/bin/sh
# run-fuzz.sh FUZZER SEEDS: a short libFuzzer run (SEKISHO_FUZZ_SECONDS)
# starting from the seed corpus.  New inputs go to a temporary directory,
# never into the source tree; a crash leaves its input next to the binary.
set -eu
fuzzer=$1 seeds=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# libFuzzer exits 77 on a crash by default, which meson would count as a
# skip: any finding must be a failure.
exec "$fuzzer" -max_total_time="${SEKISHO_FUZZ_SECONDS:-20}" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-print_final_stats=1 -artifact_prefix="$(dirname "$fuzzer")/" "$work" "$seeds"
