# load: one hub, 200 subscribers, 100,000 events, nothing lost.
#   herald_fanout holds the 200 subscribers in one process and checks every
#   event each of them reads: one publisher, sequence 1, 2, 3, ... with no
#   gap, duplicate or reordering, exactly 100,000 events, then TERMINATE.
#   The publisher waits for all 200 and publishes with no interval. The
#   hub's count stays exactly 200 from the moment it has them until the
#   fanout has read everything: a watcher asks the hub to answer as soon as
#   the count leaves 200, and the hub's counters of subscriptions and of
#   subscribers that left show that nobody left or joined in between. The hub forwards exactly
#   what was published. Prints the hub's and the fanout's peak RSS.
#   LOAD_SUBSCRIBERS and LOAD_EVENTS change the numbers (make test-sanitize
#   uses smaller ones).
. "$(dirname "$0")/lib.sh"

SUBSCRIBERS=${LOAD_SUBSCRIBERS:-200}
EVENTS=${LOAD_EVENTS:-100000}
LIMIT=450           # seconds the publisher and the fanout may take at most

[ -x "$FANOUT" ] || fail "set FANOUT to the herald_fanout test tool"

# summary_printed: the fanout has read everything it will read. It prints
# its summary before it closes its sockets.
summary_printed() {
    grep -q "^$SUBSCRIBERS sockets, " "$TMP/fanout.out"
}

# watch_count: beside the publisher, ask the hub to answer as soon as the
# count for 'event' falls below SUBSCRIBERS, a second at a time; a timeout
# answer carries the count then, which must be SUBSCRIBERS. The count may
# fall only once the fanout has read everything. Prints the seconds watched.
watch_count() {
    seconds=0
    while :; do
        reply=$("$CTL" "$CONTROL" --timeout 5000 WAIT event 0 $((SUBSCRIBERS - 1)) 1000) \
            || fail "the hub did not answer WAIT"
        reply=$(echo $reply)  # one line: status and count
        case $reply in
        "TIMEOUT $SUBSCRIBERS") seconds=$((seconds + 1)) ;;
        "OK "*)
            summary_printed || fail "the count fell to ${reply#OK } while the fanout was reading"
            echo "$seconds"
            return 0
            ;;
        *) fail "the hub counts ${reply#* } subscribers, expected $SUBSCRIBERS" ;;
        esac
    done
}

start_hub
start fanout "$FANOUT" --backend "$BACKEND" --sockets "$SUBSCRIBERS" --expect "$EVENTS" \
    --timeout $((LIMIT * 1000))
expect_count event "$SUBSCRIBERS" 30000
expect_count TERMINATE "$SUBSCRIBERS"
[ "$(stats_field subscribe)" -eq $((2 * SUBSCRIBERS)) ] \
    || fail "the hub saw $(stats_field subscribe) subscriptions, expected $((2 * SUBSCRIBERS))"

start watch watch_count
began=$(date +%s%N)
start pub "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --events "$EVENTS" \
    --interval 0 --wait-subscribers "$SUBSCRIBERS" --wait-timeout $((LIMIT * 1000)) --no-count
finish pub 0 $LIMIT
published=$(date +%s%N)
# The publisher is done once everything has reached the hub; the fanout may
# still be reading, and then the count is still exactly SUBSCRIBERS.
count=$("$HERALD" stats --control "$CONTROL" --topic event --wait-timeout 30000)
[ "$count" -eq "$SUBSCRIBERS" ] || summary_printed \
    || fail "after the publisher: the hub counts $count subscribers, expected $SUBSCRIBERS"
finish fanout 0 $LIMIT
finish watch 0 10
[ "$(stats_field subscribe)" -eq $((2 * SUBSCRIBERS)) ] \
    || fail "a subscriber joined again: $(stats_field subscribe) subscriptions"
tail -n 1 "$TMP/fanout.out" >&2

# Everyone has left, and the hub forwarded exactly what was published: the
# events and one TERMINATE.
expect_count event 0 5000
expect_count TERMINATE 0
[ "$(stats_field subscribers_left)" -eq "$SUBSCRIBERS" ] \
    || fail "the hub saw $(stats_field subscribers_left) subscribers leave, expected $SUBSCRIBERS"
for field in in out; do
    [ "$(stats_field $field)" -eq $((EVENTS + 1)) ] \
        || fail "messages $field: $(stats_field $field), expected $((EVENTS + 1))"
done
[ "$(stats_field terminate)" -eq 1 ] || fail "the hub saw $(stats_field terminate) TERMINATEs"

hub_rss=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$(pid_of hub)/status")
fanout_rss=$(sed -n 's/^herald_fanout: peak RSS \([0-9]*\) kB/\1/p' "$TMP/fanout.err")
[ -n "$hub_rss" ] && [ -n "$fanout_rss" ] || fail "no peak RSS for the hub or the fanout"
note "hub peak RSS: $hub_rss kB"
note "fanout peak RSS: $fanout_rss kB ($SUBSCRIBERS subscribers in one process)"
note "published in $(((published - began) / 1000000)) ms;" \
    "the count watched for $(cat "$TMP/watch.out") s"
kill -TERM "$(pid_of hub)"
finish hub 0 5
echo "load: $SUBSCRIBERS subscribers x $EVENTS events, none lost; hub peak RSS $hub_rss kB"
