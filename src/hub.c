/*  hub.c - role: the hub.

    Publishers' PUB sockets connect to the frontend (XSUB); subscribers' SUB
    sockets connect to the backend (XPUB). Events flow frontend -> backend;
    subscriptions flow backend -> frontend. The control endpoint (ROUTER)
    answers questions about subscribers and counters.

    Two choices make "a counted subscriber never misses an event" hold:
    - The frontend subscribes to everything, so a publisher's PUB socket
      never filters: once one message from it has reached the hub, every
      later one does too (until a queue fills). Publishers prove that with a
      probe on a reserved topic before they start.
    - The backend is XPUB with ZMQ_XPUB_VERBOSER, and libzmq adds a
      subscriber to the XPUB's filter before it hands the subscription up.
      So when the hub has counted a subscriber, every event the hub
      forwards from then on is queued for it. */

#include "herald.h"
#include "log.h"
#include "roles.h"
#include "sock.h"
#include "subtable.h"
#include "topics.h"
#include "wire.h"

#include <czmq.h>
#include <sys/resource.h>

//  A control request whose answer is not known yet: WAIT until a count is
//  in range, or PROBE until a probe arrives.
typedef struct {
    zframe_t *routing;  //  the client's ROUTER identity, owned
    bool delimiter;     //  REQ clients expect an empty frame first
    wire_verb_t verb;
    uint8_t key[WIRE_ARG_MAX];  //  WAIT: the topic; PROBE: the nonce
    size_t key_size;
    uint64_t min, max;
    int64_t deadline;  //  zclock_mono () time
} waiter_t;

typedef struct {
    const config_t *cfg;
    zsock_t *frontend;       //  XSUB, publishers connect
    zsock_t *backend;        //  XPUB, subscribers connect
    zsock_t *control;        //  ROUTER, clients ask
    sock_curve_t curve;      //  CURVE keys, when on
    zactor_t *auth;          //  zauth: which CURVE clients are let in
    zsock_t *front_monitor;  //  PAIR: frontend connections come and go
    zsock_t *back_monitor;   //  PAIR: backend connections come and go
    void *front, *back;      //  their libzmq handles, for the data path
    uint64_t publishers;     //  connections on the frontend
    uint64_t subscribers;    //  connections on the backend
    subtable_t *subscriptions;
    topics_t *topics;  //  traffic per topic
    //  --no-drop-slow: the event a full subscriber queue refused, held
    //  (and the frontend left unread) until the queue has room
    zmq_msg_t pending;
    size_t pending_topic_size;
    bool blocked;
    int send_flags;         //  ZMQ_DONTWAIT with --no-drop-slow, else 0
    bool accept_failing;    //  since the last accept that worked
    int64_t accept_logged;  //  when a failed accept was last logged
    waiter_t waiters[HERALD_MAX_WAITERS];
    size_t waiter_count;
    int64_t started;
    int64_t terminated;  //  when TERMINATE passed, 0 before
    //  Counters, reported by STATS
    uint64_t events_in;       //  events read from publishers
    uint64_t events_out;      //  events handed to the backend
    uint64_t terminates;      //  of which TERMINATE
    uint64_t probes;          //  probes consumed
    uint64_t invalid_events;  //  not herald's format: dropped
    uint64_t subscribes;
    uint64_t unsubscribes;
    uint64_t bad_subscriptions;  //  malformed or unknown, ignored
    uint64_t requests;           //  control requests
    uint64_t bad_requests;       //  answered with ERROR
    uint64_t accept_failures;    //  connections refused: out of file descriptors
} hub_t;

//  Send a control reply: the routing envelope, then status and value.
static void
s_reply (hub_t *self, zframe_t *routing, bool delimiter, const char *status, const char *value)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &(zframe_t *){zframe_dup (routing)});
    if (delimiter)
        zmsg_addmem (reply, NULL, 0);
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, value);
    //  ROUTER drops, never blocks, when a client does not read its replies.
    zmsg_send (&reply, self->control);
    zmsg_destroy (&reply);
}

