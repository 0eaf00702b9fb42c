/*  hub.c - role: the hub.

    Publishers' PUB sockets connect to the frontend (XSUB); subscribers' SUB
    sockets connect to the backend (XPUB). Events flow frontend -> backend;
    subscriptions flow backend -> frontend, counted on the way. The control
    endpoint (control.c) answers questions about them; monitors (monitor.c)
    count connections. Why this makes "a counted subscriber never misses a
    later event" hold: docs/guarantees.md. */

#include "control.h"
#include "herald.h"
#include "log.h"
#include "monitor.h"
#include "roles.h"
#include "signals.h"
#include "sock.h"
#include "subtable.h"
#include "topics.h"
#include "wire.h"

#include <czmq.h>

typedef struct {
    const config_t *cfg;
    zsock_t *frontend;   //  XSUB, publishers connect
    zsock_t *backend;    //  XPUB, subscribers connect
    void *front, *back;  //  their libzmq handles, for the data path
    control_t *control;
    monitor_t *front_monitor, *back_monitor;
    sock_curve_t curve;  //  CURVE keys, when on
    zactor_t *auth;      //  zauth: which CURVE clients are let in
    subtable_t *subscriptions;
    topics_t *topics;  //  traffic per topic
    //  --no-drop-slow: the event a full subscriber queue refused, held
    //  (and the frontend left unread) until the queue has room
    zmq_msg_t pending;
    topic_counters_t *pending_counters;
    bool blocked;
    int send_flags;  //  ZMQ_DONTWAIT with --no-drop-slow, else 0
    int64_t started;
    int64_t terminated;  //  when TERMINATE passed, 0 before
    //  Counters, reported by STATS
    uint64_t events_in;       //  events read from publishers
    uint64_t events_out;      //  events the backend took
    uint64_t send_failures;   //  events the backend refused (not for a full queue)
    uint64_t terminates;      //  of which TERMINATE
    uint64_t probes;          //  probes consumed, publishers' and subscribers'
    uint64_t invalid_events;  //  not herald's format: dropped
    uint64_t subscribes;
    uint64_t unsubscribes;
    uint64_t bad_subscriptions;  //  malformed or unknown, ignored
} hub_t;

//  A publisher's probe is an event on $herald/probe whose payload is the
//  nonce. Other reserved topics mean nothing to this hub.
static void
s_take_reserved (hub_t *self, const uint8_t *data, size_t size)
{
    wire_event_t event;
    if (wire_event_decode (data, size, &event) == 0
        && event.topic_size == strlen (HERALD_PROBE_TOPIC)
        && memcmp (event.topic, HERALD_PROBE_TOPIC, event.topic_size) == 0) {
        self->probes++;
        control_probe_seen (self->control, event.payload, event.payload_size);
    } else
        self->invalid_events++;
}

static void
s_take_terminate (hub_t *self)
{
    self->terminates++;
    if (!self->terminated) {
        self->terminated = zclock_mono ();
        uint64_t drain = self->cfg->drain_timeout_ms;
        if (self->cfg->exit_on_terminate && drain)
            log_info ("TERMINATE passed; exiting once subscribers and publishers have left "
                      "(at most %llu ms)",
                      (unsigned long long) drain);
        else if (self->cfg->exit_on_terminate)
            log_info ("TERMINATE passed; exiting once subscribers and publishers have left");
    }
}

//  Hand one event to the backend: XPUB queues it for each matching
//  subscriber. With --no-drop-slow, a full subscriber queue refuses it:
//  then it waits in self->pending.
static void
s_send_event (hub_t *self, zmq_msg_t *message, topic_counters_t *counters)
{
    if (zmq_msg_send (message, self->back, self->send_flags) != -1) {
        counters->out++;
        self->events_out++;
    } else if (zmq_errno () == EAGAIN) {
        zmq_msg_move (&self->pending, message);
        self->pending_counters = counters;
        self->blocked = true;
    } else {
        self->send_failures++;
        log_error ("backend send failed: %s", zmq_strerror (zmq_errno ()));
    }
}

