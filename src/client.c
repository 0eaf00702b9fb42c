/*  client.c - the control protocol's client; see client.h, and
    docs/protocol.md for the protocol. */

#include "client.h"
#include "control.h"
#include "herald.h"
#include "log.h"
#include "monitor.h"
#include "signals.h"
#include "text.h"
#include "wire.h"

#include <assert.h>
#include <czmq.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/random.h>

//  A probe's nonce: 128 random bits in hex, never derived from anything
//  that travels on the wire.
#define NONCE_SIZE 33

//  Called every HERALD_PROBE_RESEND_MS while a call waits.
typedef void (tick_fn) (client_t *self);

struct _client_t {
    char endpoint[CONFIG_TEXT_MAX];
    uint64_t timeout_ms;  //  0: no limit
    zsock_t *req;         //  REQ, to the hub's control endpoint
    monitor_t *monitor;   //  its connection
    bool curve;           //  CURVE is on
    bool answered;        //  the hub has answered before (inproc has no handshake events)
    bool waiting_said;    //  this call has said what it waits for
    char waiting_for[2 * CONFIG_TEXT_MAX + 128];  //  what a WAIT or PROBE waits for
    uint64_t asked_ms;                            //  how long this call asked the hub to wait
    bool broken;                                  //  a call failed for a reason of our own
    char nonce[NONCE_SIZE];
    size_t probes_held;                   //  times the SUB subscribed to the probe topic
    uint64_t probes_sent, probes_unsent;  //  a publisher's, this PROBE: queued, or not
    void *data;                           //  the socket being proven
};