static void
s_reply_count (hub_t *self, waiter_t *waiter, const char *status, uint64_t count)
{
    char text[24];
    snprintf (text, sizeof text, "%llu", (unsigned long long) count);
    s_reply (self, waiter->routing, waiter->delimiter, status, text);
}

static void
s_waiter_remove (hub_t *self, size_t index)
{
    zframe_destroy (&self->waiters[index].routing);
    self->waiters[index] = self->waiters[--self->waiter_count];
}

//  Answer every WAIT whose count is now in range.
static void
s_check_waits (hub_t *self)
{
    for (size_t index = 0; index < self->waiter_count;) {
        waiter_t *waiter = &self->waiters[index];
        uint64_t count = waiter->verb == WIRE_WAIT
                             ? subtable_count (self->subscriptions, waiter->key, waiter->key_size)
                             : 0;
        if (waiter->verb == WIRE_WAIT && count >= waiter->min && count <= waiter->max) {
            s_reply_count (self, waiter, "OK", count);
            s_waiter_remove (self, index);
        } else
            index++;
    }
}

//  Answer the PROBE waiting for this nonce, if any.
static void
s_check_probe (hub_t *self, const uint8_t *nonce, size_t size)
{
    for (size_t index = 0; index < self->waiter_count; index++) {
        waiter_t *waiter = &self->waiters[index];
        if (waiter->verb == WIRE_PROBE && waiter->key_size == size
            && memcmp (waiter->key, nonce, size) == 0) {
            s_reply (self, waiter->routing, waiter->delimiter, "OK", "probe seen");
            s_waiter_remove (self, index);
            return;
        }
    }
}

//  Answer TIMEOUT to every waiter past its deadline; return the time until
//  the next deadline (or until the drain ends), -1 if none.
static long
s_expire (hub_t *self, int64_t now)
{
    int64_t next = -1;
    for (size_t index = 0; index < self->waiter_count;) {
        waiter_t *waiter = &self->waiters[index];
        if (waiter->deadline <= now) {
            uint64_t count =
                waiter->verb == WIRE_WAIT
                    ? subtable_count (self->subscriptions, waiter->key, waiter->key_size)
                    : 0;
            s_reply_count (self, waiter, "TIMEOUT", count);
            s_waiter_remove (self, index);
            continue;
        }
        if (next == -1 || waiter->deadline < next)
            next = waiter->deadline;
        index++;
    }
    if (self->terminated && self->cfg->exit_on_terminate) {
        int64_t drain_end = self->terminated + (int64_t) self->cfg->drain_timeout_ms;
        if (next == -1 || drain_end < next)
            next = drain_end;
    }
    return next == -1 ? -1 : (long) (next > now ? next - now : 0);
}

//  A probe is an event on $herald/probe whose payload is the nonce. Other
//  reserved topics mean nothing to this hub.
static void
s_take_reserved (hub_t *self, const uint8_t *data, size_t size)
{
    wire_event_t event;
    if (wire_event_decode (data, size, &event) == 0
        && event.topic_size == strlen (HERALD_PROBE_TOPIC)
        && memcmp (event.topic, HERALD_PROBE_TOPIC, event.topic_size) == 0) {
        self->probes++;
        s_check_probe (self, event.payload, event.payload_size);
    } else
        self->invalid_events++;
}

static void
s_take_terminate (hub_t *self)
{
    self->terminates++;
    if (!self->terminated) {
        self->terminated = zclock_mono ();
        if (self->cfg->exit_on_terminate)
            log_info ("TERMINATE passed; exiting once subscribers and publishers "
                      "have left (at most %llu ms)",
                      (unsigned long long) self->cfg->drain_timeout_ms);
    }
}

//  Hand one event to the backend: XPUB queues it for each matching
//  subscriber. With --no-drop-slow, a full subscriber queue refuses it: then
//  it waits in self->pending and this returns -1.
static int
s_send_event (hub_t *self, zmq_msg_t *message, size_t topic_size)
{
    topic_counters_t *counters = topics_lookup (self->topics, zmq_msg_data (message), topic_size);
    if (zmq_msg_send (message, self->back, self->send_flags) == -1) {
        if (zmq_errno () == EAGAIN) {
            zmq_msg_move (&self->pending, message);
            self->pending_topic_size = topic_size;
            self->blocked = true;
            return -1;
        }
        log_error ("backend send failed: %s", zmq_strerror (zmq_errno ()));
    }
    counters->out++;
    self->events_out++;
    return 0;
}

