/*  hub.c - role: the hub.

    Publishers' PUB sockets connect to the frontend (XSUB); subscribers' SUB
    sockets connect to the backend (XPUB). Events flow frontend -> backend;
    subscriptions come from the backend and are counted there. The control
    endpoint (control.c) answers questions about them. The ZAP handler
    (zap.c) lets each connection in and names it; the monitors (monitor.c)
    report connections coming and going; peers.c puts the two together, so
    that a subscription counts for the connection that sent it, and only
    while it is open. Why this makes "a counted subscriber never misses a
    later event" hold: docs/guarantees.md.

    In a federation (federation.c, docs/federation.md), a hub below the
    root sends what its publishers publish up to the root, and delivers
    what comes down from above; every hub delivers to its subscribers and
    to the hubs below it, and counts from the whole federation's table. */

#include "control.h"
#include "federation.h"
#include "frames.h"
#include "herald.h"
#include "log.h"
#include "monitor.h"
#include "peers.h"
#include "pubids.h"
#include "roles.h"
#include "signals.h"
#include "sock.h"
#include "subtable.h"
#include "topics.h"
#include "wire.h"
#include "zap.h"

#include <czmq.h>

typedef struct {
    const config_t *cfg;
    zsock_t *frontend;   //  XSUB, publishers connect
    zsock_t *backend;    //  XPUB, subscribers connect
    void *front, *back;  //  their libzmq handles, for the data path
    control_t *control;
    monitor_t *front_monitor, *back_monitor;
    sock_curve_t curve;                 //  CURVE keys, when on
    zap_t *zap;                         //  who is let in, and a token for each connection
    peers_t *front_peers, *back_peers;  //  each side's connections: which are open
    pubids_t *pubids;                   //  which publisher owns each publisher id
    subtable_t *subscriptions;          //  this hub's own subscribers
    federation_t *federation;           //  the hubs above and below, and every subscriber's count
    topics_t *topics;                   //  traffic per topic
    frames_t frames;                    //  the publication being read
    //  --no-drop-slow: the publication a full subscriber queue refused,
    //  held (and what brings them left unread) until the queue has room
    frames_t pending;
    topic_counters_t *pending_counters;
    bool pending_plain;      //  a plain publication: its counters are plain_*
    bool pending_terminate;  //  TERMINATE: it passes when it is sent
    bool blocked;
    int send_flags;  //  ZMQ_DONTWAIT with --no-drop-slow, else 0
    int64_t started;
    int64_t terminated;  //  when TERMINATE passed, 0 before
    //  Counters, reported by STATS
    uint64_t events_in;            //  events read from publishers
    uint64_t events_out;           //  events the backend took
    uint64_t plain_in, plain_out;  //  the same, for plain publications
    uint64_t send_failures;        //  events the backend refused (not for a full queue)
    uint64_t terminates;           //  of which TERMINATE
    uint64_t probes;               //  probes consumed, publishers' and subscribers'
    uint64_t invalid_events;       //  on reserved topics but not probes: dropped
    uint64_t terminates_refused;   //  TERMINATE from a key without the permission
    uint64_t impostors;            //  events under another open connection's publisher id
    uint64_t refused_publishers[HERALD_REFUSED_REMEMBERED];  //  the last ones' serials
    uint64_t probe_barrier;  //  publishers up to this serial may have lost events up: ERROR
    //  Subscription messages, by what they did (docs/operations.md)
    uint64_t subscribes;        //  added a prefix to its connection's set
    uint64_t unsubscribes;      //  removed one
    uint64_t unchanged;         //  held already, or not held
    uint64_t from_closed;       //  its connection had closed
    uint64_t refused;           //  over a limit: its connection was dropped
    uint64_t malformed;         //  not a subscription
    uint64_t subscribers_left;  //  connections that ended holding subscriptions
} hub_t;

//  True if the publisher with this token had a TERMINATE refused.
static bool
s_was_refused (hub_t *self, const zap_token_t *token)
{
    for (size_t index = 0; index < HERALD_REFUSED_REMEMBERED; index++)
        if (self->refused_publishers[index] == token->serial)
            return true;
    return false;
}

