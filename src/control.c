/*  control.c - the control protocol's server; see control.h, and
    docs/protocol.md for the protocol.

    Requests arrive on a ROUTER as [identity][empty, from REQ clients]
[frames]; each reply goes back with the same envelope. The ROUTER drops
    replies to a client that does not read them, so no client can stall
    the hub; a client's waiting requests are bounded, and forgotten when
    its connection goes.

    Which connection a request came from: its token and descriptor, put
    together by peers.c as for the hub's other ports (peers.h says how).
    A connection's waiters go when the monitor says it has ended. */

#include "control.h"
#include "herald.h"
#include "log.h"
#include "monitor.h"
#include "peers.h"
#include "wire.h"
#include "zap.h"

#include <assert.h>
#include <czmq.h>

//  A control request whose answer is not known yet: WAIT until a count is
//  in range, or PROBE until a probe arrives.
typedef struct {
    zframe_t *routing;  //  the client's ROUTER identity, owned
    bool delimiter;     //  REQ clients expect an empty frame first
    wire_verb_t verb;
    uint8_t key[WIRE_ARG_MAX];  //  WAIT: the topic; PROBE: the nonce
    size_t key_size;
    uint64_t min, max;
    int64_t deadline;     //  zclock_mono () time
    uint64_t connection;  //  its connection's serial; 0 (inproc): none
} waiter_t;

struct _control_t {
    zsock_t *socket;   //  ROUTER, clients ask
    monitor_t *watch;  //  its connections
    peers_t *peers;    //  which of them are open
    subtable_t *subscriptions;
    control_stats_fn *stats;
    void *argument;
    waiter_t waiters[HERALD_MAX_WAITERS];
    size_t waiter_count;
    uint64_t requests;      //  requests read
    uint64_t bad_requests;  //  answered with ERROR
};

control_t *
control_new (const char *endpoint, const sock_curve_t *curve, const char *zap_domain,
             subtable_t *subscriptions, control_stats_fn *stats, void *argument)
{
    control_t *self = calloc (1, sizeof (control_t));
    if (!self) {
        log_error ("out of memory");
        return NULL;
    }
    //  The monitor starts before the bind, so that it sees every
    //  connection.
    self->socket = sock_open (ZMQ_ROUTER,
                              &(sock_options_t){.curve = curve,
                                                .hwm = HERALD_CONTROL_HWM,
                                                .max_frame = HERALD_CONTROL_MAX_MSG,
                                                .zap_domain = zap_domain},
                              "control");
    if (self->socket)
        self->watch = monitor_new (zsock_resolve (self->socket), "control",
                                   ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED);
    if (self->watch && sock_attach (self->socket, endpoint, true, "control"))
        monitor_destroy (&self->watch);
    self->peers = peers_new ();
    if (!self->watch || !self->peers) {
        peers_destroy (&self->peers);
        monitor_destroy (&self->watch);
        zsock_destroy (&self->socket);
        free (self);
        return NULL;
    }
    self->subscriptions = subscriptions;
    self->stats = stats;
    self->argument = argument;
    return self;
}

static void
s_waiter_remove (control_t *self, size_t index)
{
    zframe_destroy (&self->waiters[index].routing);
    self->waiters[index] = self->waiters[--self->waiter_count];
}

void
control_set_subscriptions (control_t *self, subtable_t *subscriptions)
{
    self->subscriptions = subscriptions;
}

void
control_destroy (control_t **self_p)
{
    control_t *self = *self_p;
    if (!self)
        return;
    while (self->waiter_count)
        s_waiter_remove (self, 0);
    monitor_destroy (&self->watch);
    zsock_destroy (&self->socket);
    peers_destroy (&self->peers);
    free (self);
    *self_p = NULL;
}

void *
control_handle (control_t *self)
{
    return zsock_resolve (self->socket);
}

void *
control_watch_handle (control_t *self)
{
    return monitor_handle (self->watch);
}

