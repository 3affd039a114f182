#!/usr/bin/env bash
# The soak (not CI; RELIABILITY.md records its runs): the random schedule
# tester in the interpreter, random schedules compiled and run on both
# targets (and under AddressSanitizer on x86-64), and every fuzzer, for as
# long as asked. Each part prints its counts; any mismatch, crash or
# warning in a strict case fails the part with a reproducer.
#
#   SCHEDULES=100000 CODEGEN=1000 FUZZTIME=1h SEED=7 ./scripts/soak.sh
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
SCHEDULES=${SCHEDULES:-100000}
CODEGEN=${CODEGEN:-1000}
FUZZTIME=${FUZZTIME:-1h}
SEED=${SEED:-$(date +%s)}
status=0
part() { # name, command...
    local name=$1; shift
    local start=$SECONDS
    echo "== $name (seed $SEED): $*"
    if "$@" 2>&1 | tail -n 25; then :; fi
    local rc=${PIPESTATUS[0]}
    echo "== $name: exit $rc after $((SECONDS - start)) s"
    [ "$rc" -eq 0 ] || status=1
}
part "random schedules (interpreter), $SCHEDULES cases" \
    go test ./tests -count=1 -timeout 0 -run 'TestRandomSchedules$' -random.n="$SCHEDULES" -random.seed="$SEED" -v
part "random schedules compiled and run (x86-64, cortex-a53, x86-64+asan), $CODEGEN cases" \
    go test ./tests -count=1 -timeout 0 -run 'TestRandomSchedulesCodegen$' -random.codegen="$CODEGEN" -random.seed="$SEED" -v
for f in dsl:FuzzParse dsl:FuzzSchedule tensorio:FuzzLoadWeights tensorio:FuzzReadNpy; do
    part "${f#*:} for $FUZZTIME" go test "./${f%%:*}" -count=1 -timeout 0 -run XXX -fuzz="^${f#*:}\$" -fuzztime="$FUZZTIME"
done
exit $status