//  --no-drop-slow: try the held event again.
static void
s_retry_pending (hub_t *self)
{
    zmq_msg_t message;
    zmq_msg_init (&message);
    zmq_msg_move (&message, &self->pending);
    self->blocked = false;
    s_send_event (self, &message, self->pending_topic_size);
    zmq_msg_close (&message);
}

//  The data path: move every message that is ready from frontend to backend,
//  without copying. An event is one frame (see wire.h); anything else is
//  counted and dropped, and reserved topics stop here.
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
        if (topic_size == strlen (HERALD_TERMINATE)
            && memcmp (data, HERALD_TERMINATE, topic_size) == 0)
            s_take_terminate (self);
        self->events_in++;
        topics_lookup (self->topics, data, topic_size)->in++;
        s_send_event (self, &message, topic_size);
    }
    zmq_msg_close (&message);
}

//  Subscriptions flow the other way: count each one, then pass it upstream.
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
        log_debug ("%s '%.*s': %llu subscriptions", data[0] ? "subscribe" : "unsubscribe",
                   (int) size - 1, (const char *) data + 1,
                   (unsigned long long) subtable_total (self->subscriptions));
        zmq_msg_send (&message, self->front, 0);
    }
    zmq_msg_close (&message);
    if (changed)
        s_check_waits (self);
}

static char *
s_stats_json (hub_t *self)
{
    char *json = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&json, &size);
    if (!out)
        return NULL;
    fprintf (out,
             "{\"version\":\"%s\",\"pid\":%d,\"uptime_ms\":%lld,\"subscriptions\":", HERALD_VERSION,
             (int) getpid (), (long long) (zclock_mono () - self->started));
    subtable_json (self->subscriptions, out);
    fprintf (out,
             ",\"subscriptions_total\":%llu,"
             "\"connections\":{\"publishers\":%llu,\"subscribers\":%llu},"
             "\"messages\":{\"in\":%llu,\"out\":%llu,\"terminate\":%llu,\"probes\":%llu,"
             "\"invalid\":%llu,\"waiting_for_slow\":%d},"
             "\"subscription_messages\":{\"subscribe\":%llu,\"unsubscribe\":%llu,"
             "\"malformed\":%llu},"
             "\"control\":{\"requests\":%llu,\"errors\":%llu,\"waiting\":%zu},"
             "\"accept_failures\":%llu,\"topics\":",
             (unsigned long long) subtable_total (self->subscriptions),
             (unsigned long long) self->publishers, (unsigned long long) self->subscribers,
             (unsigned long long) self->events_in, (unsigned long long) self->events_out,
             (unsigned long long) self->terminates, (unsigned long long) self->probes,
             (unsigned long long) self->invalid_events, self->blocked ? 1 : 0,
             (unsigned long long) self->subscribes, (unsigned long long) self->unsubscribes,
             (unsigned long long) self->bad_subscriptions, (unsigned long long) self->requests,
             (unsigned long long) self->bad_requests, self->waiter_count,
             (unsigned long long) self->accept_failures);
    topics_json (self->topics, out);
    fputc ('}', out);
    fclose (out);
    return json;
}

