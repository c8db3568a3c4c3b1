#!/bin/sh
# run-fuzz.sh FUZZER SEEDS RUNS: a short, deterministic libFuzzer run.
# Every seed is replayed first, then RUNS mutated inputs are tried from a
# fixed seed (-seed=1), in one process: the same tree gives the same
# inputs on every machine, so a clean clone is red only for a reason that
# reproduces.  SEKISHO_FUZZ_RUNS overrides RUNS (0: replay the seeds only).
# New inputs go to a temporary directory, never into the source tree; a
# crash leaves its input next to the binary.  Long campaigns: tools/fuzz.
set -eu
fuzzer=$1 seeds=$2 runs=${SEKISHO_FUZZ_RUNS:-$3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# libFuzzer exits 77 on a crash by default, which meson would count as a
# skip: any finding must be a failure.
exec "$fuzzer" -seed=1 -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
	-error_exitcode=1 -timeout_exitcode=1 \
	-print_final_stats=1 -artifact_prefix="$(dirname "$fuzzer")/" "$work" "$seeds"
