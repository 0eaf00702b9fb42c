# first_message: a publisher whose data connection comes up after its
# control connection still loses nothing.
#   The hub starts last, after a publisher (waiting for 1 subscriber) and a
#   subscriber: each socket reconnects on its own timer, so the hub can
#   count the subscriber and answer the publisher before the publisher's
#   PUB socket has its subscription; a PUB drops what it sends until then.
#   The publisher's probe closes that gap. 30 rounds; every one must
#   deliver EVENT-1.
. "$(dirname "$0")/lib.sh"

ROUNDS=${FIRST_MESSAGE_ROUNDS:-30}
round=1
while [ $round -le $ROUNDS ]; do
    start "pub-$round" "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" \
        --events 1 --interval 0 --wait-subscribers 1 --wait-timeout 10000
    start "sub-$round" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name "sub-$round" \
        --idle-timeout 10000
    start_hub
    finish "pub-$round" 0
    finish "sub-$round" 0
    check_story "sub-$round" 1
    kill -TERM "$(pid_of hub)"
    finish hub 0 5
    round=$((round + 1))
done
echo "first_message: $ROUNDS rounds, EVENT-1 delivered in each"
