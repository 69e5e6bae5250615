#!/usr/bin/env bash
# Instructions per child (or per restart) of the runtime benchmark's
# scenarios, ours and raw tokio, counted by valgrind's callgrind. Run back
# to back on the same host, the counts move by 1 to 4 % (parallel
# shutdown by up to 15 %), where criterion's medians moved by up to a
# factor of two, so they show what a change did. They still depend on
# the host's load: with another process keeping one core busy, ours'
# start fell from about 5,870 to about 4,350 per child (the supervisor
# takes more children per turn), raw tokio's did not move. Compare builds
# back to back, and repeat. Needs valgrind (Debian: `apt-get install
# valgrind`); about 15 s once the bench is built. CI does not run it.
#
#   supervisor-runtime/benches/count.sh [SCENARIO...]
#
# SCENARIO: start, shutdown-parallel, shutdown-sequential, restart-err,
# restart-panic, restart-siblings (default: all). See runtime/count.rs.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v valgrind >/dev/null || {
    echo "count.sh needs valgrind (apt-get install valgrind)" >&2
    exit 1
}
bin=$(cargo bench -p supervisor-runtime --bench runtime --no-run 2>&1 \
    | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -n 1)
[ -x "$bin" ] || {
    echo "count.sh: no benchmark binary found" >&2
    exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$#" -eq 0 ]; then
    set -- start shutdown-parallel shutdown-sequential restart-err restart-panic restart-siblings
fi

# Instructions per unit in the last counted section of one probe run.
count() {
    local out="$tmp/$1-$2"
    SUPERVISOR_BENCH_PROBE="count:$1:$2" valgrind --tool=callgrind \
        --callgrind-out-file="$out" \
        --dump-before='*counted_begin' --dump-before='*counted_end' \
        "$bin" >"$out.units" 2>"$out.log" || {
        echo "count.sh: $1 $2 failed, see below" >&2
        tail -n 20 "$out.log" >&2
        return 1
    }
    local dump units
    dump=$(grep -l 'Trigger: --dump-before=.*counted_end' "$out".[0-9]* \
        | awk -F. '{ print $NF, $0 }' | sort -n | tail -n 1 | cut -d' ' -f2) || true
    units=$(cat "$out.units")
    if [ -z "$dump" ] || [ -z "$units" ]; then
        echo "count.sh: $1 $2: no dump at counted_end, or no unit count" >&2
        return 1
    fi
    awk -v units="$units" '/^summary:/ { printf "%.0f", $2 / units; exit }' "$dump"
}

echo "| scenario | unit | ours | raw tokio | ratio |"
echo "|---|---|---:|---:|---:|"
for scenario in "$@"; do
    case "$scenario" in
        restart-*) unit=restart ;;
        *) unit=child ;;
    esac
    ours=$(count "$scenario" ours) || exit 1
    raw=$(count "$scenario" raw_tokio) || exit 1
    awk -v s="$scenario" -v u="$unit" -v a="$ours" -v b="$raw" \
        'BEGIN { printf "| %s | %s | %d | %d | x%.1f |\n", s, u, a, b, a / b }'
done
