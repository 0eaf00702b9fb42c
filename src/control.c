/*  control.c - the control protocol's server; see control.h, and
    docs/protocol.md for the protocol.

    Requests arrive on a ROUTER as [identity][empty, from REQ clients]
    [frames]; each reply goes back with the same envelope. The ROUTER drops
    replies to a client that does not read them, so no client can stall
    the hub. */

#include "control.h"
#include "herald.h"
#include "log.h"
#include "wire.h"

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
    int64_t deadline;  //  zclock_mono () time
} waiter_t;

struct _control_t {
    zsock_t *socket;  //  ROUTER, clients ask
    subtable_t *subscriptions;
    control_stats_fn *stats;
    void *argument;
    waiter_t waiters[HERALD_MAX_WAITERS];
    size_t waiter_count;
    uint64_t requests;      //  requests read
    uint64_t bad_requests;  //  answered with ERROR
};

control_t *
control_new (const char *endpoint, const sock_curve_t *curve, subtable_t *subscriptions,
             control_stats_fn *stats, void *argument)
{
    control_t *self = calloc (1, sizeof (control_t));
    if (!self) {
        log_error ("out of memory");
        return NULL;
    }
    self->socket = sock_new (ZMQ_ROUTER, endpoint, true,
                             &(sock_options_t){.curve = curve,
                                               .hwm = HERALD_CONTROL_HWM,
                                               .max_frame = HERALD_CONTROL_MAX_MSG},
                             "control");
    if (!self->socket) {
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
control_destroy (control_t **self_p)
{
    control_t *self = *self_p;
    if (!self)
        return;
    while (self->waiter_count)
        s_waiter_remove (self, 0);
    zsock_destroy (&self->socket);
    free (self);
    *self_p = NULL;
}

void *
control_handle (control_t *self)
{
    return zsock_resolve (self->socket);
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
control_probe_seen (control_t *self, const void *nonce, size_t size)
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
    control_json (self, out);
    fputc ('}', out);
    fclose (out);
    return json;
}

//  Answer one parsed request now, or keep it as a waiter.
static void
s_answer (control_t *self, zframe_t *routing, bool delimiter, const wire_request_t *request)
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

void
control_read (control_t *self)
{
    for (int count = 0; count < HERALD_FORWARD_BATCH && (zsock_events (self->socket) & ZMQ_POLLIN);
         count++) {
        zmsg_t *message = zmsg_recv (self->socket);
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

void
control_json (control_t *self, FILE *out)
{
    fprintf (out, "\"control\":{\"requests\":%llu,\"errors\":%llu,\"waiting\":%zu}",
             (unsigned long long) self->requests, (unsigned long long) self->bad_requests,
             self->waiter_count);
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
    subtable_t *subscriptions = subtable_new ();
    int owner = 42;
    control_t *control = control_new ("inproc://herald-control-test", &(sock_curve_t){0},
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
    assert (subtable_apply (subscriptions, "\1event", 6) == 0);
    control_counts_changed (control);
    assert (s_ask (control, client, NULL) == NULL);
    assert (subtable_apply (subscriptions, "\1ev", 3) == 0);
    control_counts_changed (control);
    s_expect (control, client, NULL, "OK 2");

    //  A PROBE is answered when its nonce is seen, and only its own.
    assert (s_ask (control, client, "PROBE abc 60000") == NULL);
    control_probe_seen (control, "abd", 3);
    assert (s_ask (control, client, NULL) == NULL);
    assert (control_expire (control, zclock_mono ()) > 0);
    control_probe_seen (control, "abc", 3);
    s_expect (control, client, NULL, "OK probe seen");
    assert (control_expire (control, zclock_mono ()) == -1);

    //  A waiter past its deadline gets TIMEOUT with the count it had.
    assert (s_ask (control, client, "WAIT event 9 9 0") == NULL);
    assert (control_expire (control, zclock_mono ()) == -1);
    s_expect (control, client, NULL, "TIMEOUT 2");

    //  STATS holds the owner's members and the control module's own.
    s_expect (control, client, "STATS",
              "OK {\"owner\":42,\"control\":{\"requests\":7,\"errors\":1,\"waiting\":0}}");

    zsock_destroy (&client);
    control_destroy (&control);
    control_destroy (&control);
    subtable_destroy (&subscriptions);
}
