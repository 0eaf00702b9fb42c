# noloss: no counted subscriber misses an event, under load.
#   20 subscribers, a publisher that waits for all 20 and sends 2,000 events
#   with no interval; every subscriber gets all 2,000 in order, then
#   TERMINATE. Repeated ROUNDS times (default 21) while two busy loops keep
#   both cores loaded (at low priority, so the test still ends in time), so
#   that every race has its chance. The rounds take turns at the three ways
#   a run can start:
#   - publisher first: it waits for subscribers that are still joining
#     (the slow joiner);
#   - publisher last, once the hub counts everyone: it publishes as soon as
#     its own connection is up;
#   - hub last: publisher and subscribers connect before the hub exists,
#     and each socket reconnects on its own timer, so the publisher's
#     control connection can be up before its data connection.
. "$(dirname "$0")/lib.sh"

SUBSCRIBERS=20
EVENTS=2000
ROUNDS=${NOLOSS_ROUNDS:-21}

start burner-1 nice -n 19 sh -c 'while :; do :; done'
start burner-2 nice -n 19 sh -c 'while :; do :; done'

start_subscribers() {
    i=1
    while [ $i -le $SUBSCRIBERS ]; do
        start "r$round-s$i" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name "S$i" --idle-timeout 30000
        i=$((i + 1))
    done
}

start_publisher() {
    start "r$round-pub" "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" \
        --events $EVENTS --interval 0 --wait-subscribers $SUBSCRIBERS --wait-timeout 30000
}

stop_hub() {
    kill -TERM "$(pid_of hub)"
    finish hub 0 5
}

start_hub
forwarded=0     # messages the running hub has forwarded
round=1
while [ $round -le $ROUNDS ]; do
    case $((round % 3)) in
    1)
        start_publisher
        start_subscribers
        ;;
    2)
        start_subscribers
        expect_count event $SUBSCRIBERS 10000
        start_publisher
        ;;
    0)
        stop_hub
        start_publisher
        start_subscribers
        start_hub
        forwarded=0
        ;;
    esac
    finish "r$round-pub" 0 60
    i=1
    while [ $i -le $SUBSCRIBERS ]; do
        finish "r$round-s$i" 0 60
        sed "s/^S$i /r$round-s$i /" "$TMP/r$round-s$i.out" >"$TMP/r$round-s$i.story"
        mv "$TMP/r$round-s$i.story" "$TMP/r$round-s$i.out"
        check_story "r$round-s$i" $EVENTS
        i=$((i + 1))
    done
    # Everyone has left, and the hub forwarded exactly what was published:
    # the events and one TERMINATE.
    expect_count event 0
    forwarded=$((forwarded + EVENTS + 1))
    [ "$(stats_field in)" -eq $forwarded ] \
        || fail "round $round: the hub forwarded $(stats_field in) messages, expected $forwarded"
    round=$((round + 1))
done

kill -TERM "$(pid_of burner-1)" "$(pid_of burner-2)"
finish burner-1 143
finish burner-2 143
stop_hub
echo "noloss: $ROUNDS rounds x $SUBSCRIBERS subscribers x $EVENTS events, none lost"