//  --no-drop-slow: try the held event again.
static void
s_retry_pending (hub_t *self)
{
    zmq_msg_t message;
    zmq_msg_init (&message);
    zmq_msg_move (&message, &self->pending);
    self->blocked = false;
    s_send_event (self, &message, self->pending_counters);
    zmq_msg_close (&message);
}

//  The data path: move every message that is ready from frontend to
//  backend, without copying. An event is one frame (wire.h); anything else
//  is counted and dropped, and reserved topics stop here.
static void
s_forward_events (hub_t *self)
{
    zmq_msg_t message;
    zmq_msg_init (&message);
    for (int count = 0; count < HERALD_FORWARD_BATCH && !self->blocked; count++) {
        if (zmq_msg_recv (&message, self->front, ZMQ_DONTWAIT) == -1)
            break;  //  EAGAIN: nothing more is ready
        const uint8_t *data = zmq_msg_data (&message);
        size_t size = zmq_msg_size (&message);
        size_t topic_size;
        if (zmq_msg_more (&message) || wire_event_split (data, size, &topic_size)) {
            //  Multipart messages are atomic: the rest is here already.
            while (zmq_msg_more (&message) && zmq_msg_recv (&message, self->front, 0) != -1)
                ;
            self->invalid_events++;
            continue;
        }
        if (wire_topic_is_reserved (data, topic_size)) {
            s_take_reserved (self, data, size);
            continue;
        }
        if (wire_topic_is_terminate (data, topic_size))
            s_take_terminate (self);
        self->events_in++;
        topic_counters_t *counters = topics_lookup (self->topics, data, topic_size);
        counters->in++;
        s_send_event (self, &message, counters);
    }
    zmq_msg_close (&message);
}

//  A reserved subscription: a subscriber's probe ($herald/probe/NONCE) is
//  seen, never counted; none is passed on to publishers.
static void
s_take_reserved_subscription (hub_t *self, const uint8_t *data, size_t size)
{
    size_t prefix = strlen (HERALD_PROBE_TOPIC) + 1;
    if (data[0] == 1 && size - 1 > prefix
        && memcmp (data + 1, HERALD_PROBE_TOPIC "/", prefix) == 0) {
        self->probes++;
        control_probe_seen (self->control, data + 1 + prefix, size - 1 - prefix);
    }
}

//  Subscriptions flow the other way: count each one, then pass it on to
//  the publishers.
static void
s_forward_subscriptions (hub_t *self)
{
    zmq_msg_t message;
    zmq_msg_init (&message);
    bool changed = false;
    for (int count = 0; count < HERALD_FORWARD_BATCH; count++) {
        if (zmq_msg_recv (&message, self->back, ZMQ_DONTWAIT) == -1)
            break;
        const uint8_t *data = zmq_msg_data (&message);
        size_t size = zmq_msg_size (&message);
        if (!zmq_msg_more (&message) && size >= 1 && data[0] <= 1
            && wire_topic_is_reserved (data + 1, size - 1)) {
            s_take_reserved_subscription (self, data, size);
            continue;
        }
        if (zmq_msg_more (&message) || subtable_apply (self->subscriptions, data, size)) {
            self->bad_subscriptions++;
            log_debug ("ignored a malformed subscription message (%zu bytes)", size);
            continue;
        }
        changed = true;
        if (data[0] == 1)
            self->subscribes++;
        else
            self->unsubscribes++;
        log_debug ("%s '%.*s': %llu subscriptions in all", data[0] ? "subscribe" : "unsubscribe",
                   (int) size - 1, (const char *) data + 1,
                   (unsigned long long) subtable_total (self->subscriptions));
        zmq_msg_send (&message, self->front, 0);
    }
    zmq_msg_close (&message);
    if (changed)
        control_counts_changed (self->control);
}