client_t *
client_new (const char *endpoint, const sock_curve_t *curve, uint64_t timeout_ms)
{
    client_t *self = calloc (1, sizeof (client_t));
    if (!self) {
        log_error ("out of memory");
        return NULL;
    }
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    self->timeout_ms = timeout_ms;
    self->curve = curve && curve->cert;
    self->req =
        sock_new (ZMQ_REQ, endpoint, false, &(sock_options_t){.curve = curve}, "control client");
    //  A REQ that may send again before its reply: when the connection
    //  drops (a hub restarting), the request it carried is lost with it,
    //  and the call sends it again.
    if (self->req)
        zsock_set_req_relaxed (self->req, 1);
    if (self->req)
        self->monitor = monitor_new (
            zsock_resolve (self->req), "control-client",
            ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    if (!self->monitor)
        client_destroy (&self);
    return self;
}

int
client_exit_code (client_t *self)
{
    return herald_signal          ? herald_signal_exit_code ()
           : self && self->broken ? HERALD_EXIT_SOFTWARE
                                  : HERALD_EXIT_UNAVAILABLE;
}

void
client_destroy (client_t **self_p)
{
    client_t *self = *self_p;
    if (!self)
        return;
    monitor_destroy (&self->monitor);
    zsock_destroy (&self->req);
    free (self);
    *self_p = NULL;
}

//  Why the hub may refuse our handshake, for the log.
static const char *
s_handshake_hint (client_t *self)
{
    return self->curve ? "is this client's key allowed, and --curve-server-key the hub's?"
                       : "is that the hub's control endpoint? A hub with CURVE needs "
                         "--curve-server-key";
}

//  No reply came: say why, as precisely as the connection's history lets.
static void
s_no_reply (client_t *self, const char *verb, int64_t waited_ms)
{
    monitor_read (self->monitor);
    const monitor_counts_t *counts = monitor_counts (self->monitor);
    if (counts->handshake_failures && !counts->handshakes)
        log_error ("the hub at %s refused the handshake (%llu tries in %lld ms; %s)",
                   self->endpoint, (unsigned long long) counts->handshake_failures,
                   (long long) waited_ms, s_handshake_hint (self));
    else if (!counts->opened)
        log_error ("no hub at %s: nothing accepted a connection there in %lld ms "
                   "(is herald hub running?)",
                   self->endpoint, (long long) waited_ms);
    else if (!counts->handshakes)
        log_error ("something at %s took the connection but never completed a handshake in "
                   "%lld ms (is that the hub's control endpoint?)",
                   self->endpoint, (long long) waited_ms);
    else
        log_error ("the hub at %s took the connection but did not answer %s in %lld ms",
                   self->endpoint, verb, (long long) waited_ms);
}

//  Say once, half a second into a call, what it is waiting for.
static void
s_notice (client_t *self)
{
    const monitor_counts_t *counts = monitor_counts (self->monitor);
    if (counts->handshake_failures && !counts->handshakes)
        log_warn ("the hub at %s refuses the handshake (%s); still trying", self->endpoint,
                  s_handshake_hint (self));
    else if (!counts->opened)
        log_warn ("waiting for the hub at %s (is herald hub running?)", self->endpoint);
    else if (!counts->handshakes)
        log_warn ("something at %s took the connection but has not completed a handshake "
                  "(is that the hub's control endpoint?); still trying",
                  self->endpoint);
    else if (*self->waiting_for && self->asked_ms > HERALD_CLIENT_NOTICE_MS)
        log_info ("waiting for %s", self->waiting_for);
    else
        return;  //  connected: the answer is on its way
    self->waiting_said = true;
}

//  Send a request (one string per frame, NULL-terminated) and wait for the
//  reply, calling tick meanwhile if given. asked_ms is how long the request
//  asks the hub to wait (WAIT, PROBE), 0 for an answer at once. Until the
//  hub is reached the call waits the client's timeout; once it is, it
//  gives the hub asked_ms and HERALD_CONTROL_TIMEOUT_MS more. Returns the
//  reply, owned by the caller, or NULL (logged; not on a signal;
//  self->broken set if the fault is ours, not the hub's).
static zmsg_t *
s_call (client_t *self, uint64_t asked_ms, tick_fn *tick, const char *verb, ...)
{
    zmsg_t *request = zmsg_new ();
    va_list args;
    va_start (args, verb);
    for (const char *frame = verb; frame; frame = va_arg (args, const char *))
        zmsg_addstr (request, frame);
    va_end (args);
    zmsg_t *again = zmsg_dup (request);
    //  A REQ whose connection failed its handshake has nowhere to send
    //  until it reconnects: wait for that no longer than the call may.
    zsock_set_sndtimeo (
        self->req, self->timeout_ms && self->timeout_ms < INT_MAX ? (int) self->timeout_ms : -1);
    int64_t sent_at = zclock_mono ();
    if (!again || zmsg_send (&request, self->req) == -1) {
        int error = zmq_errno ();
        zmsg_destroy (&request);
        zmsg_destroy (&again);
        if (error == EAGAIN)
            s_no_reply (self, verb, zclock_mono () - sent_at);
        else if (!herald_signal) {
            log_error ("cannot send %s to the hub at %s: %s", verb, self->endpoint,
                       zmq_strerror (error));
            self->broken = true;
        }
        return NULL;
    }
    uint64_t closed = monitor_counts (self->monitor)->closed;
    uint64_t handshakes = monitor_counts (self->monitor)->handshakes;
    if (tick)
        tick (self);
    int64_t started = zclock_mono ();
    int64_t unreached = self->timeout_ms ? started + (int64_t) self->timeout_ms : INT64_MAX;
    int64_t reached =
        asked_ms ? started + (int64_t) (asked_ms + HERALD_CONTROL_TIMEOUT_MS) : unreached;
    int64_t notice = started + HERALD_CLIENT_NOTICE_MS;
    self->waiting_said = false;
    self->asked_ms = asked_ms;
    zmq_pollitem_t items[] = {{zsock_resolve (self->req), 0, ZMQ_POLLIN, 0},
                              {monitor_handle (self->monitor), 0, ZMQ_POLLIN, 0},
                              {NULL, herald_signal_fd (), ZMQ_POLLIN, 0}};
    while (!herald_signal) {
        int64_t now = zclock_mono ();
        const monitor_counts_t *counts = monitor_counts (self->monitor);
        bool known =
            self->answered || counts->handshakes || (counts->opened && !counts->handshake_failures);
        int64_t deadline = known ? reached : unreached;
        if (now >= deadline)
            break;
        if (now >= notice && !self->waiting_said)
            s_notice (self);
        int64_t wait = deadline - now;
        if (tick && wait > HERALD_PROBE_RESEND_MS)
            wait = HERALD_PROBE_RESEND_MS;
        if (!self->waiting_said && notice > now && wait > notice - now)
            wait = notice - now;
        int rc = zmq_poll (items, 3, (long) wait);
        if (rc == -1 && zmq_errno () != EINTR) {
            log_error ("poll failed: %s", zmq_strerror (zmq_errno ()));
            self->broken = true;
            zmsg_destroy (&again);
            return NULL;
        }
        if (rc > 0 && (items[1].revents & ZMQ_POLLIN))
            monitor_read (self->monitor);
        //  The connection that carried the request dropped, and a new one
        //  is up: send it again there, without waiting; unless the reply
        //  came before the drop, to be read only now (asking for ZMQ_EVENTS
        //  makes libzmq take it in): sent again, the request would be
        //  answered twice, and the second answer taken for the next one's.
        bool replied = rc > 0 && (items[0].revents & ZMQ_POLLIN);
        const monitor_counts_t *now_counts = monitor_counts (self->monitor);
        if (!replied && now_counts->closed != closed && now_counts->handshakes != handshakes) {
            closed = now_counts->closed;
            handshakes = now_counts->handshakes;
            replied = (zsock_events (self->req) & ZMQ_POLLIN) != 0;
            if (!replied) {
                log_debug ("the connection to the hub at %s dropped: sending %s again",
                           self->endpoint, verb);
                size_t left = zmsg_size (again);
                for (zframe_t *frame = zmsg_first (again); frame; frame = zmsg_next (again))
                    if (zframe_send (&frame, self->req,
                                     ZFRAME_REUSE | ZFRAME_DONTWAIT | (--left ? ZFRAME_MORE : 0)))
                        break;
            }
        }
        if (replied) {
            self->answered = true;
            zmsg_destroy (&again);
            return zmsg_recv (self->req);
        }
        if (tick)
            tick (self);
    }
    zmsg_destroy (&again);
    if (!herald_signal)
        s_no_reply (self, verb, zclock_mono () - started);
    return NULL;
}

//  A reply is [status][value]. Returns the status as a CLIENT_* code, with
//  the value copied into value; destroys the reply.
enum { REPLY_OK, REPLY_TIMEOUT, REPLY_BUSY, REPLY_OTHER };
static int
s_reply (zmsg_t **reply_p, char **value)
{
    char *status = zmsg_popstr (*reply_p);
    *value = zmsg_popstr (*reply_p);
    zmsg_destroy (reply_p);
    //  The hub holds too many waiting requests: a state, not a refusal
    //  (docs/protocol.md), so the caller may ask again.
    bool busy = status && *value && streq (status, "ERROR")
                && strncmp (*value, "too many waiting requests", 25) == 0;
    int code = !status || !*value          ? REPLY_OTHER
               : streq (status, "OK")      ? REPLY_OK
               : streq (status, "TIMEOUT") ? REPLY_TIMEOUT
               : busy                      ? REPLY_BUSY
                                           : REPLY_OTHER;
    if (code == REPLY_OTHER && status && streq (status, "ERROR"))
        log_error ("the hub refused: %s", *value ? *value : "");
    else if (code == REPLY_OTHER)
        log_error ("the hub's reply makes no sense (%s)", status ? status : "no status");
    zstr_free (&status);
    return code;
}

int
client_count (client_t *self, const char *topic, uint64_t *count)
{
    *self->waiting_for = 0;
    zmsg_t *reply = s_call (self, 0, NULL, "COUNT", topic, NULL);
    char *value = NULL;
    int rc = reply && s_reply (&reply, &value) == REPLY_OK
                     && text_parse_u64 (value, strlen (value), 0, UINT64_MAX, count) == 0
                 ? 0
                 : -1;
    zstr_free (&value);
    return rc;
}

int
client_stats (client_t *self, char **json)
{
    *self->waiting_for = 0;
    zmsg_t *reply = s_call (self, 0, NULL, "STATS", NULL);
    *json = NULL;
    if (reply && s_reply (&reply, json) == REPLY_OK)
        return 0;
    zstr_free (json);
    return -1;
}

//  Wait ms, or less if a signal comes. Returns false on a signal.
static bool
s_pause (int64_t ms)
{
    zmq_pollitem_t item = {NULL, herald_signal_fd (), ZMQ_POLLIN, 0};
    if (ms > 0)
        zmq_poll (&item, 1, (long) ms);
    return !herald_signal;
}

//  Ask verb (WAIT or PROBE) with these arguments and the timeout last,
//  again while the hub says TIMEOUT if the client's wait has no limit, and
//  again after a pause while the hub is too busy, within the client's
//  timeout. Returns a REPLY_* code with the value (caller frees), or -1.
static int
s_wait (client_t *self, tick_fn *tick, char **value, const char *verb, const char *first,
        const char *second, const char *third)
{
    int64_t deadline = self->timeout_ms ? zclock_mono () + (int64_t) self->timeout_ms : INT64_MAX;
    bool busy_said = false;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        uint64_t ask_ms = self->timeout_ms ? (uint64_t) (left > 0 ? left : 0) : WIRE_TIMEOUT_MAX_MS;
        char timeout[24];
        snprintf (timeout, sizeof timeout, "%llu", (unsigned long long) ask_ms);
        zmsg_t *reply = third
                            ? s_call (self, ask_ms, tick, verb, first, second, third, timeout, NULL)
                            : s_call (self, ask_ms, tick, verb, first, timeout, NULL);
        if (!reply)
            return -1;
        int code = s_reply (&reply, value);
        if (code == REPLY_BUSY && deadline - zclock_mono () > HERALD_BUSY_RETRY_MS) {
            if (!busy_said)
                log_info ("the hub at %s holds too many waiting requests; asking again every "
                          "%d ms",
                          self->endpoint, HERALD_BUSY_RETRY_MS);
            busy_said = true;
            zstr_free (value);
            if (!s_pause (HERALD_BUSY_RETRY_MS))
                return -1;
            continue;
        }
        if (code == REPLY_BUSY)
            log_error ("the hub at %s still held too many waiting requests after %llu ms",
                       self->endpoint, (unsigned long long) self->timeout_ms);
        if (code != REPLY_TIMEOUT || self->timeout_ms)
            return code;
        zstr_free (value);
    }
}