//  A probe of a publisher of this hub reached it: answer it here if this
//  hub is the root (and tell the hubs below), else send it up to the root,
//  whose echo answers it (docs/federation.md). A publisher whose TERMINATE
//  was refused is told so here, not that its path is proven.
static void
s_probe (hub_t *self, zmq_msg_t *message, const void *nonce, size_t size, const char *refusal)
{
    self->probes++;
    zap_token_t token;
    if (!refusal && self->probe_barrier && zap_token_of (message, &token) == 0
        && token.serial <= self->probe_barrier)
        refusal = "this hub lost its link to the root hub: what was published before may not "
                  "have reached every subscriber";
    if (refusal)
        control_probe_seen (self->control, nonce, size, refusal);
    else if (federation_goes_up (self->federation))
        federation_probe_up (self->federation, nonce, size);
    else {
        control_probe_seen (self->control, nonce, size, NULL);
        federation_probe_down (self->federation, nonce, size);
    }
}

//  A publisher's probe is an event on $herald/probe whose payload is the
//  nonce. Other reserved topics mean nothing to this hub.
static void
s_take_reserved (hub_t *self, zmq_msg_t *message)
{
    wire_event_t event;
    zap_token_t token;
    if (wire_event_decode (zmq_msg_data (message), zmq_msg_size (message), &event) == 0
        && event.topic_size == strlen (HERALD_PROBE_TOPIC)
        && memcmp (event.topic, HERALD_PROBE_TOPIC, event.topic_size) == 0) {
        bool refused = zap_token_of (message, &token) == 0 && s_was_refused (self, &token);
        s_probe (self, message, event.payload, event.payload_size,
                 refused ? "this publisher may not publish " HERALD_TERMINATE
                           " (--curve-allow-terminate): it was dropped"
                         : NULL);
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
            log_info ("TERMINATE passed; exiting once subscribers, publishers and hubs below "
                      "have left (at most %llu ms)",
                      (unsigned long long) drain);
        else if (self->cfg->exit_on_terminate)
            log_info ("TERMINATE passed; exiting once subscribers, publishers and hubs below "
                      "have left");
    }
}

//  The slow path of the publisher id check (pubids.h): false if the event
//  must be dropped.
static bool
s_claim_publisher (hub_t *self, zmq_msg_t *message, int fd, uint64_t publisher)
{
    zap_token_t token;
    if (zap_token_of (message, &token))
        return true;
    bool mine =
        pubids_claim (self->pubids, self->front_peers, token.serial, token.position, fd, publisher);
    if (!mine)
        log_debug ("dropped an event under publisher id %016llx, which another open connection "
                   "owns",
                   (unsigned long long) publisher);
    return mine;
}

//  Send one frame to the backend, and a copy of it to the hubs below (if
//  any). flags: the backend's. Returns zmq_msg_send's result.
static int
s_send_frame (hub_t *self, zmq_msg_t *frame, void *below, bool more, int flags)
{
    zmq_msg_t copy;
    if (below) {
        zmq_msg_init (&copy);
        zmq_msg_copy (&copy, frame);
    }
    int rc = zmq_msg_send (frame, self->back, flags | (more ? ZMQ_SNDMORE : 0));
    if (below) {
        //  Only what the backend took: a held publication goes below
        //  when it goes here.
        if (rc == -1 || zmq_msg_send (&copy, below, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) == -1)
            zmq_msg_close (&copy);
    }
    return rc;
}

//  Deliver the publication in self->frames here and to the hubs below:
//  XPUB queues it for each matching subscriber. With --no-drop-slow, a
//  full subscriber queue refuses its first frame: then it waits in
//  self->pending, and its sources are left unread. A later frame never
//  meets a full queue.
static void
s_deliver (hub_t *self, topic_counters_t *counters, bool plain, bool terminate)
{
    frames_t *frames = &self->frames;
    void *below = federation_down_handle (self->federation);
    size_t last = frames->count - 1;
    if (s_send_frame (self, &frames->items[0], below, last > 0, self->send_flags) == -1) {
        if (zmq_errno () == EAGAIN) {
            frames_move (frames, &self->pending);
            self->pending_counters = counters;
            self->pending_plain = plain;
            self->pending_terminate = terminate;
            self->blocked = true;
            return;
        }
        self->send_failures++;
        log_error ("backend send failed: %s", zmq_strerror (zmq_errno ()));
        frames_clear (frames);
        return;
    }
    for (size_t index = 1; index <= last; index++)
        if (s_send_frame (self, &frames->items[index], below, index < last, 0) == -1) {
            self->send_failures++;
            log_error ("backend send failed mid-message: %s", zmq_strerror (zmq_errno ()));
        }
    frames_clear (frames);
    if (plain) {
        counters->plain_out++;
        self->plain_out++;
    } else {
        counters->out++;
        self->events_out++;
    }
    if (terminate)
        s_take_terminate (self);
}

