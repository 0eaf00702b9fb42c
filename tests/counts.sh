# counts: the hub's subscriber count follows the live subscribers exactly.
#   Subscribers join, one is killed with SIGKILL, one leaves at its
#   max-messages, the rest leave on TERMINATE; after each change the hub
#   counts exactly the live subscribers within 1 s, and the publisher's
#   printed counts agree.
. "$(dirname "$0")/lib.sh"

start_hub
expect_count event 0

for name in a1 a2 a3; do
    start $name "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name $name --idle-timeout 30000
done
expect_count event 3
expect_count TERMINATE 3

start d "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name d --max-messages 2 --idle-timeout 30000
expect_count event 4

# A subscriber killed outright drops out too: libzmq unsubscribes for it
# when its connection closes.
kill -KILL "$(pid_of a1)"
finish a1 137
expect_count event 3
expect_count TERMINATE 3

start pub1 "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 2 \
    --interval 0 --no-terminate --wait-subscribers 3
finish pub1 0
printf 'Publisher has 3 subscribers\nPublisher has 3 subscribers\n' | cmp -s - "$TMP/pub1.out" \
    || fail "publisher printed: $(cat "$TMP/pub1.out")"

# d leaves after its 2 messages.
finish d 0
printf '%s\n' "d is ready now to read" "d got message: THIS IS EVENT-1" \
    "d got message: THIS IS EVENT-2" "d has enough reading!" "d is terminating!" \
    | cmp -s - "$TMP/d.out" || fail "d told: $(cat "$TMP/d.out")"
expect_count event 2
expect_count "" 0
[ "$(stats_field subscriptions_total)" -eq 4 ] || fail "expected 4 subscriptions in all"

# The rest leave on TERMINATE.
start pub2 "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events 0 \
    --wait-subscribers 2
finish pub2 0
[ ! -s "$TMP/pub2.out" ] || fail "a publisher of no events printed a count"
for name in a2 a3; do
    finish $name 0
    check_story $name 2
done
expect_count event 0
expect_count TERMINATE 0

kill -TERM "$(pid_of hub)"
finish hub 0 5
echo "counts: exact after joins, SIGKILL, max-messages and TERMINATE"