int
client_wait (client_t *self, const char *topic, uint64_t min, uint64_t max, uint64_t *count)
{
    char least[24], most[24], *value = NULL;
    snprintf (least, sizeof least, "%llu", (unsigned long long) min);
    snprintf (most, sizeof most, "%llu", (unsigned long long) max);
    snprintf (self->waiting_for, sizeof self->waiting_for,
              "the hub at %s to count %s%s subscribers to '%s'", self->endpoint,
              max == UINT64_MAX ? "at least " : "", least, topic);
    int code = s_wait (self, NULL, &value, "WAIT", topic, least, most);
    int rc = code == REPLY_OK ? 0 : code == REPLY_TIMEOUT ? 1 : -1;
    if (rc >= 0 && text_parse_u64 (value, strlen (value), 0, UINT64_MAX, count)) {
        log_error ("the hub's count makes no sense: %s", value);
        rc = -1;
    }
    zstr_free (&value);
    return rc;
}

static void
s_new_nonce (client_t *self)
{
    uint8_t random[16];
    if (getrandom (random, sizeof random, 0) != sizeof random) {
        //  getrandom never fails for 16 bytes once the system is up; this
        //  is only a fallback so that a nonce is never empty.
        uint64_t mixed = (uint64_t) zclock_time () ^ (uint64_t) getpid () << 40;
        memcpy (random, &mixed, sizeof mixed);
        memcpy (random + 8, &self, sizeof self < 8 ? sizeof self : 8);
    }
    for (size_t index = 0; index < sizeof random; index++)
        snprintf (self->nonce + 2 * index, 3, "%02x", random[index]);
}