//  --no-drop-slow: try the held publication again.
static void
s_retry_pending (hub_t *self)
{
    self->blocked = false;
    frames_move (&self->pending, &self->frames);
    s_deliver (self, self->pending_counters, self->pending_plain, self->pending_terminate);
}

//  A publication read here, checked: up to the root, or delivered here
//  and below if this hub is the root.
static void
s_publish (hub_t *self, topic_counters_t *counters, bool plain, bool terminate)
{
    if (federation_goes_up (self->federation)) {
        federation_send_up (self->federation, &self->frames);
        frames_clear (&self->frames);
    } else
        s_deliver (self, counters, plain, terminate);
}

//  A publication from the federation (from the hub above, or, at the
//  root, from a hub below), in frames: delivered here and below, and
//  counted by its topic, as it was where it was published.
static bool
s_deliver_federated (void *argument, frames_t *frames)
{
    hub_t *self = argument;
    frames_move (frames, &self->frames);
    const uint8_t *data = zmq_msg_data (&self->frames.items[0]);
    size_t size = zmq_msg_size (&self->frames.items[0]);
    size_t topic_size;
    bool plain = wire_publication_topic (data, size, self->frames.count > 1, &topic_size);
    if (wire_topic_is_reserved (data, topic_size)) {
        //  Never published by a hub's clients: not from a hub either.
        self->invalid_events++;
        frames_clear (&self->frames);
        return true;
    }
    bool terminate = wire_topic_is_terminate (data, plain ? size : topic_size);
    topic_counters_t *counters = topics_lookup (self->topics, data, topic_size);
    s_deliver (self, counters, plain, terminate);
    return !self->blocked;
}

//  May the publisher of this message send TERMINATE? If not, it is
//  remembered, so that its next probe is told (s_take_reserved).
static bool
s_may_terminate (hub_t *self, zmq_msg_t *message)
{
    zap_token_t token = {0};
    if (zap_token_of (message, &token) == 0 && token.may_terminate)
        return true;
    self->refused_publishers[self->terminates_refused++ % HERALD_REFUSED_REMEMBERED] = token.serial;
    log_debug ("dropped a TERMINATE from a publisher not allowed to send it");
    return false;
}

//  A plain publication, in self->frames (its first frame, the rest still
//  in the frontend), whose topic is topic_size bytes: one frame that is not
//  a herald event, or a multipart message, whose first frame is its topic.
//  Forwarded verbatim and whole; reserved topics stop here, a multipart
//  probe ([$herald/probe][nonce]) included.
static void
s_forward_plain (hub_t *self, size_t topic_size)
{
    frames_t *frames = &self->frames;
    if (frames_recv_rest (frames, self->front)) {
        frames_clear (frames);
        return;
    }
    zmq_msg_t *first = &frames->items[0];
    const uint8_t *data = zmq_msg_data (first);
    size_t size = zmq_msg_size (first);
    bool multipart = frames->count > 1;
    if (wire_topic_is_reserved (data, topic_size)) {
        bool probe = multipart && topic_size == strlen (HERALD_PROBE_TOPIC)
                     && memcmp (data, HERALD_PROBE_TOPIC, topic_size) == 0;
        if (probe)
            s_probe (self, first, zmq_msg_data (&frames->items[1]),
                     zmq_msg_size (&frames->items[1]), NULL);
        else
            self->invalid_events++;
        frames_clear (frames);
        return;
    }
    //  TERMINATE: the whole frame, or the first of several.
    bool terminate = wire_topic_is_terminate (data, size);
    if (terminate && !s_may_terminate (self, first)) {
        frames_clear (frames);
        return;
    }
    self->plain_in++;
    topic_counters_t *counters = topics_lookup (self->topics, data, topic_size);
    counters->plain_in++;
    s_publish (self, counters, true, terminate);
}