//  STATS: the hub's members; control.c adds its own. docs/operations.md
//  describes each field.
static void
s_stats (void *argument, FILE *out)
{
    hub_t *self = argument;
    const monitor_counts_t *front = monitor_counts (self->front_monitor);
    const monitor_counts_t *back = monitor_counts (self->back_monitor);
    fprintf (out,
             "\"version\":\"%s\",\"pid\":%d,\"uptime_ms\":%lld,\"subscriptions\":", HERALD_VERSION,
             (int) getpid (), (long long) (zclock_mono () - self->started));
    size_t unlisted = subtable_json (self->subscriptions, out, HERALD_STATS_LIST_BYTES);
    fprintf (out,
             ",\"subscriptions_unlisted\":%zu,\"subscriptions_total\":%llu,"
             "\"connections\":{\"publishers\":%llu,\"subscribers\":%llu},"
             "\"messages\":{\"in\":%llu,\"out\":%llu,\"send_failures\":%llu,\"terminate\":%llu,"
             "\"probes\":%llu,\"invalid\":%llu,\"waiting_for_slow\":%d},"
             "\"subscription_messages\":{\"subscribe\":%llu,\"unsubscribe\":%llu,"
             "\"malformed\":%llu},"
             "\"accept_failures\":%llu,\"topics\":",
             unlisted, (unsigned long long) subtable_total (self->subscriptions),
             (unsigned long long) front->connections, (unsigned long long) back->connections,
             (unsigned long long) self->events_in, (unsigned long long) self->events_out,
             (unsigned long long) self->send_failures, (unsigned long long) self->terminates,
             (unsigned long long) self->probes, (unsigned long long) self->invalid_events,
             self->blocked ? 1 : 0, (unsigned long long) self->subscribes,
             (unsigned long long) self->unsubscribes, (unsigned long long) self->bad_subscriptions,
             (unsigned long long) (front->accept_failures + back->accept_failures));
    unlisted = topics_json (self->topics, out, 2 * HERALD_STATS_LIST_BYTES);
    fprintf (out, ",\"topics_unlisted\":%zu", unlisted);
}

//  Make the sockets. The frontend subscribes to everything, so that no
//  publisher ever filters (docs/guarantees.md). Returns 0, or the exit
//  code.
static int
s_open (hub_t *self)
{
    const config_t *cfg = self->cfg;
    //  With CURVE, zauth decides over every handshake (ZAP): only clients
    //  whose public key is in --curve-allow get in, or any CURVE client
    //  without it. Plaintext clients never do.
    if (self->curve.cert) {
        self->auth = zactor_new (zauth, NULL);
        if (!self->auth) {
            log_error ("cannot start authentication");
            return HERALD_EXIT_SOFTWARE;
        }
        zstr_sendx (self->auth, "CURVE", *cfg->curve_allow ? cfg->curve_allow : CURVE_ALLOW_ANY,
                    NULL);
        zsock_wait (self->auth);
    }
    //  Publishers and subscribers share the frame limit; only subscribers
    //  are pinged (docs/operations.md, "Heartbeats").
    sock_options_t options = {.curve = &self->curve,
                              .hwm = sock_hwm (cfg->hwm),
                              .max_frame = (int64_t) cfg->max_message_size};
    self->frontend = sock_new (ZMQ_XSUB, cfg->frontend, true, &options, "frontend");
    if (!self->frontend)
        return HERALD_EXIT_UNAVAILABLE;
    //  The backend receives nothing but subscriptions (and pings): the
    //  topic, after ZMTP 3.1's "\x09SUBSCRIBE" (10 bytes; 3.0 peers send a
    //  single byte, and so may send 9 bytes more).
    options.max_frame = (int64_t) cfg->max_topic_size + HERALD_SUBSCRIBE_OVERHEAD;
    options.heartbeat_ms = (int) cfg->heartbeat_ms;
    options.heartbeat_watch = true;
    self->backend = sock_new (ZMQ_XPUB, cfg->backend, true, &options, "backend");
    if (!self->backend)
        return HERALD_EXIT_UNAVAILABLE;
    self->control = control_new (cfg->control, &self->curve, self->subscriptions, s_stats, self);
    if (!self->control)
        return HERALD_EXIT_UNAVAILABLE;
    zsock_set_xpub_verboser (self->backend, 1);
    if (!cfg->drop_slow) {
        zsock_set_xpub_nodrop (self->backend, 1);
        self->send_flags = ZMQ_DONTWAIT;
    }
    self->front = zsock_resolve (self->frontend);
    self->back = zsock_resolve (self->backend);
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED | ZMQ_EVENT_DISCONNECTED;
    self->front_monitor = monitor_new (self->front, "frontend", events);
    self->back_monitor = monitor_new (self->back, "backend", events);
    if (!self->front_monitor || !self->back_monitor)
        return HERALD_EXIT_SOFTWARE;
    uint8_t everything = 1;
    if (zmq_send (self->front, &everything, 1, 0) == -1) {
        log_error ("cannot subscribe the frontend: %s", zmq_strerror (zmq_errno ()));
        return HERALD_EXIT_SOFTWARE;
    }
    return 0;
}