//  A publisher's probe: an event on the probe topic carrying the nonce.
static void
s_send_probe (client_t *self)
{
    uint8_t message[sizeof HERALD_PROBE_TOPIC + WIRE_HEADER_SIZE + NONCE_SIZE];
    size_t size =
        wire_event_encode (message, sizeof message, HERALD_PROBE_TOPIC, strlen (HERALD_PROBE_TOPIC),
                           0, 0, self->nonce, strlen (self->nonce));
    assert (size);
    //  A full queue drops the probe; the next tick sends another.
    if (zmq_send (self->data, message, size, ZMQ_DONTWAIT) == -1)
        self->probes_unsent++;
    else
        self->probes_sent++;
}

//  PROBE a new nonce, sending it on data with tick until the hub answers.
//  Returns a REPLY_* code, or -1.
static int
s_probe (client_t *self, void *data, tick_fn *tick)
{
    s_new_nonce (self);
    self->data = data;
    char *value = NULL;
    int code = s_wait (self, tick, &value, "PROBE", self->nonce, NULL, NULL);
    zstr_free (&value);
    return code;
}

int
client_prove_publisher (client_t *self, void *pub, const char *frontend)
{
    snprintf (self->waiting_for, sizeof self->waiting_for,
              "the hub at %s to see a probe from %s (is that the hub's frontend?)", self->endpoint,
              frontend);
    self->probes_sent = self->probes_unsent = 0;
    int code = s_probe (self, pub, s_send_probe);
    if (code == REPLY_TIMEOUT)
        log_error ("the hub at %s answers, but none of %llu probes sent reached it from %s in "
                   "%llu ms (%llu more not sent: a full queue) (is that the hub's frontend?)",
                   self->endpoint, (unsigned long long) self->probes_sent, frontend,
                   (unsigned long long) self->timeout_ms, (unsigned long long) self->probes_unsent);
    return code == REPLY_OK ? 0 : -1;
}