//  Answer one parsed request now, or park it as a waiter.
static void
s_answer (hub_t *self, zframe_t *routing, bool delimiter, const wire_request_t *request)
{
    char text[32];
    uint64_t count;
    switch (request->verb) {
    case WIRE_PING:
        s_reply (self, routing, delimiter, "OK", HERALD_VERSION);
        return;
    case WIRE_COUNT:
        count = subtable_count (self->subscriptions, request->topic, request->topic_size);
        snprintf (text, sizeof text, "%llu", (unsigned long long) count);
        s_reply (self, routing, delimiter, "OK", text);
        return;
    case WIRE_STATS: {
        char *json = s_stats_json (self);
        s_reply (self, routing, delimiter, json ? "OK" : "ERROR", json ? json : "out of memory");
        free (json);
        return;
    }
    case WIRE_WAIT:
        count = subtable_count (self->subscriptions, request->topic, request->topic_size);
        if (count >= request->min && count <= request->max) {
            snprintf (text, sizeof text, "%llu", (unsigned long long) count);
            s_reply (self, routing, delimiter, "OK", text);
            return;
        }
        break;
    case WIRE_PROBE:
        break;
    }
    if (self->waiter_count == HERALD_MAX_WAITERS) {
        self->bad_requests++;
        s_reply (self, routing, delimiter, "ERROR", "too many waiting requests; try again");
        return;
    }
    waiter_t *waiter = &self->waiters[self->waiter_count++];
    *waiter = (waiter_t){.routing = zframe_dup (routing),
                         .delimiter = delimiter,
                         .verb = request->verb,
                         .min = request->min,
                         .max = request->max,
                         .deadline = zclock_mono () + (int64_t) request->timeout_ms};
    const uint8_t *key = request->verb == WIRE_WAIT ? request->topic : request->nonce;
    waiter->key_size = request->verb == WIRE_WAIT ? request->topic_size : request->nonce_size;
    memcpy (waiter->key, key, waiter->key_size);
}

//  Control requests arrive as [identity][empty, from REQ clients][frames].
static void
s_handle_control (hub_t *self)
{
    for (int count = 0; count < HERALD_FORWARD_BATCH && (zsock_events (self->control) & ZMQ_POLLIN);
         count++) {
        zmsg_t *message = zmsg_recv (self->control);
        if (!message)
            break;
        self->requests++;
        zframe_t *routing = zmsg_pop (message);
        zframe_t *first = zmsg_first (message);
        bool delimiter = first && zframe_size (first) == 0;
        if (delimiter)
            zframe_destroy (&(zframe_t *){zmsg_pop (message)});

        enum { MAX_FRAMES = 8 };
        const uint8_t *data[MAX_FRAMES];
        size_t sizes[MAX_FRAMES], frames = 0;
        bool too_many = zmsg_size (message) > MAX_FRAMES;
        for (zframe_t *frame = zmsg_first (message); frame && !too_many;
             frame = zmsg_next (message), frames++) {
            data[frames] = zframe_data (frame);
            sizes[frames] = zframe_size (frame);
        }
        wire_request_t request;
        char error[128] = "too many frames";
        if (too_many || wire_request_parse (frames, data, sizes, &request, error, sizeof error)) {
            self->bad_requests++;
            s_reply (self, routing, delimiter, "ERROR", error);
        } else
            s_answer (self, routing, delimiter, &request);
        zframe_destroy (&routing);
        zmsg_destroy (&message);
    }
}

//  Watch a socket's connections come and go, through a PAIR socket that
//  libzmq's monitor feeds. Returns the PAIR, or NULL (logged).
static zsock_t *
s_monitor_new (void *handle, const char *what)
{
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "inproc://herald-monitor-%s", what);
    if (zmq_socket_monitor (handle, endpoint,
                            ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED
                                | ZMQ_EVENT_DISCONNECTED)) {
        log_error ("cannot monitor the %s: %s", what, zmq_strerror (zmq_errno ()));
        return NULL;
    }
    return sock_new (ZMQ_PAIR, endpoint, false, &(sock_options_t){0}, "monitor");
}

//  A failed accept: out of file descriptors, mostly. libzmq retries at
//  once, so failures come by the thousand: log the first of a run, and at
//  most one run a minute. The connections the hub has are unaffected.
static void
s_accept_failed (hub_t *self, const char *what, int error, uint64_t connections)
{
    self->accept_failures++;
    int64_t now = zclock_mono ();
    if (!self->accept_failing
        && (!self->accept_logged || now - self->accept_logged >= HERALD_ACCEPT_LOG_MS)) {
        log_error ("cannot accept connections on the %s: %s; serving the %llu it has, "
                   "refusing new ones%s",
                   what, zmq_strerror (error), (unsigned long long) connections,
                   error == EMFILE || error == ENFILE ? " (raise ulimit -n)" : "");
        self->accept_logged = now;
    }
    self->accept_failing = true;
}