static void
s_close (hub_t *self)
{
    if (self->backend)  //  give queued events a moment to reach subscribers
        zsock_set_linger (self->backend, HERALD_HUB_LINGER_MS);
    monitor_destroy (&self->front_monitor);
    monitor_destroy (&self->back_monitor);
    control_destroy (&self->control);
    zsock_destroy (&self->frontend);
    zsock_destroy (&self->backend);
    zactor_destroy (&self->auth);
    sock_curve_destroy (&self->curve);
    subtable_destroy (&self->subscriptions);
    topics_destroy (&self->topics);
    zmq_msg_close (&self->pending);
}

//  With --exit-on-terminate: true once TERMINATE has passed and both its
//  subscribers and its publishers have gone (publishers stay connected
//  until they have proven their last event arrived), or the drain timeout
//  (if any) has expired.
static bool
s_drained (hub_t *self)
{
    const config_t *cfg = self->cfg;
    if (!cfg->exit_on_terminate || !self->terminated)
        return false;
    uint64_t subscriptions = subtable_total (self->subscriptions);
    uint64_t publishers = monitor_counts (self->front_monitor)->connections;
    bool expired = cfg->drain_timeout_ms
                   && zclock_mono () >= self->terminated + (int64_t) cfg->drain_timeout_ms;
    if (!expired && (subscriptions || publishers))
        return false;
    log_info ("TERMINATE has passed; %llu subscriptions and %llu publishers remain: exiting",
              (unsigned long long) subscriptions, (unsigned long long) publishers);
    return true;
}

//  How long the loop may sleep: until the next waiter's deadline, the end
//  of the drain, or the next retry of a held event; -1: no limit.
static long
s_timeout (hub_t *self)
{
    int64_t now = zclock_mono ();
    long timeout = control_expire (self->control, now);
    const config_t *cfg = self->cfg;
    if (self->terminated && cfg->exit_on_terminate && cfg->drain_timeout_ms) {
        int64_t drain_end = self->terminated + (int64_t) cfg->drain_timeout_ms;
        long left = drain_end > now ? (long) (drain_end - now) : 0;
        if (timeout == -1 || left < timeout)
            timeout = left;
    }
    if (self->blocked && (timeout == -1 || timeout > HERALD_SLOW_RETRY_MS))
        timeout = HERALD_SLOW_RETRY_MS;
    return timeout;
}