//  Connections that came and went: a client's waiters go with it.
static void
s_watch (control_t *self)
{
    monitor_event_t event;
    while (monitor_next (self->watch, &event)) {
        uint64_t connection = peers_follow (self->peers, &event, "control port");
        for (size_t index = 0; connection && index < self->waiter_count;) {
            if (self->waiters[index].connection == connection)
                s_waiter_remove (self, index);
            else
                index++;
        }
    }
}

uint64_t
control_position (void *argument)
{
    control_t *self = argument;
    s_watch (self);
    return peers_position (self->peers);
}

//  Send a reply: the routing envelope, then status and value.
static void
s_reply (control_t *self, zframe_t *routing, bool delimiter, const char *status, const char *value)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_append (reply, &(zframe_t *){zframe_dup (routing)});
    if (delimiter)
        zmsg_addmem (reply, NULL, 0);
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, value);
    zmsg_send (&reply, self->socket);
    zmsg_destroy (&reply);
}

static void
s_reply_number (control_t *self, zframe_t *routing, bool delimiter, const char *status,
                uint64_t number)
{
    char text[24];
    snprintf (text, sizeof text, "%llu", (unsigned long long) number);
    s_reply (self, routing, delimiter, status, text);
}

static uint64_t
s_count (control_t *self, const waiter_t *waiter)
{
    return waiter->verb == WIRE_WAIT
               ? subtable_count (self->subscriptions, waiter->key, waiter->key_size)
               : 0;
}

void
control_counts_changed (control_t *self)
{
    for (size_t index = 0; index < self->waiter_count;) {
        waiter_t *waiter = &self->waiters[index];
        uint64_t count = s_count (self, waiter);
        if (waiter->verb == WIRE_WAIT && count >= waiter->min && count <= waiter->max) {
            s_reply_number (self, waiter->routing, waiter->delimiter, "OK", count);
            s_waiter_remove (self, index);
        } else
            index++;
    }
}

void
control_probe_seen (control_t *self, const void *nonce, size_t size, const char *refusal)
{
    for (size_t index = 0; index < self->waiter_count; index++) {
        waiter_t *waiter = &self->waiters[index];
        if (waiter->verb == WIRE_PROBE && waiter->key_size == size
            && memcmp (waiter->key, nonce, size) == 0) {
            if (refusal)
                s_reply (self, waiter->routing, waiter->delimiter, "ERROR", refusal);
            else
                s_reply (self, waiter->routing, waiter->delimiter, "OK", "probe seen");
            s_waiter_remove (self, index);
            return;
        }
    }
}

long
control_expire (control_t *self, int64_t now)
{
    int64_t next = -1;
    for (size_t index = 0; index < self->waiter_count;) {
        waiter_t *waiter = &self->waiters[index];
        if (waiter->deadline <= now) {
            s_reply_number (self, waiter->routing, waiter->delimiter, "TIMEOUT",
                            s_count (self, waiter));
            s_waiter_remove (self, index);
            continue;
        }
        if (next == -1 || waiter->deadline < next)
            next = waiter->deadline;
        index++;
    }
    return next == -1 ? -1 : (long) (next - now);
}

//  Our members of STATS: "control":{...}.
static void
s_json (control_t *self, FILE *out)
{
    fprintf (out, "\"control\":{\"requests\":%llu,\"errors\":%llu,\"waiting\":%zu}",
             (unsigned long long) self->requests, (unsigned long long) self->bad_requests,
             self->waiter_count);
}

//  STATS: the owner's members, then ours.
static char *
s_stats_json (control_t *self)
{
    char *json = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&json, &size);
    if (!out)
        return NULL;
    fputc ('{', out);
    self->stats (self->argument, out);
    fputc (',', out);
    s_json (self, out);
    fputc ('}', out);
    fclose (out);
    return json;
}

