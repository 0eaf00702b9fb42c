/*  monitor.c - connections coming and going; see monitor.h.

    libzmq's monitor sends each event as two frames on a PAIR socket: 6
    bytes (event number, 16 bits, then a 32-bit value, host order), then
    the peer's address. */

#include "monitor.h"
#include "herald.h"
#include "log.h"
#include "sock.h"

#include <assert.h>
#include <czmq.h>
#include <sys/resource.h>

struct _monitor_t {
    void *watched;  //  the socket watched
    zsock_t *pair;  //  where libzmq's monitor writes
    char what[32];
    monitor_counts_t counts;
    bool accept_failing;    //  since the last accept that worked
    int64_t accept_logged;  //  when a failed accept was last logged
};

monitor_t *
monitor_new (void *handle, const char *what, int events)
{
    monitor_t *self = calloc (1, sizeof (monitor_t));
    if (!self) {
        log_error ("out of memory");
        return NULL;
    }
    snprintf (self->what, sizeof self->what, "%s", what);
    self->watched = handle;
    char endpoint[96];
    snprintf (endpoint, sizeof endpoint, "inproc://herald-monitor-%s-%p", what, (void *) self);
    if (zmq_socket_monitor (handle, endpoint, events)) {
        log_error ("cannot monitor the %s: %s", what, zmq_strerror (zmq_errno ()));
        free (self);
        return NULL;
    }
    self->pair = sock_new (ZMQ_PAIR, endpoint, false, &(sock_options_t){0}, "monitor");
    if (!self->pair) {
        zmq_socket_monitor (handle, NULL, 0);
        free (self);
        return NULL;
    }
    return self;
}

void
monitor_destroy (monitor_t **self_p)
{
    if (!*self_p)
        return;
    //  Stop libzmq's side first: its monitor sends block, in the watched
    //  socket's I/O thread, once nobody reads them.
    zmq_socket_monitor ((*self_p)->watched, NULL, 0);
    zsock_destroy (&(*self_p)->pair);
    free (*self_p);
    *self_p = NULL;
}

void *
monitor_handle (monitor_t *self)
{
    return zsock_resolve (self->pair);
}

//  Out of file descriptors, mostly: log the first failure of a run, and at
//  most one run a minute. The connections the socket has are unaffected.
static void
s_accept_failed (monitor_t *self, int error)
{
    self->counts.accept_failures++;
    int64_t now = zclock_mono ();
    if (!self->accept_failing
        && (!self->accept_logged || now - self->accept_logged >= HERALD_ACCEPT_LOG_MS)) {
        log_error ("cannot accept connections on the %s: %s; serving the %llu it has, "
                   "refusing new ones%s",
                   self->what, zmq_strerror (error), (unsigned long long) self->counts.connections,
                   error == EMFILE || error == ENFILE ? " (raise ulimit -n)" : "");
        self->accept_logged = now;
    }
    self->accept_failing = true;
}

int
monitor_next (monitor_t *self, monitor_event_t *event)
{
    while (zsock_events (self->pair) & ZMQ_POLLIN) {
        zmsg_t *message = zmsg_recv (self->pair);
        zframe_t *head = message ? zmsg_first (message) : NULL;
        if (!head || zframe_size (head) != 6) {
            zmsg_destroy (&message);
            continue;
        }
        uint16_t number;
        uint32_t value;
        memcpy (&number, zframe_data (head), sizeof number);
        memcpy (&value, zframe_data (head) + sizeof number, sizeof value);
        zmsg_destroy (&message);
        *event = (monitor_event_t){number, (int) value};
        monitor_counts_t *counts = &self->counts;
        if (number == ZMQ_EVENT_ACCEPTED || number == ZMQ_EVENT_CONNECTED) {
            counts->connections++;
            counts->opened++;
            self->accept_failing = false;
        } else if (number == ZMQ_EVENT_DISCONNECTED) {
            counts->closed++;
            if (counts->connections)
                counts->connections--;
        } else if (number == ZMQ_EVENT_ACCEPT_FAILED)
            s_accept_failed (self, (int) value);
        else if (number == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
            counts->handshakes++;
        else if (number == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                 || number == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                 || number == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
            counts->handshake_failures++;
        return 1;
    }
    return 0;
}

void
monitor_read (monitor_t *self)
{
    monitor_event_t event;
    for (int count = 0; count < HERALD_FORWARD_BATCH && monitor_next (self, &event); count++)
        ;
}

const monitor_counts_t *
monitor_counts (monitor_t *self)
{
    return &self->counts;
}

uint64_t
monitor_raise_fd_limit (void)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit))
        return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit (RLIMIT_NOFILE, &limit))
            getrlimit (RLIMIT_NOFILE, &limit);
    }
    return (uint64_t) limit.rlim_cur;
}

//  --------------------------------------------------------------------------
//  Self test

//  Read the monitor until its counts satisfy done, or a second has passed.
static bool
s_read_until (monitor_t *self, bool (*done) (const monitor_counts_t *counts))
{
    int64_t deadline = zclock_mono () + 1000;
    zmq_pollitem_t item = {monitor_handle (self), 0, ZMQ_POLLIN, 0};
    while (!done (&self->counts) && zclock_mono () < deadline)
        if (zmq_poll (&item, 1, 100) > 0)
            monitor_read (self);
    return done (&self->counts);
}

static bool
s_one_open (const monitor_counts_t *counts)
{
    return counts->connections == 1;
}

static bool
s_one_closed (const monitor_counts_t *counts)
{
    return counts->closed == 1 && counts->connections == 0;
}

void
monitor_test (bool verbose)
{
    (void) verbose;
    //  A connection comes and goes over TCP (inproc has no monitor events);
    //  port 0 lets the system choose.
    zsock_t *server = zsock_new (ZMQ_ROUTER);
    assert (server);
    assert (zsock_bind (server, "tcp://127.0.0.1:*") > 0);
    monitor_t *monitor =
        monitor_new (zsock_resolve (server), "test", ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED);
    assert (monitor);
    zsock_t *client = zsock_new (ZMQ_DEALER);
    assert (zsock_connect (client, "%s", zsock_endpoint (server)) == 0);
    assert (s_read_until (monitor, s_one_open));
    zsock_destroy (&client);
    assert (s_read_until (monitor, s_one_closed));
    assert (monitor_counts (monitor)->opened == 1);
    monitor_destroy (&monitor);
    monitor_destroy (&monitor);
    zsock_destroy (&server);
    assert (monitor_raise_fd_limit () > 0);
}