//  The loop: forward events and subscriptions, answer control, watch
//  connections, until a signal or the drain after TERMINATE. Returns 0, or
//  the exit code of an internal error.
static int
s_run (hub_t *self)
{
    zmq_pollitem_t items[] = {{self->front, 0, ZMQ_POLLIN, 0},
                              {self->back, 0, ZMQ_POLLIN, 0},
                              {control_handle (self->control), 0, ZMQ_POLLIN, 0},
                              {monitor_handle (self->front_monitor), 0, ZMQ_POLLIN, 0},
                              {monitor_handle (self->back_monitor), 0, ZMQ_POLLIN, 0},
                              {NULL, herald_signal_fd (), ZMQ_POLLIN, 0},
                              {control_watch_handle (self->control), 0, ZMQ_POLLIN, 0}};
    while (!herald_signal && !s_drained (self)) {
        long timeout = s_timeout (self);
        //  Blocked by a slow subscriber: leave the frontend unread, so that
        //  publishers feel the pressure.
        items[0].events = self->blocked ? 0 : ZMQ_POLLIN;
        if (zmq_poll (items, 7, timeout) == -1) {
            if (zmq_errno () == EINTR)
                continue;
            log_error ("poll failed: %s", zmq_strerror (zmq_errno ()));
            return HERALD_EXIT_SOFTWARE;
        }
        if (self->blocked)
            s_retry_pending (self);
        if (items[0].revents & ZMQ_POLLIN)
            s_forward_events (self);
        if (items[1].revents & ZMQ_POLLIN)
            s_forward_subscriptions (self);
        if ((items[2].revents | items[6].revents) & ZMQ_POLLIN)
            control_read (self->control);
        if (items[3].revents & ZMQ_POLLIN)
            monitor_read (self->front_monitor);
        if (items[4].revents & ZMQ_POLLIN)
            monitor_read (self->back_monitor);
    }
    if (herald_signal)
        log_info ("stopping on signal %d", (int) herald_signal);
    log_info ("forwarded %llu events", (unsigned long long) self->events_out);
    return HERALD_EXIT_OK;
}

//  True if only this machine can reach endpoint: loopback, IPC, inproc.
static bool
s_is_local (const char *endpoint)
{
    return strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0
           || strncmp (endpoint, "tcp://127.", 10) == 0
           || strncmp (endpoint, "tcp://localhost:", 16) == 0
           || strncmp (endpoint, "tcp://[::1]:", 12) == 0;
}

static void
s_log_start (hub_t *self, uint64_t fd_limit)
{
    const config_t *cfg = self->cfg;
    char curve[CONFIG_TEXT_MAX + 64] = "CURVE off: traffic is plaintext, and ";
    bool local =
        s_is_local (cfg->frontend) && s_is_local (cfg->backend) && s_is_local (cfg->control);
    strcat (curve, local ? "anyone on this machine may connect"
                         : "anyone who can reach these endpoints may connect");
    if (self->curve.cert)
        snprintf (curve, sizeof curve, "CURVE on, public key %s, clients let in: %s",
                  zcert_public_txt (self->curve.cert),
                  *cfg->curve_allow ? cfg->curve_allow : "any CURVE key");
    log_info ("forwarding %s -> %s, control %s; %s; up to %llu file descriptors", cfg->frontend,
              cfg->backend, cfg->control, curve, (unsigned long long) fd_limit);
}

int
hub_main (const config_t *cfg)
{
    hub_t *self = calloc (1, sizeof (hub_t));
    if (!self) {
        log_error ("out of memory");
        return HERALD_EXIT_OSERR;
    }
    self->cfg = cfg;
    self->started = zclock_mono ();
    uint64_t fd_limit = monitor_raise_fd_limit ();
    zmq_msg_init (&self->pending);
    self->subscriptions = subtable_new ();
    self->topics = topics_new (HERALD_MAX_TOPICS, cfg->max_topic_size);
    int rc;
    if (!self->subscriptions || !self->topics) {
        log_error ("out of memory");
        rc = HERALD_EXIT_OSERR;
    } else if (sock_curve_load (cfg, true, &self->curve))
        rc = HERALD_EXIT_CONFIG;
    else if ((rc = s_open (self)) == 0) {
        s_log_start (self, fd_limit);
        rc = s_run (self);
    }
    s_close (self);
    free (self);
    return rc;
}
