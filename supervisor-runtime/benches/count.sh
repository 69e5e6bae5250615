#!/usr/bin/env bash
# Instructions per child (or per restart) of the runtime benchmark's
# scenarios, ours and raw tokio, counted by valgrind's callgrind. Unlike
# times, the counts hardly move with the load of a shared machine (about
# 1 % from run to run), so they show what a change did when criterion's
# medians cannot. Needs valgrind (Debian: `apt-get install valgrind`);
# takes about two minutes. CI does not run it.
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
        exit 1
    }
    local dump
    dump=$(grep -l 'Trigger: --dump-before=.*counted_end' "$out".[0-9]* \
        | awk -F. '{ print $NF, $0 }' | sort -n | tail -n 1 | cut -d' ' -f2)
    awk -v units="$(cat "$out.units")" '/^summary:/ { printf "%.0f", $2 / units; exit }' "$dump"
}

echo "| scenario | unit | ours | raw tokio | ratio |"
echo "|---|---|---:|---:|---:|"
for scenario in "$@"; do
    case "$scenario" in
        restart-*) unit=restart ;;
        *) unit=child ;;
    esac
    ours=$(count "$scenario" ours)
    raw=$(count "$scenario" raw_tokio)
    awk -v s="$scenario" -v u="$unit" -v a="$ours" -v b="$raw" \
        'BEGIN { printf "| %s | %s | %d | %d | x%.1f |\n", s, u, a, b, a / b }'
done