//  The data path: move every publication that is ready from the frontend
//  on, without copying. herald's events are one frame (wire.h): the topic
//  is split once, the publisher id checked, the counters found once. Any
//  other layout is a plain publication, forwarded as it came.
static void
s_forward_events (hub_t *self)
{
    frames_t *frames = &self->frames;
    for (int count = 0; count < HERALD_FORWARD_BATCH && !self->blocked; count++) {
        frames_clear (frames);
        zmq_msg_t *message = frames_add (frames);
        if (!message || zmq_msg_recv (message, self->front, ZMQ_DONTWAIT) == -1)
            break;  //  EAGAIN: nothing more is ready
        const uint8_t *data = zmq_msg_data (message);
        size_t size = zmq_msg_size (message);
        size_t topic_size;
        if (wire_publication_topic (data, size, zmq_msg_more (message), &topic_size)) {
            s_forward_plain (self, topic_size);
            continue;
        }
        if (wire_topic_is_reserved (data, topic_size)) {
            s_take_reserved (self, message);
            continue;
        }
        uint64_t publisher = wire_event_publisher (data, topic_size);
        int fd = zmq_msg_get (message, ZMQ_SRCFD);
        if (!pubids_known (self->pubids, fd, publisher)
            && !s_claim_publisher (self, message, fd, publisher)) {
            self->impostors++;
            continue;
        }
        bool terminate = wire_topic_is_terminate (data, topic_size);
        if (terminate && !s_may_terminate (self, message))
            continue;
        self->events_in++;
        topic_counters_t *counters = topics_lookup (self->topics, data, topic_size);
        counters->in++;
        s_publish (self, counters, false, terminate);
    }
    frames_clear (frames);
}

//  The frontend's connections coming and going: a publisher that ends
//  frees its id. Reads every event that is ready.
static void
s_watch_frontend (hub_t *self)
{
    monitor_event_t event;
    while (monitor_next (self->front_monitor, &event)) {
        peers_follow (self->front_peers, &event, "frontend");
        if (event.number == ZMQ_EVENT_DISCONNECTED)
            pubids_closed (self->pubids, event.value);
    }
}

//  Asked by the ZAP handler just before it lets a publisher in (peers.h).
static uint64_t
s_frontend_position (void *argument)
{
    hub_t *self = argument;
    s_watch_frontend (self);
    return peers_position (self->front_peers);
}

//  The backend's connections coming and going: a connection that ends
//  takes its subscriptions with it. Reads every event that is ready.
static void
s_watch_backend (hub_t *self)
{
    monitor_event_t event;
    bool changed = false;
    while (monitor_next (self->back_monitor, &event)) {
        uint64_t connection = peers_follow (self->back_peers, &event, "backend");
        if (connection && subtable_drop (self->subscriptions, connection)) {
            self->subscribers_left++;
            federation_local_gone (self->federation, connection);
            changed = true;
        }
    }
    if (changed)
        control_counts_changed (self->control);
}

//  Asked by the ZAP handler just before it lets a subscriber in (peers.h).
static uint64_t
s_backend_position (void *argument)
{
    hub_t *self = argument;
    s_watch_backend (self);
    return peers_position (self->back_peers);
}

//  A reserved subscription: a subscriber's probe ($herald/probe/NONCE) is
//  seen, never counted.
static void
s_take_reserved_subscription (hub_t *self, const uint8_t *data, size_t size)
{
    size_t prefix = strlen (HERALD_PROBE_TOPIC) + 1;
    if (data[0] == 1 && size - 1 > prefix
        && memcmp (data + 1, HERALD_PROBE_TOPIC "/", prefix) == 0) {
        self->probes++;
        control_probe_seen (self->control, data + 1 + prefix, size - 1 - prefix, NULL);
    }
}

