#!/usr/bin/env bash
# scripts/bench --quick against the binaries of this build: the report, its sections and
# tables, and its three PNG plots must all be there. Checks structure, never figures
# (performance is for the report itself to say).
# usage: bench_report_test.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail
src=$1 build=$2
out=$(mktemp -d "${TMPDIR:-/tmp}/bench-report-test.XXXXXX")
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$src/scripts/bench" --quick --no-build --build "$build" --out "$out" --counts "20 40" > "$out/stdout" 2> "$out/stderr" ||
  { tail -n 20 "$out/stderr" >&2; fail "scripts/bench exited $?"; }
[ "$(cat "$out/stdout")" = "$out/report.md" ] || fail "stdout is not the report's path: $(cat "$out/stdout")"
report=$out/report.md
[ -s "$report" ] || fail "no report.md"

# The sections, in this order and nothing else at level 1 or 2.
headings=$(grep -E '^#{1,2} ' "$report")
expected='# tutti benchmark report
## Participants per core
## Kernels
## Tick time
## End to end'
[ "$headings" = "$expected" ] || fail "sections are:
$headings"

# One row per workload, with a number of participants per core, and a verdict.
for w in pcmu-conf10 opus48-conf10 opus48-conf10-levels opus48-large; do
  grep -qE "^\| $w \| [0-9,]+ \| [0-9,]+ \| [0-9,]+ \(est\.\) \| [0-9.]+ \| [0-9,]+ \| (aim met|must met|below goal) \|$" "$report" ||
    fail "no participants-per-core row for $w"
done
# End to end: a row per count with CPU, loss and a pass/FAIL from rtpgen.
for n in 20 40; do
  grep -qE "^\| $n \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \| [0-9,]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| (pass|FAIL) \|$" "$report" ||
    fail "no end-to-end row for $n participants"
done
# The tick histogram table: a row per count whose shares add up to 100 %.
for n in 20 40; do
  row=$(grep -E "^\| $n \| [0-9.]+ % \|" "$report") || fail "no tick histogram row for $n"
  sum=$(echo "$row" | grep -oE '[0-9.]+ %' | awk '{s += $1} END {printf "%.0f", s}')
  [ "$sum" -ge 99 ] && [ "$sum" -le 101 ] || fail "tick shares for $n add to $sum %"
done
# At least the mix-minus kernel in the kernels table.
grep -qE '^\| mix_minus[^|]* \| [0-9,]+ \| [0-9,]+ \| [0-9.]+x \|$' "$report" || fail "no mix_minus kernel row"

for png in participants_per_core tick_time cpu_vs_participants; do
  grep -qF "($png.png)" "$report" || fail "report does not show $png.png"
  f=$out/$png.png
  [ -f "$f" ] || fail "no $png.png"
  [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "$png.png is not a PNG"
  [ "$(stat -c %s "$f")" -gt 2000 ] || fail "$png.png is nearly empty"
done
for f in machine.json kernels.json engine-pcmu-conf10.json rtpgen-20.json metrics-40.txt cpu-40.json; do
  [ -s "$out/raw/$f" ] || fail "raw/$f missing"
done
echo "bench report OK"