//  Answer one parsed request now, or keep it as a waiter. connection is
//  the client's connection's serial (0: none known, over inproc).
static void
s_answer (control_t *self, zframe_t *routing, bool delimiter, uint64_t connection,
          const wire_request_t *request)
{
    uint64_t count;
    switch (request->verb) {
    case WIRE_PING:
        s_reply (self, routing, delimiter, "OK", HERALD_VERSION);
        return;
    case WIRE_COUNT:
        count = subtable_count (self->subscriptions, request->topic, request->topic_size);
        s_reply_number (self, routing, delimiter, "OK", count);
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
            s_reply_number (self, routing, delimiter, "OK", count);
            return;
        }
        break;
    case WIRE_PROBE:
        break;
    }
    size_t mine = 0;
    for (size_t index = 0; index < self->waiter_count; index++)
        mine += zframe_eq (self->waiters[index].routing, routing);
    if (mine == HERALD_MAX_WAITERS_PER_CLIENT) {
        self->bad_requests++;
        s_reply (self, routing, delimiter, "ERROR",
                 "too many waiting requests on this connection; try again");
        return;
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
                         .deadline = zclock_mono () + (int64_t) request->timeout_ms,
                         .connection = connection};
    const uint8_t *key = request->verb == WIRE_WAIT ? request->topic : request->nonce;
    waiter->key_size = request->verb == WIRE_WAIT ? request->topic_size : request->nonce_size;
    memcpy (waiter->key, key, waiter->key_size);
}

void
control_read (control_t *self)
{
    s_watch (self);
    void *handle = zsock_resolve (self->socket);
    for (int count = 0; count < HERALD_FORWARD_BATCH; count++) {
        //  The routing frame and the first from the client by hand: the
        //  client's frame says which descriptor it came by (the routing
        //  frame, made by the ROUTER, not always).
        zmq_msg_t head;
        zmq_msg_init (&head);
        if (zmq_msg_recv (&head, handle, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&head);
            break;
        }
        zframe_t *routing = zframe_new (zmq_msg_data (&head), zmq_msg_size (&head));
        bool more = zmq_msg_more (&head);
        zmsg_t *message = zmsg_new ();
        //  The connection it came by; gone: sent just before its client
        //  left, so nobody to answer.
        uint64_t connection = 0;
        bool gone = false;
        if (more && zmq_msg_recv (&head, handle, 0) != -1) {
            zap_token_t token;
            if (zap_token_of (&head, &token) == 0) {
                connection = peers_identify (self->peers, token.serial, token.position,
                                             zmq_msg_get (&head, ZMQ_SRCFD));
                gone = connection == 0;
            }
            zmsg_addmem (message, zmq_msg_data (&head), zmq_msg_size (&head));
            more = zmq_msg_more (&head);
        }
        zmq_msg_close (&head);
        zmsg_t *rest = more ? zmsg_recv (self->socket) : NULL;
        for (zframe_t *frame = rest ? zmsg_pop (rest) : NULL; frame; frame = zmsg_pop (rest))
            zmsg_append (message, &frame);
        zmsg_destroy (&rest);
        self->requests++;
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
        if (!gone
            && (too_many
                || wire_request_parse (frames, data, sizes, &request, error, sizeof error))) {
            self->bad_requests++;
            s_reply (self, routing, delimiter, "ERROR", error);
        } else if (!gone)
            s_answer (self, routing, delimiter, connection, &request);
        zframe_destroy (&routing);
        zmsg_destroy (&message);
    }
}

//  --------------------------------------------------------------------------
//  Self test: the control module over inproc, with no hub running.

static void
s_test_stats (void *argument, FILE *out)
{
    fprintf (out, "\"owner\":%d", *(int *) argument);
}

//  Send a request, let the module read it, return the reply's two frames
//  joined by a space (caller frees), or NULL if there is none yet.
static char *
s_ask (control_t *control, zsock_t *client, const char *request)
{
    if (request) {
        zmsg_t *message = zmsg_new ();
        char *copy = strdup (request);
        for (char *word = strtok (copy, " "); word; word = strtok (NULL, " "))
            zmsg_addstr (message, streq (word, "-") ? "" : word);
        free (copy);
        assert (zmsg_send (&message, client) == 0);
        zmq_pollitem_t item = {control_handle (control), 0, ZMQ_POLLIN, 0};
        assert (zmq_poll (&item, 1, 1000) == 1);
        control_read (control);
    }
    zmq_pollitem_t item = {zsock_resolve (client), 0, ZMQ_POLLIN, 0};
    if (zmq_poll (&item, 1, 100) != 1)
        return NULL;
    char *status = zstr_recv (client), *value = zstr_recv (client);
    char *reply = zsys_sprintf ("%s %s", status, value);
    zstr_free (&status);
    zstr_free (&value);
    return reply;
}

