# curve: with CURVE on, only allowed clients get in, and the story is the
# same as without it.
#   - herald keygen writes key pairs in czmq's certificate format;
#   - a hub with --curve-secret and --curve-allow says so at start;
#   - an allowed client can subscribe, publish and ask the control endpoint,
#     and the story through CURVE is the story without it;
#   - a client with an unknown key, or with no key at all, can neither
#     receive, publish nor ask: it gets nothing and gives up (69);
#   - a key file that cannot be read is a configuration error (78);
#   - with a list per port, a key may only do what its lists allow: a
#     subscriber's key cannot publish, a publisher's cannot subscribe, and
#     a TERMINATE from a key not in --curve-allow-terminate is dropped: the
#     subscribers go on, and the publisher says so and exits 69.
. "$(dirname "$0")/lib.sh"

mkdir "$TMP/allowed"
for who in hub alice mallory; do
    "$HERALD" keygen --out "$TMP/$who.cert" >"$TMP/keygen-$who.out" || fail "keygen $who"
    [ -s "$TMP/$who.cert" ] && [ -s "$TMP/$who.cert_secret" ] || fail "keygen wrote no files"
done
cp "$TMP/alice.cert" "$TMP/allowed/"
head -n 1 "$TMP/keygen-alice.out" | grep -qE '^public key: .{40}$' \
    || fail "keygen did not print the public key: $(cat "$TMP/keygen-alice.out")"
[ "$(stat -c %a "$TMP/alice.cert_secret")" = 600 ] || fail "the secret key is readable by others"
# A key pair is never replaced by mistake.
cp "$TMP/hub.cert_secret" "$TMP/hub.before"
code=0
"$HERALD" keygen --out "$TMP/hub.cert" >/dev/null 2>"$TMP/keygen-again.err" || code=$?
[ $code -eq 73 ] || fail "keygen over an existing key pair exited $code, expected 73"
grep -q "hub.cert exists: not replacing a key pair (--force does)" "$TMP/keygen-again.err" \
    || fail "keygen did not say why: $(cat "$TMP/keygen-again.err")"
cmp -s "$TMP/hub.cert_secret" "$TMP/hub.before" || fail "keygen replaced the hub's secret key"
"$HERALD" keygen --out "$TMP/spare.cert" >/dev/null || fail "keygen spare"
chmod 644 "$TMP/spare.cert_secret"
"$HERALD" keygen --out "$TMP/spare.cert" --force >/dev/null || fail "keygen --force"
[ "$(stat -c %a "$TMP/spare.cert_secret")" = 600 ] || fail "a replaced secret key is readable by others"

start_curve_hub() {
    start hub "$HERALD" hub --frontend "$FRONTEND_BIND" --backend "$BACKEND_BIND" \
        --control "$CONTROL_BIND" --curve-secret "$TMP/hub.cert_secret" \
        --curve-allow "$TMP/allowed"
}
as() {      # as WHO ROLE OPTIONS...: run a client with WHO's keys
    who=$1 role=$2
    shift 2
    "$HERALD" "$role" --curve-server-key "$TMP/hub.cert" --curve-secret "$TMP/$who.cert_secret" "$@"
}
count_as_alice() {   # the hub's count, asked as alice; waits for N
    as alice stats --control "$CONTROL" --topic event --expect "$1" --wait-timeout 2000 >/dev/null \
        || fail "the hub did not count $1 subscribers"
}

start_curve_hub
as alice stats --control "$CONTROL" --wait-timeout 5000 >/dev/null || fail "alice cannot ask"
grep -qF "CURVE on, public key $(head -n 1 "$TMP/keygen-hub.out" | cut -d' ' -f3)" "$TMP/hub.err" \
    || fail "the hub did not say CURVE is on: $(cat "$TMP/hub.err")"

# Outsiders: an unknown key, and no key at all.
code=0
as mallory stats --control "$CONTROL" --wait-timeout 500 2>/dev/null || code=$?
[ $code -eq 69 ] || fail "mallory's stats exited $code, expected 69"
code=0
"$HERALD" stats --control "$CONTROL" --wait-timeout 500 2>/dev/null || code=$?
[ $code -eq 69 ] || fail "stats without a key exited $code, expected 69"

start alice as alice sub --backend "$BACKEND" --control "$CONTROL" --name alice --idle-timeout 10000
start mallory-sub as mallory sub --backend "$BACKEND" --control "$CONTROL" --name mallory \
    --wait-timeout 2000
start plain-sub "$HERALD" sub --backend "$BACKEND" --control "$CONTROL" --name plain \
    --wait-timeout 2000
count_as_alice 1
code=0
as mallory pub --frontend "$FRONTEND" --control "$CONTROL" --events 1 --wait-timeout 500 \
    >/dev/null 2>&1 || code=$?
[ $code -eq 69 ] || fail "mallory's publisher exited $code, expected 69"

start alice-pub as alice pub --frontend "$FRONTEND" --control "$CONTROL" --events 5 \
    --interval 0 --wait-subscribers 1
finish alice-pub 0
finish alice 0
check_story alice 5
finish mallory-sub 69
finish plain-sub 69
# Never counted, so never ready, and never a message.
[ ! -s "$TMP/mallory-sub.out" ] || fail "mallory read something: $(cat "$TMP/mallory-sub.out")"
[ ! -s "$TMP/plain-sub.out" ] || fail "a client without a key read: $(cat "$TMP/plain-sub.out")"
grep -q "refused the handshake" "$TMP/mallory-sub.err" \
    || fail "mallory's subscriber did not say why: $(cat "$TMP/mallory-sub.err")"