//  A subscriber's probe: a subscription to the probe topic, "/" and the
//  nonce. libzmq sends every subscribe, repeats included, so each tick
//  repeats it until the hub has seen one.
static void
s_subscribe_probe (client_t *self)
{
    char topic[sizeof HERALD_PROBE_TOPIC + 1 + NONCE_SIZE];
    snprintf (topic, sizeof topic, "%s/%s", HERALD_PROBE_TOPIC, self->nonce);
    //  Asking for ZMQ_EVENTS makes libzmq process the socket's pending
    //  commands: after a reconnect, that is what sends its subscriptions
    //  again, and nothing else touches the SUB while it is being proven.
    int events;
    size_t size = sizeof events;
    zmq_getsockopt (self->data, ZMQ_EVENTS, &events, &size);
    if (zmq_setsockopt (self->data, ZMQ_SUBSCRIBE, topic, strlen (topic)) == 0)
        self->probes_held++;
}

//  Drop the probe subscription, as often as it was made, so that a
//  reconnect never sends it again ahead of the topics.
static void
s_unsubscribe_probe (client_t *self)
{
    char topic[sizeof HERALD_PROBE_TOPIC + 1 + NONCE_SIZE];
    snprintf (topic, sizeof topic, "%s/%s", HERALD_PROBE_TOPIC, self->nonce);
    for (; self->probes_held; self->probes_held--)
        zmq_setsockopt (self->data, ZMQ_UNSUBSCRIBE, topic, strlen (topic));
}