//  One subscription message, for the connection that sent it. Returns
//  true if counts changed.
static bool
s_take_subscription (hub_t *self, zmq_msg_t *message)
{
    const uint8_t *data = zmq_msg_data (message);
    size_t size = zmq_msg_size (message);
    zap_token_t token;
    if (zap_token_of (message, &token))
        return false;  //  XPUB's own, for a connection that closed: gone with it
    int fd = zmq_msg_get (message, ZMQ_SRCFD);
    uint64_t connection = peers_identify (self->back_peers, token.serial, token.position, fd);
    if (!connection) {
        self->from_closed++;
        return false;
    }
    if (size >= 1 && data[0] <= 1 && wire_topic_is_reserved (data + 1, size - 1)) {
        s_take_reserved_subscription (self, data, size);
        return false;
    }
    switch (subtable_apply (self->subscriptions, connection, data, size)) {
    case SUBTABLE_CHANGED:
        federation_local_apply (self->federation, connection, data, size);
        if (data[0] == 1)
            self->subscribes++;
        else
            self->unsubscribes++;
        log_debug ("%s '%.*s' by connection %llu: %llu subscriptions in all",
                   data[0] ? "subscribe" : "unsubscribe", (int) size - 1, (const char *) data + 1,
                   (unsigned long long) connection,
                   (unsigned long long) subtable_total (self->subscriptions));
        return true;
    case SUBTABLE_UNCHANGED:
        self->unchanged++;
        return false;
    case SUBTABLE_MALFORMED:
        self->malformed++;
        log_debug ("ignored a malformed subscription message (%zu bytes)", size);
        return false;
    case SUBTABLE_REFUSED:
    case SUBTABLE_NOMEM:
        //  A subscription the hub cannot count must not be served either.
        self->refused++;
        if (size - 1 > self->cfg->max_topic_size)
            log_info ("disconnected a subscriber: a subscription over %llu bytes "
                      "(--max-topic-size)",
                      (unsigned long long) self->cfg->max_topic_size);
        else
            log_info ("disconnected a subscriber: over %llu subscriptions (--max-subscriptions)",
                      (unsigned long long) self->cfg->max_subscriptions);
        peers_disconnect (self->back_peers, connection, fd);
        return false;
    }
    return false;
}

//  Subscriptions flow the other way, from subscribers' SUB sockets: count
//  each for its connection. Publishers never see them: the frontend
//  subscribes to everything (docs/guarantees.md).
static void
s_take_subscriptions (hub_t *self)
{
    zmq_msg_t message;
    zmq_msg_init (&message);
    bool changed = false;
    for (int count = 0; count < HERALD_FORWARD_BATCH; count++) {
        if (zmq_msg_recv (&message, self->back, ZMQ_DONTWAIT) == -1)
            break;
        if (zmq_msg_more (&message)) {
            //  Not a subscription: a message a peer sent upstream.
            while (zmq_msg_more (&message) && zmq_msg_recv (&message, self->back, 0) != -1)
                ;
            self->malformed++;
            continue;
        }
        if (s_take_subscription (self, &message))
            changed = true;
    }
    zmq_msg_close (&message);
    if (changed)
        control_counts_changed (self->control);
}

//  The root saw a probe of a publisher of this hub (s_probe).
static void
s_probe_seen (void *argument, const void *nonce, size_t size, bool whole)
{
    hub_t *self = argument;
    control_probe_seen (self->control, nonce, size,
                        whole ? NULL
                              : "a publication before this probe was lost on the way to the "
                                "root hub (a full queue between hubs)");
}

//  The federation's counts changed, or come from another table now.
static void
s_counts_changed (void *argument)
{
    hub_t *self = argument;
    if (!self->control)
        return;
    control_set_subscriptions (self->control, federation_table (self->federation));
    control_counts_changed (self->control);
}