//  Read the monitor's events into a connection count. An event is two
//  frames: 6 bytes (event number, 16 bits, then a 32-bit value), then the
//  address.
static void
s_monitor_read (hub_t *self, zsock_t *monitor, uint64_t *connections, const char *what)
{
    for (int count = 0; count < HERALD_FORWARD_BATCH && (zsock_events (monitor) & ZMQ_POLLIN);
         count++) {
        zmsg_t *event = zmsg_recv (monitor);
        zframe_t *head = event ? zmsg_first (event) : NULL;
        if (head && zframe_size (head) == 6) {
            uint16_t number;
            uint32_t value;
            memcpy (&number, zframe_data (head), sizeof number);
            memcpy (&value, zframe_data (head) + sizeof number, sizeof value);
            if (number == ZMQ_EVENT_ACCEPTED) {
                (*connections)++;
                self->accept_failing = false;
            } else if (number == ZMQ_EVENT_DISCONNECTED && *connections)
                (*connections)--;
            else if (number == ZMQ_EVENT_ACCEPT_FAILED)
                s_accept_failed (self, what, (int) value, *connections);
        }
        zmsg_destroy (&event);
    }
}

//  Every connection costs a file descriptor: take all the system allows
//  this process (the soft limit up to the hard one). Returns the limit.
static uint64_t
s_raise_fd_limit (void)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit))
        return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        rlim_t wanted = limit.rlim_max;
        limit.rlim_cur = wanted;
        if (setrlimit (RLIMIT_NOFILE, &limit))
            getrlimit (RLIMIT_NOFILE, &limit);
    }
    return (uint64_t) limit.rlim_cur;
}