static void
s_expect (control_t *control, zsock_t *client, const char *request, const char *expected)
{
    char *reply = s_ask (control, client, request);
    if (!reply || !streq (reply, expected)) {
        fprintf (stderr, "control: %s -> %s, expected %s\n", request ? request : "(nothing)",
                 reply ? reply : "no reply", expected);
        assert (false);
    }
    zstr_free (&reply);
}

void
control_test (bool verbose)
{
    (void) verbose;
    subtable_t *subscriptions = subtable_new (HERALD_MAX_TOPIC_DEFAULT, 0);
    int owner = 42;
    control_t *control = control_new ("inproc://herald-control-test", &(sock_curve_t){0}, NULL,
                                      subscriptions, s_test_stats, &owner);
    assert (control);
    zsock_t *client = zsock_new_req ("inproc://herald-control-test");
    assert (client);

    s_expect (control, client, "PING", "OK " HERALD_VERSION);
    s_expect (control, client, "COUNT event", "OK 0");
    s_expect (control, client, "NONSENSE",
              "ERROR unknown request; use PING, COUNT, WAIT, PROBE or STATS");

    //  A WAIT is answered once the count is in range, not before.
    assert (s_ask (control, client, "WAIT event 2 5 60000") == NULL);
    assert (subtable_apply (subscriptions, 1, "\1event", 6) == 0);
    control_counts_changed (control);
    assert (s_ask (control, client, NULL) == NULL);
    assert (subtable_apply (subscriptions, 2, "\1ev", 3) == 0);
    control_counts_changed (control);
    s_expect (control, client, NULL, "OK 2");

    //  A PROBE is answered when its nonce is seen, and only its own.
    assert (s_ask (control, client, "PROBE abc 60000") == NULL);
    control_probe_seen (control, "abd", 3, NULL);
    assert (s_ask (control, client, NULL) == NULL);
    assert (control_expire (control, zclock_mono ()) > 0);
    control_probe_seen (control, "abc", 3, NULL);
    s_expect (control, client, NULL, "OK probe seen");
    assert (control_expire (control, zclock_mono ()) == -1);

    //  A waiter past its deadline gets TIMEOUT with the count it had.
    assert (s_ask (control, client, "WAIT event 9 9 0") == NULL);
    assert (control_expire (control, zclock_mono ()) == -1);
    s_expect (control, client, NULL, "TIMEOUT 2");

    //  One client holds at most HERALD_MAX_WAITERS_PER_CLIENT waiters.
    zsock_t *greedy = zsock_new_dealer ("inproc://herald-control-test");
    assert (greedy);
    for (int index = 0; index <= HERALD_MAX_WAITERS_PER_CLIENT; index++)
        zstr_sendx (greedy, "", "WAIT", "nobody", "1", "1", "60000", NULL);
    zmq_pollitem_t item = {zsock_resolve (greedy), 0, ZMQ_POLLIN, 0};
    while (zmq_poll (&item, 1, 0) == 0) {
        zmq_pollitem_t server = {control_handle (control), 0, ZMQ_POLLIN, 0};
        zmq_poll (&server, 1, 100);
        control_read (control);
    }
    char *empty, *status, *value;
    assert (zstr_recvx (greedy, &empty, &status, &value, NULL) == 3);
    assert (streq (status, "ERROR") && strstr (value, "on this connection"));
    zstr_free (&empty);
    zstr_free (&status);
    zstr_free (&value);
    zsock_destroy (&greedy);

    //  STATS holds the owner's members and the control module's own.
    s_expect (control, client, "STATS",
              "OK {\"owner\":42,\"control\":{\"requests\":24,\"errors\":2,\"waiting\":16}}");

    zsock_destroy (&client);
    control_destroy (&control);
    control_destroy (&control);
    subtable_destroy (&subscriptions);
}