//  Publications sent up were lost with the link: the publishers connected
//  now are told so at their next probe (s_probe).
static void
s_unproven (void *argument)
{
    hub_t *self = argument;
    self->probe_barrier = zap_last_serial (self->zap);
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
    subtable_t *everyone = federation_table (self->federation);
    size_t unlisted = subtable_json (everyone, out, HERALD_STATS_LIST_BYTES);
    fprintf (out,
             ",\"subscriptions_unlisted\":%zu,\"subscriptions_total\":%llu,"
             "\"subscribers\":%llu,\"own\":{\"subscribers\":%llu,\"subscriptions\":%llu},"
             "\"subscribers_left\":%llu,"
             "\"connections\":{\"publishers\":%llu,\"subscribers\":%llu},"
             "\"messages\":{\"in\":%llu,\"out\":%llu,\"plain_in\":%llu,\"plain_out\":%llu,"
             "\"send_failures\":%llu,\"terminate\":%llu,"
             "\"terminate_refused\":%llu,\"impostors\":%llu,\"probes\":%llu,\"invalid\":%llu,"
             "\"waiting_for_slow\":%d},"
             "\"subscription_messages\":{\"subscribe\":%llu,\"unsubscribe\":%llu,"
             "\"unchanged\":%llu,\"from_closed\":%llu,\"refused\":%llu,\"malformed\":%llu},"
             "\"handshakes_refused\":{\"frontend\":%llu,\"backend\":%llu,\"control\":%llu,"
             "\"federation\":%llu},"
             "\"accept_failures\":%llu,\"topics\":",
             unlisted, (unsigned long long) subtable_total (everyone),
             (unsigned long long) subtable_connections (everyone),
             (unsigned long long) subtable_connections (self->subscriptions),
             (unsigned long long) subtable_total (self->subscriptions),
             (unsigned long long) self->subscribers_left, (unsigned long long) front->connections,
             (unsigned long long) back->connections, (unsigned long long) self->events_in,
             (unsigned long long) self->events_out, (unsigned long long) self->plain_in,
             (unsigned long long) self->plain_out, (unsigned long long) self->send_failures,
             (unsigned long long) self->terminates, (unsigned long long) self->terminates_refused,
             (unsigned long long) self->impostors, (unsigned long long) self->probes,
             (unsigned long long) self->invalid_events, self->blocked ? 1 : 0,
             (unsigned long long) self->subscribes, (unsigned long long) self->unsubscribes,
             (unsigned long long) self->unchanged, (unsigned long long) self->from_closed,
             (unsigned long long) self->refused, (unsigned long long) self->malformed,
             (unsigned long long) zap_refused (self->zap, ZAP_FRONTEND),
             (unsigned long long) zap_refused (self->zap, ZAP_BACKEND),
             (unsigned long long) zap_refused (self->zap, ZAP_CONTROL),
             (unsigned long long) zap_refused (self->zap, ZAP_FEDERATION),
             (unsigned long long) (front->accept_failures + back->accept_failures));
    unlisted = topics_json (self->topics, out, 2 * HERALD_STATS_LIST_BYTES);
    fprintf (out, ",\"topics_unlisted\":%zu,\"federation\":", unlisted);
    federation_json (self->federation, out);
}

//  Make a port's socket, its monitor, then bind: the monitor must see
//  every connection (peers.h). Returns 0, or the exit code.
static int
s_open_port (hub_t *self, int type, zap_port_t port, const sock_options_t *options, zsock_t **sock,
             monitor_t **monitor)
{
    const char *names[] = {"frontend", "backend"};
    const char *endpoints[] = {self->cfg->frontend, self->cfg->backend};
    *sock = sock_open (type, options, names[port]);
    if (!*sock)
        return HERALD_EXIT_SOFTWARE;
    if (type == ZMQ_XPUB) {
        zsock_set_xpub_verboser (*sock, 1);
        if (!self->cfg->drop_slow)
            zsock_set_xpub_nodrop (*sock, 1);
    }
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_ACCEPT_FAILED | ZMQ_EVENT_DISCONNECTED;
    *monitor = monitor_new (zsock_resolve (*sock), names[port], events);
    if (!*monitor)
        return HERALD_EXIT_SOFTWARE;
    if (sock_attach (*sock, endpoints[port], true, names[port]))
        return HERALD_EXIT_UNAVAILABLE;
    return 0;
}

