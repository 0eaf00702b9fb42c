# memcheck: valgrind finds no memory error and no definite leak in any
# process of a demo run (the hub, the subscribers, the publisher and the
# demo itself), nor in a hub that served stats and bad control requests.
# Skipped (77) where valgrind is not installed.
. "$(dirname "$0")/lib.sh"

command -v valgrind >/dev/null 2>&1 || { echo "SKIP: valgrind is not installed"; exit 77; }

VALGRIND="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"

start demo $VALGRIND --trace-children=yes --log-file="$TMP/valgrind-%p.log" \
    "$HERALD" demo --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" --control "$CONTROL_BIND" \
    --subscribers 2 --events 3 --interval 50 --seed 3
finish demo 0 120
count=$(ls "$TMP"/valgrind-*.log | wc -l)
[ "$count" -eq 5 ] || fail "expected 5 processes under valgrind, saw $count"
if grep -l . "$TMP"/valgrind-*.log >/dev/null 2>&1; then
    cat "$TMP"/valgrind-*.log >&2
    fail "valgrind reported errors"
fi

start hub $VALGRIND "$HERALD" hub --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" \
    --control "$CONTROL_BIND"
"$HERALD" stats --control "$CONTROL" --wait-timeout 30000 >/dev/null || fail "no stats"
"$CTL" "$CONTROL" WAIT event 1 1 50 >/dev/null || fail "no WAIT reply"
"$CTL" "$CONTROL" BOGUS >/dev/null || fail "no reply to BOGUS"
start s "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name s --idle-timeout 30000
start p "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 2 --interval 0 \
    --wait-subscribers 1
finish p 0 60
finish s 0 60
kill -TERM "$(pid_of hub)"
finish hub 0 30
[ ! -s "$TMP/hub.err" ] || ! grep -q "==" "$TMP/hub.err" || fail "valgrind: $(cat "$TMP/hub.err")"
echo "memcheck: no errors, no definite leaks"