printf 'Publisher has 1 subscribers\n%.0s' 1 2 3 4 5 | cmp -s - "$TMP/alice-pub.out" \
    || fail "alice's publisher counted: $(cat "$TMP/alice-pub.out")"

# Keys that cannot be read.
code=0
"$HERALD" hub --curve-secret "$TMP/nothing" --control "tcp://127.0.0.1:$((PORT_BASE + 5))" \
    2>"$TMP/bad-key.err" || code=$?
[ $code -eq 78 ] || fail "a missing key file: exit $code, expected 78"
grep -q "cannot read a secret key from $TMP/nothing" "$TMP/bad-key.err" || fail "$(cat "$TMP/bad-key.err")"
code=0
"$HERALD" sub --curve-server-key "$TMP/hub.cert" --curve-secret "$TMP/allowed/alice.cert" \
    --idle-timeout 100 2>/dev/null || code=$?
[ $code -eq 78 ] || fail "a public key given as a secret one: exit $code, expected 78"

kill -TERM "$(pid_of hub)"
finish hub 0 5

# Permissions per port, on a hub of their own.
F2="tcp://127.0.0.1:$((PORT_BASE + 3))" B2="tcp://127.0.0.1:$((PORT_BASE + 4))"
C2="tcp://127.0.0.1:$((PORT_BASE + 5))"
mkdir "$TMP/publish" "$TMP/subscribe" "$TMP/control" "$TMP/terminate"
for who in pubber subber admin; do
    "$HERALD" keygen --out "$TMP/$who.cert" >/dev/null || fail "keygen $who"
    cp "$TMP/$who.cert" "$TMP/control/"
done
cp "$TMP/pubber.cert" "$TMP/admin.cert" "$TMP/publish/"
cp "$TMP/subber.cert" "$TMP/subscribe/"
cp "$TMP/admin.cert" "$TMP/terminate/"
start hub2 "$HERALD" hub --frontend "$F2" --backend "$B2" --control "$C2" \
    --curve-secret "$TMP/hub.cert_secret" --curve-allow-publish "$TMP/publish" \
    --curve-allow-subscribe "$TMP/subscribe" --curve-allow-control "$TMP/control" \
    --curve-allow-terminate "$TMP/terminate"
start subber as subber sub --backend "$B2" --control "$C2" --name subber --idle-timeout 20000
as admin stats --control "$C2" --topic event --expect 1 --wait-timeout 5000 >/dev/null \
    || fail "the hub did not count subber"
code=0
as subber pub --frontend "$F2" --control "$C2" --events 1 --wait-timeout 500 >/dev/null \
    2>"$TMP/subber-pub.err" || code=$?
[ $code -eq 69 ] || fail "subber published: exit $code, expected 69"
code=0
as pubber sub --backend "$B2" --control "$C2" --wait-timeout 1000 >"$TMP/pubber-sub.out" \
    2>/dev/null || code=$?
[ $code -eq 69 ] && [ ! -s "$TMP/pubber-sub.out" ] || fail "pubber subscribed: exit $code"
code=0
as pubber pub --frontend "$F2" --control "$C2" --events 3 --interval 0 --wait-subscribers 1 \
    >/dev/null 2>"$TMP/pubber-pub.err" || code=$?
[ $code -eq 69 ] || fail "pubber's publisher, its TERMINATE dropped, exited $code, expected 69"
grep -q "may not publish TERMINATE" "$TMP/pubber-pub.err" \
    || fail "pubber's publisher did not say why: $(cat "$TMP/pubber-pub.err")"
[ "$("$HERALD" stats --curve-server-key "$TMP/hub.cert" --curve-secret "$TMP/admin.cert_secret" \
    --control "$C2" | grep -o '"terminate_refused":[0-9]*')" = '"terminate_refused":1' ] \
    || fail "the hub did not count the refused TERMINATE"
start admin-pub as admin pub --frontend "$F2" --control "$C2" --events 1 --wait-subscribers 1
finish admin-pub 0
finish subber 0
# pubber's 3 events, its TERMINATE dropped, then admin's event and TERMINATE.
printf 'subber got message: THIS IS EVENT-%s\n' 1 2 3 1 >"$TMP/subber.expected"
printf 'subber got message: TERMINATE\nsubber is terminating!\n' >>"$TMP/subber.expected"
grep -v "is ready" "$TMP/subber.out" | cmp -s - "$TMP/subber.expected" \
    || fail "subber's story: $(cat "$TMP/subber.out")"
grep -q "refused CURVE key .* on the frontend" "$TMP/hub2.err" \
    || fail "the hub did not log the refused key: $(cat "$TMP/hub2.err")"
# The hub's health check: stats with the hub's own key pair, nothing else.
HERALD_CURVE_SECRET="$TMP/hub.cert_secret" "$HERALD" stats --control "$C2" --wait-timeout 5000 \
    >/dev/null || fail "the hub's own key pair cannot ask it"
kill -TERM "$(pid_of hub2)"
finish hub2 0 5
echo "curve: allowed in, outsiders kept out, the same story, permissions per port"