//  Make the sockets. The frontend subscribes to everything, so that no
//  publisher ever filters (docs/guarantees.md). Returns 0, or the exit
//  code.
static int
s_open (hub_t *self)
{
    const config_t *cfg = self->cfg;
    //  The ZAP handler decides over every handshake, on every port: with
    //  CURVE, by the lists of keys; always, naming each connection.
    self->zap = zap_new (cfg, self->curve.cert ? zcert_public_txt (self->curve.cert) : NULL);
    if (!self->zap)
        return HERALD_EXIT_SOFTWARE;
    zap_set_position (self->zap, ZAP_FRONTEND, s_frontend_position, self);
    zap_set_position (self->zap, ZAP_BACKEND, s_backend_position, self);
    //  Publishers and subscribers share the frame limit; only subscribers
    //  are pinged (docs/operations.md, "Heartbeats").
    sock_options_t options = {.curve = &self->curve,
                              .hwm = sock_hwm (cfg->hwm),
                              .max_frame = (int64_t) cfg->max_message_size,
                              .zap_domain = zap_domain (ZAP_FRONTEND)};
    int rc =
        s_open_port (self, ZMQ_XSUB, ZAP_FRONTEND, &options, &self->frontend, &self->front_monitor);
    if (rc)
        return rc;
    //  The backend receives nothing but subscriptions (and pings): the
    //  topic, after ZMTP 3.1's "\x09SUBSCRIBE" (10 bytes; 3.0 peers send a
    //  single byte, and so may send 9 bytes more).
    options.max_frame = (int64_t) cfg->max_topic_size + HERALD_SUBSCRIBE_OVERHEAD;
    options.heartbeat_ms = (int) cfg->heartbeat_ms;
    options.heartbeat_watch = true;
    options.zap_domain = zap_domain (ZAP_BACKEND);
    rc = s_open_port (self, ZMQ_XPUB, ZAP_BACKEND, &options, &self->backend, &self->back_monitor);
    if (rc)
        return rc;
    federation_events_t events = {s_deliver_federated, s_probe_seen, s_counts_changed, s_unproven};
    self->federation = federation_new (cfg, &self->curve, &events, self);
    if (!self->federation)
        return HERALD_EXIT_UNAVAILABLE;
    zap_set_position (self->zap, ZAP_FEDERATION, federation_position, self->federation);
    self->control = control_new (cfg->control, &self->curve, zap_domain (ZAP_CONTROL),
                                 federation_table (self->federation), s_stats, self);
    if (!self->control)
        return HERALD_EXIT_UNAVAILABLE;
    zap_set_position (self->zap, ZAP_CONTROL, control_position, self->control);
    if (!cfg->drop_slow)
        self->send_flags = ZMQ_DONTWAIT;
    self->front = zsock_resolve (self->frontend);
    self->back = zsock_resolve (self->backend);
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
    federation_destroy (&self->federation);
    zsock_destroy (&self->frontend);
    zsock_destroy (&self->backend);
    zap_destroy (&self->zap);
    peers_destroy (&self->front_peers);
    peers_destroy (&self->back_peers);
    pubids_destroy (&self->pubids);
    sock_curve_destroy (&self->curve);
    subtable_destroy (&self->subscriptions);
    topics_destroy (&self->topics);
    frames_destroy (&self->frames);
    frames_destroy (&self->pending);
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
    uint64_t hubs = federation_links (self->federation);
    bool expired = cfg->drain_timeout_ms
                   && zclock_mono () >= self->terminated + (int64_t) cfg->drain_timeout_ms;
    if (!expired && (subscriptions || publishers || hubs))
        return false;
    log_info ("TERMINATE has passed; %llu subscriptions, %llu publishers and %llu hubs below "
              "remain: exiting",
              (unsigned long long) subscriptions, (unsigned long long) publishers,
              (unsigned long long) hubs);
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
    long lease = federation_timeout (self->federation, now);
    if (lease != -1 && (timeout == -1 || lease < timeout))
        timeout = lease;
    return timeout;
}

