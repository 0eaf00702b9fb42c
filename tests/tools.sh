# tools: herald pub and herald sub carry the user's data, not only the story.
#   - 10,000 lines through `herald pub -` (standard input, an event a line)
#     reach `herald sub --format text` byte for byte, in order; in each of
#     the three layouts pub can send (herald, multipart, frame);
#   - --message, several, with --repeat, on another topic; a subscriber of
#     several topics reads both, as JSON objects naming each layout;
#   - one-off messages do not end subscribers (no TERMINATE unless asked);
#     --ignore-terminate keeps a subscriber through an explicit one;
#   - --file publishes a whole file, binary, as one event (base64 in JSON);
#   - --format raw writes each topic and payload after its size.
. "$(dirname "$0")/lib.sh"

start_hub
# Lines of all kinds: empty, spaces, UTF-8, a tab; 10,000 in all.
awk 'BEGIN { for (i = 1; i <= 10000; i++)
    printf "%s\n", (i % 7 == 0) ? "" : (i % 5 == 0) ? "caf\303\251 \342\202\254 " i : "line " i "\twith  spaces" }' \
    >"$TMP/lines.txt"
for format in herald multipart frame; do
    start "text-$format" "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --format text \
        --topic "lines-$format" --idle-timeout 20000
    "$HERALD" stats --control "$CONTROL" --topic "lines-$format" --expect 1 --wait-timeout 10000 \
        >/dev/null || fail "the text subscriber was not counted"
    "$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --topic "lines-$format" \
        --format "$format" --wait-subscribers 1 --terminate - <"$TMP/lines.txt" \
        >"$TMP/pub-$format.out" 2>"$TMP/pub-$format.err" \
        || fail "pub - ($format) failed: $(cat "$TMP/pub-$format.err")"
    [ ! -s "$TMP/pub-$format.out" ] || fail "pub - printed: $(head -n 3 "$TMP/pub-$format.out")"
    finish "text-$format" 0
    cmp "$TMP/lines.txt" "$TMP/text-$format.out" \
        || fail "sub --format text ($format) did not read the 10,000 lines byte for byte"
done

# Several topics, JSON; messages that do not end it; a TERMINATE it ignores.
start json "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --format json --topic news \
    --topic sport --ignore-terminate --max-messages 6 --idle-timeout 20000
"$HERALD" stats --control "$CONTROL" --topic sport --expect 1 --wait-timeout 10000 >/dev/null \
    || fail "the json subscriber was not counted"
"$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --topic news --message one \
    --message two --repeat 2 --wait-subscribers 1 >/dev/null || fail "pub --message"
printf 'bin\000\377ary' >"$TMP/blob"
"$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --topic sport --file "$TMP/blob" \
    --format multipart --terminate >/dev/null || fail "pub --file"
"$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --topic sport --message last \
    --format frame >/dev/null || fail "pub --message last"
finish json 0
sed 's/,"received":[0-9.]*}$/}/; s/"publisher":"[0-9a-f]*"/"publisher":"P"/' "$TMP/json.out" \
    >"$TMP/json.seen"
cat >"$TMP/json.expected" <<'JSON'
{"layout":"herald","topic":"news","publisher":"P","sequence":1,"payload":"one"}
{"layout":"herald","topic":"news","publisher":"P","sequence":2,"payload":"two"}
{"layout":"herald","topic":"news","publisher":"P","sequence":3,"payload":"one"}
{"layout":"herald","topic":"news","publisher":"P","sequence":4,"payload":"two"}
{"layout":"multipart","topic":"sport","payload_base64":"YmluAP9hcnk="}
{"layout":"frame","topic":"sport","payload":"last"}
JSON
cmp -s "$TMP/json.expected" "$TMP/json.seen" || fail "sub --format json read: $(cat "$TMP/json.out")"
# Raw: each topic and payload after its size, 4 bytes big-endian.
start raw "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --format raw --topic raw \
    --max-messages 2 --idle-timeout 20000
"$HERALD" stats --control "$CONTROL" --topic raw --expect 1 --wait-timeout 10000 >/dev/null \
    || fail "the raw subscriber was not counted"
"$HERALD" pub --frontend "$FRONTEND" --control "$CONTROL" --topic raw --message hi \
    --message '' >/dev/null || fail "pub for raw"
finish raw 0
printf '\000\000\000\003raw\000\000\000\002hi\000\000\000\003raw\000\000\000\000' \
    | cmp -s - "$TMP/raw.out" || fail "sub --format raw wrote: $(od -c "$TMP/raw.out")"
kill -TERM "$(pid_of hub)"
finish hub 0 5
echo "tools: lines byte for byte in every layout, messages, files, JSON, raw, several topics"