//  Make the three sockets. The frontend subscribes to everything: see the
//  top of this file for why.
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
            return -1;
        }
        zstr_sendx (self->auth, "CURVE", *cfg->curve_allow ? cfg->curve_allow : CURVE_ALLOW_ANY,
                    NULL);
        zsock_wait (self->auth);
    }
    //  Publishers and subscribers share the frame limit; only subscribers
    //  are pinged (see HERALD_HEARTBEAT_DEFAULT_MS for why).
    sock_options_t options = {
        .curve = &self->curve, .hwm = cfg->hwm, .max_frame = (int64_t) cfg->max_message_size};
    self->frontend = sock_new (ZMQ_XSUB, cfg->frontend, true, &options, "frontend");
    if (!self->frontend)
        return -1;
    options.heartbeat_ms = (int) cfg->heartbeat_ms;
    options.heartbeat_watch = true;
    self->backend = sock_new (ZMQ_XPUB, cfg->backend, true, &options, "backend");
    if (!self->backend)
        return -1;
    self->control = sock_new (ZMQ_ROUTER, cfg->control, true,
                              &(sock_options_t){.curve = &self->curve,
                                                .hwm = HERALD_CONTROL_HWM,
                                                .max_frame = HERALD_CONTROL_MAX_MSG},
                              "control");
    if (!self->control)
        return -1;
    zsock_set_xpub_verboser (self->backend, 1);
    if (!cfg->drop_slow) {
        zsock_set_xpub_nodrop (self->backend, 1);
        self->send_flags = ZMQ_DONTWAIT;
    }
    self->front = zsock_resolve (self->frontend);
    self->back = zsock_resolve (self->backend);
    self->front_monitor = s_monitor_new (self->front, "frontend");
    self->back_monitor = s_monitor_new (self->back, "backend");
    if (!self->front_monitor || !self->back_monitor)
        return -1;
    uint8_t everything = 1;
    if (zmq_send (self->front, &everything, 1, 0) == -1) {
        log_error ("cannot subscribe the frontend: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

static void
s_close (hub_t *self)
{
    if (self->backend)  //  give queued events a moment to reach subscribers
        zsock_set_linger (self->backend, HERALD_HUB_LINGER_MS);
    zsock_destroy (&self->front_monitor);
    zsock_destroy (&self->back_monitor);
    zsock_destroy (&self->frontend);
    zsock_destroy (&self->backend);
    zsock_destroy (&self->control);
    zactor_destroy (&self->auth);
    sock_curve_destroy (&self->curve);
    while (self->waiter_count)
        s_waiter_remove (self, 0);
    subtable_destroy (&self->subscriptions);
    topics_destroy (&self->topics);
    zmq_msg_close (&self->pending);
}

//  With --exit-on-terminate: true once TERMINATE has passed and both its
//  subscribers and its publishers have gone (publishers stay connected
//  until they have proven their last event arrived), or the drain timeout
//  has expired.
static bool
s_drained (hub_t *self)
{
    if (!self->cfg->exit_on_terminate || !self->terminated)
        return false;
    uint64_t subscriptions = subtable_total (self->subscriptions);
    bool expired = zclock_mono () >= self->terminated + (int64_t) self->cfg->drain_timeout_ms;
    if (!expired && (subscriptions || self->publishers))
        return false;
    log_info ("TERMINATE has passed; %llu subscriptions and %llu publishers remain: exiting",
              (unsigned long long) subscriptions, (unsigned long long) self->publishers);
    return true;
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
    uint64_t fd_limit = s_raise_fd_limit ();
    self->subscriptions = subtable_new ();
    self->topics = topics_new (HERALD_MAX_TOPICS);
    zmq_msg_init (&self->pending);
    if (sock_curve_load (cfg, true, &self->curve)) {
        s_close (self);
        free (self);
        return HERALD_EXIT_CONFIG;
    }
    int rc = self->subscriptions && self->topics ? s_open (self) : -1;
    if (rc == 0) {
        char curve[CONFIG_TEXT_MAX + 64] = "CURVE off: traffic is plaintext, anyone may connect";
        if (self->curve.cert)
            snprintf (curve, sizeof curve, "CURVE on, public key %s, clients let in: %s",
                      zcert_public_txt (self->curve.cert),
                      *cfg->curve_allow ? cfg->curve_allow : "any CURVE key");
        log_info ("forwarding %s -> %s, control %s; %s; up to %llu file descriptors", cfg->frontend,
                  cfg->backend, cfg->control, curve, (unsigned long long) fd_limit);
        zmq_pollitem_t items[] = {{self->front, 0, ZMQ_POLLIN, 0},
                                  {self->back, 0, ZMQ_POLLIN, 0},
                                  {zsock_resolve (self->control), 0, ZMQ_POLLIN, 0},
                                  {zsock_resolve (self->front_monitor), 0, ZMQ_POLLIN, 0},
                                  {zsock_resolve (self->back_monitor), 0, ZMQ_POLLIN, 0},
                                  herald_signal_item ()};
        while (!herald_signal && !s_drained (self)) {
            long timeout = s_expire (self, zclock_mono ());
            //  Blocked by a slow subscriber: leave the frontend unread (so
            //  publishers feel the pressure) and retry now and then.
            items[0].events = self->blocked ? 0 : ZMQ_POLLIN;
            if (self->blocked && (timeout == -1 || timeout > HERALD_SLOW_RETRY_MS))
                timeout = HERALD_SLOW_RETRY_MS;
            if (zmq_poll (items, 6, timeout) == -1) {
                if (zmq_errno () == EINTR)
                    continue;
                log_error ("poll failed: %s", zmq_strerror (zmq_errno ()));
                rc = -1;
                break;
            }
            if (self->blocked)
                s_retry_pending (self);
            if (items[0].revents & ZMQ_POLLIN)
                s_forward_events (self);
            if (items[1].revents & ZMQ_POLLIN)
                s_forward_subscriptions (self);
            if (items[2].revents & ZMQ_POLLIN)
                s_handle_control (self);
            if (items[3].revents & ZMQ_POLLIN)
                s_monitor_read (self, self->front_monitor, &self->publishers, "frontend");
            if (items[4].revents & ZMQ_POLLIN)
                s_monitor_read (self, self->back_monitor, &self->subscribers, "backend");
        }
        if (herald_signal)
            log_info ("stopping on signal %d", (int) herald_signal);
        log_info ("forwarded %llu events", (unsigned long long) self->events_out);
    }
    s_close (self);
    free (self);
    return rc == 0 ? HERALD_EXIT_OK : HERALD_EXIT_UNAVAILABLE;
}