//  The loop: forward events and subscriptions, answer control, watch
//  connections, until a signal or the drain after TERMINATE. Returns 0, or
//  the exit code of an internal error.
static int
s_run (hub_t *self)
{
    zmq_pollitem_t items[12] = {{self->front, 0, ZMQ_POLLIN, 0},
                                {self->back, 0, ZMQ_POLLIN, 0},
                                {control_handle (self->control), 0, ZMQ_POLLIN, 0},
                                {monitor_handle (self->front_monitor), 0, ZMQ_POLLIN, 0},
                                {monitor_handle (self->back_monitor), 0, ZMQ_POLLIN, 0},
                                {NULL, herald_signal_fd (), ZMQ_POLLIN, 0},
                                {control_watch_handle (self->control), 0, ZMQ_POLLIN, 0},
                                {zap_handle (self->zap), 0, ZMQ_POLLIN, 0}};
    //  The federation's sockets, after the hub's own: its links, and their
    //  monitors.
    void *handles[4];
    size_t federated = federation_handles (self->federation, handles, 4);
    for (size_t index = 0; index < federated; index++)
        items[8 + index] = (zmq_pollitem_t){handles[index], 0, ZMQ_POLLIN, 0};
    int count = 8 + (int) federated;
    while (!herald_signal && !s_drained (self)) {
        long timeout = s_timeout (self);
        //  Blocked by a slow subscriber: leave the frontend unread, so that
        //  publishers feel the pressure (and the links, which bring more).
        items[0].events = self->blocked ? 0 : ZMQ_POLLIN;
        for (size_t index = 0; index < federated; index++)
            items[8 + index].events = self->blocked ? 0 : ZMQ_POLLIN;
        if (zmq_poll (items, count, timeout) == -1) {
            if (zmq_errno () == EINTR)
                continue;
            log_error ("poll failed: %s", zmq_strerror (zmq_errno ()));
            return HERALD_EXIT_SOFTWARE;
        }
        if (self->blocked)
            s_retry_pending (self);
        if (items[0].revents & ZMQ_POLLIN)
            s_forward_events (self);
        if (items[7].revents & ZMQ_POLLIN)
            zap_read (self->zap);
        //  The backend's monitor before its subscriptions: a subscription
        //  of a connection that has ended is then known for one.
        if (items[4].revents & ZMQ_POLLIN)
            s_watch_backend (self);
        if (items[1].revents & ZMQ_POLLIN)
            s_take_subscriptions (self);
        if ((items[2].revents | items[6].revents) & ZMQ_POLLIN)
            control_read (self->control);
        if (items[3].revents & ZMQ_POLLIN)
            s_watch_frontend (self);
        bool links = false;
        for (size_t index = 0; index < federated; index++)
            links |= (items[8 + index].revents & ZMQ_POLLIN) != 0;
        if (links || self->blocked)
            federation_read (self->federation, self->blocked);
        //  What this turn changed goes up and down, in batches.
        federation_flush (self->federation);
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
    bool local = s_is_local (cfg->frontend) && s_is_local (cfg->backend)
                 && s_is_local (cfg->control) && s_is_local (cfg->federation);
    strcat (curve, local ? "anyone on this machine may connect"
                         : "anyone who can reach these endpoints may connect");
    if (self->curve.cert) {
        const char *lists = *cfg->curve_allow || *cfg->curve_allow_publish
                                    || *cfg->curve_allow_subscribe || *cfg->curve_allow_control
                                    || *cfg->curve_allow_terminate || *cfg->curve_allow_federation
                                ? "the keys in the --curve-allow lists"
                                : "any CURVE key";
        snprintf (curve, sizeof curve, "CURVE on, public key %s, clients let in: %s",
                  zcert_public_txt (self->curve.cert), lists);
    }
    log_info ("forwarding %s -> %s, control %s, federation %s%s%s; %s; up to %llu file "
              "descriptors",
              cfg->frontend, cfg->backend, cfg->control, cfg->federation,
              *cfg->upstream ? ", upstream " : "", cfg->upstream, curve,
              (unsigned long long) fd_limit);
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
    //  One I/O thread: a connection's ACCEPTED is then reported before its
    //  handshake begins (peers.h).
    zsys_set_io_threads (1);
    uint64_t fd_limit = monitor_raise_fd_limit ();
    self->subscriptions = subtable_new (cfg->max_topic_size, cfg->max_subscriptions);
    self->front_peers = peers_new ();
    self->back_peers = peers_new ();
    self->pubids = pubids_new ();
    self->topics = topics_new (HERALD_MAX_TOPICS, cfg->max_topic_size);
    int rc;
    if (!self->subscriptions || !self->topics || !self->front_peers || !self->back_peers
        || !self->pubids) {
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
