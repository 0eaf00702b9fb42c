/*  publisher.c - role: the publisher.

    Connects a PUB socket to the hub's frontend and a control client
    (client.c) to its control endpoint, then follows the publisher's
    procedure of docs/protocol.md: prove the path, wait for the
    subscribers if asked, say the count and publish each event, publish
    TERMINATE, prove the path again. If the connection to the hub dropped
    meanwhile, events sent around the drop may be lost: it says so and
    exits 65 (docs/guarantees.md). */

#include "client.h"
#include "herald.h"
#include "log.h"
#include "monitor.h"
#include "roles.h"
#include "signals.h"
#include "sock.h"
#include "wire.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/random.h>

#define PAYLOAD_MAX 64

typedef struct {
    const config_t *cfg;
    zsock_t *pub;        //  PUB, to the hub's frontend
    client_t *control;   //  to the hub's control endpoint
    monitor_t *monitor;  //  the PUB's connection drops
    uint64_t id;         //  this run's publisher id
    uint64_t sequence;   //  last sequence number sent
    uint8_t *message;    //  the event being sent
    size_t message_max;
} publisher_t;

//  Send one event, topic, header and payload in one frame, the payload
//  padded with zero bytes to at least `size_min`. Returns 0, or -1 if it
//  could not be queued within HERALD_SEND_TIMEOUT_MS (the hub is not taking
//  anything).
static int
s_send (publisher_t *self, const char *topic, uint64_t sequence, const char *text, size_t size_min)
{
    size_t length = strlen (text);
    size_t payload_size = size_min > length ? size_min : length;
    size_t size = wire_event_encode (self->message, self->message_max, topic, strlen (topic),
                                     self->id, sequence, text, length);
    assert (size);  //  config checked the topic; the room is made for --size
    memset (self->message + size, 0, payload_size - length);
    size += payload_size - length;
    if (zmq_send (zsock_resolve (self->pub), self->message, size, 0) == -1) {
        log_error ("cannot send %s to the hub at %s: %s", topic, self->cfg->frontend,
                   zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  How many times the PUB's connection has dropped so far.
static uint64_t
s_drops (publisher_t *self)
{
    monitor_read (self->monitor);
    return monitor_counts (self->monitor)->closed;
}

//  Send probes until the hub confirms one: then every message this socket
//  sent before the probe has reached the hub, and every later one will.
static int
s_prove_path (publisher_t *self, const char *when)
{
    if (client_prove_publisher (self->control, zsock_resolve (self->pub), self->cfg->frontend))
        return -1;
    log_debug ("path to the hub proven (%s)", when);
    return 0;
}

//  Block until the hub counts at least wait_subscribers for the topic.
static int
s_wait_subscribers (publisher_t *self)
{
    const config_t *cfg = self->cfg;
    log_debug ("waiting for %" PRIu64 " subscribers to '%s'", cfg->wait_subscribers, cfg->topic);
    uint64_t count;
    int rc = client_wait (self->control, cfg->topic, cfg->wait_subscribers, UINT64_MAX, &count);
    if (rc == 1)
        log_error ("the hub counted %" PRIu64 " of %" PRIu64 " subscribers to '%s' in %" PRIu64
                   " ms",
                   count, cfg->wait_subscribers, cfg->topic, cfg->wait_timeout_ms);
    return rc ? -1 : 0;
}

//  Returns 0 when every event has reached the hub, -1 on failure, -2 if
//  the connection dropped while publishing.
static int
s_run (publisher_t *self)
{
    const config_t *cfg = self->cfg;
    if (s_prove_path (self, "before the first event"))
        return -1;
    uint64_t drops_before = s_drops (self);  //  only drops from here on can lose events
    if (cfg->wait_subscribers && s_wait_subscribers (self))
        return -1;
    for (uint64_t event = 1; event <= cfg->events && !herald_signal; event++) {
        if (cfg->count) {
            uint64_t count;
            if (client_count (self->control, cfg->topic, &count))
                return -1;
            printf ("Publisher has %" PRIu64 " subscribers\n", count);
        }
        char payload[PAYLOAD_MAX];
        snprintf (payload, sizeof payload, "THIS IS EVENT-%" PRIu64, event);
        if (s_send (self, cfg->topic, ++self->sequence, payload, cfg->size))
            return -1;
        if (event < cfg->events && cfg->interval_ms)
            herald_pause_until (zclock_mono () + (int64_t) cfg->interval_ms);
    }
    if (herald_signal)
        return -1;
    if (cfg->terminate && s_send (self, HERALD_TERMINATE, ++self->sequence, HERALD_TERMINATE, 0))
        return -1;
    //  A second probe, sent after everything else on the same socket, proves
    //  that all of it has reached the hub, if it went by one connection.
    if (s_prove_path (self, "after the last event"))
        return -1;
    uint64_t drops = s_drops (self) - drops_before;
    if (drops) {
        log_error ("the connection to the hub at %s dropped %" PRIu64 " time%s while publishing: "
                   "events sent around %s may not have reached it",
                   cfg->frontend, drops, drops == 1 ? "" : "s", drops == 1 ? "it" : "them");
        return -2;
    }
    return 0;
}

int
publisher_main (const config_t *cfg)
{
    publisher_t self = {.cfg = cfg};
    self.message_max = CONFIG_TEXT_MAX + 1 + WIRE_HEADER_SIZE
                       + (cfg->size > PAYLOAD_MAX ? cfg->size : PAYLOAD_MAX);
    self.message = malloc (self.message_max);
    if (!self.message) {
        log_error ("out of memory");
        return HERALD_EXIT_OSERR;
    }
    if (getrandom (&self.id, sizeof self.id, 0) != sizeof self.id)
        self.id = (uint64_t) zclock_time () << 20 ^ (uint64_t) getpid ();
    sock_curve_t curve;
    if (sock_curve_load (cfg, false, &curve)) {
        free (self.message);
        return HERALD_EXIT_CONFIG;
    }
    self.pub =
        sock_new (ZMQ_PUB, cfg->frontend, false,
                  &(sock_options_t){.curve = &curve, .hwm = sock_hwm (cfg->hwm)}, "publisher");
    self.control = client_new (cfg->control, &curve, cfg->wait_timeout_ms);
    int rc = HERALD_EXIT_UNAVAILABLE;
    if (self.pub && self.control) {
        //  Never drop at our own socket: if the queue to the hub is full,
        //  wait (up to a limit) instead of losing the event silently.
        zsock_set_xpub_nodrop (self.pub, 1);
        zsock_set_sndtimeo (self.pub, HERALD_SEND_TIMEOUT_MS);
        log_debug ("publisher %016" PRIx64 " to %s", self.id, cfg->frontend);
        self.monitor = monitor_new (zsock_resolve (self.pub), "publisher", ZMQ_EVENT_DISCONNECTED);
        int result = self.monitor ? s_run (&self) : -1;
        rc = !self.monitor  ? HERALD_EXIT_SOFTWARE
             : result == 0  ? HERALD_EXIT_OK
             : result == -2 ? HERALD_EXIT_DATAERR
                            : client_exit_code (self.control);
    }
    monitor_destroy (&self.monitor);
    zsock_destroy (&self.pub);
    client_destroy (&self.control);
    sock_curve_destroy (&curve);
    free (self.message);
    return rc;
}