int
client_prove_subscriber (client_t *self, void *sub)
{
    snprintf (self->waiting_for, sizeof self->waiting_for,
              "the hub at %s to count this subscriber (is --backend the hub's?)", self->endpoint);
    //  Two probes in a row on one connection: a SUB that connects sends
    //  the subscriptions it already has in its own (sorted) order, so the
    //  first probe may overtake the topics; it proves the connection is up.
    //  The second is sent after everything before it, and the hub reads one
    //  connection's subscriptions in order: once it has seen the second, it
    //  counts us. A probe is dropped once seen, and a round in which the
    //  connection dropped (a reconnect sends everything again, sorted)
    //  starts the proof over.
    monitor_t *drops = monitor_new (sub, "subscriber", ZMQ_EVENT_DISCONNECTED);
    if (!drops) {
        self->broken = true;
        return -1;
    }
    int64_t started = zclock_mono ();
    int rc = 0;
    for (int round = 0; round < 2 && rc == 0;) {
        uint64_t closed = monitor_counts (drops)->closed;
        int code = s_probe (self, sub, s_subscribe_probe);
        s_unsubscribe_probe (self);
        monitor_read (drops);
        uint64_t dropped = monitor_counts (drops)->closed;
        if (code == REPLY_TIMEOUT)
            log_error ("the hub at %s answers, but has not counted this subscriber in %llu ms "
                       "(is --backend the hub's?)",
                       self->endpoint, (unsigned long long) self->timeout_ms);
        if (code != REPLY_OK)
            rc = -1;
        else if (dropped == closed)
            round++;
        else if (self->timeout_ms && zclock_mono () - started > (int64_t) self->timeout_ms) {
            log_error ("the hub at %s dropped this subscriber's connection %llu times in %llu ms "
                       "(is --topic longer than the hub's --max-topic-size?)",
                       self->endpoint, (unsigned long long) dropped,
                       (unsigned long long) self->timeout_ms);
            rc = -1;
        } else {
            if (closed == 0)  //  the first drop: say so once
                log_warn ("the hub at %s dropped this subscriber's connection while proving it "
                          "was counted; trying again (is --topic longer than the hub's "
                          "--max-topic-size?)",
                          self->endpoint);
            round = 0;
        }
    }
    monitor_destroy (&drops);
    return rc;
}

//  --------------------------------------------------------------------------
//  Self test: a client against the real control module, run by an actor.

static void
s_test_stats (void *argument, FILE *out)
{
    (void) argument;
    fprintf (out, "\"test\":1");
}

static void
s_test_hub (zsock_t *pipe, void *argument)
{
    subtable_t *subscriptions = argument;
    control_t *control = control_new ("inproc://herald-client-test", &(sock_curve_t){0}, NULL,
                                      subscriptions, s_test_stats, NULL);
    assert (control);
    zsock_signal (pipe, 0);
    zmq_pollitem_t items[] = {{zsock_resolve (pipe), 0, ZMQ_POLLIN, 0},
                              {control_handle (control), 0, ZMQ_POLLIN, 0}};
    while (true) {
        long timeout = control_expire (control, zclock_mono ());
        if (zmq_poll (items, 2, timeout) == -1 || (items[0].revents & ZMQ_POLLIN))
            break;  //  $TERM
        if (items[1].revents & ZMQ_POLLIN)
            control_read (control);
    }
    control_destroy (&control);
}

void
client_test (bool verbose)
{
    (void) verbose;
    //  Nothing listens: the call gives up at its deadline, having said
    //  why.
    client_t *client = client_new ("inproc://herald-client-test", &(sock_curve_t){0}, 50);
    assert (client);
    uint64_t count = 7;
    assert (client_count (client, "event", &count) == -1 && count == 7);
    client_destroy (&client);
    client_destroy (&client);

    subtable_t *subscriptions = subtable_new (HERALD_MAX_TOPIC_DEFAULT, 0);
    assert (subtable_apply (subscriptions, 1, "\1ev", 3) == 0);
    zactor_t *hub = zactor_new (s_test_hub, subscriptions);
    client = client_new ("inproc://herald-client-test", &(sock_curve_t){0}, 100);
    assert (client_count (client, "event", &count) == 0 && count == 1);
    assert (client_wait (client, "event", 1, 1, &count) == 0 && count == 1);
    assert (client_wait (client, "event", 2, 3, &count) == 1 && count == 1);
    char *json;
    assert (client_stats (client, &json) == 0 && strncmp (json, "{\"test\":1,", 10) == 0);
    zstr_free (&json);
    //  Two probes in a row never share a nonce.
    s_new_nonce (client);
    char first[NONCE_SIZE];
    memcpy (first, client->nonce, sizeof first);
    s_new_nonce (client);
    assert (strlen (first) == 32 && strcmp (first, client->nonce) != 0);
    client_destroy (&client);
    zactor_destroy (&hub);
    subtable_destroy (&subscriptions);
}
