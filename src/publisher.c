/*  publisher.c - role: the publisher.

    Connects a PUB socket to the hub's frontend and a REQ socket to its
    control endpoint, then:
    1. proves its path: sends probes on a reserved topic until the hub says
       one arrived. A PUB socket drops messages silently until the hub's
       subscription has reached it; after the first probe gets through,
       nothing later is dropped for that reason, because the hub never
       unsubscribes;
    2. waits, if asked, until the hub counts enough subscribers;
    3. for each event, asks the hub how many subscribers the topic has,
       says so, and publishes the event;
    4. publishes TERMINATE, and proves once more that everything has reached
       the hub before it exits 0. The proof holds for one connection: if
       the connection to the hub dropped meanwhile (the hub restarted, or
       cut us off), events sent around the drop may be lost, and the
       publisher says so and exits 65 instead. */

#include "herald.h"
#include "log.h"
#include "roles.h"
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
    zsock_t *pub;       //  PUB, to the hub's frontend
    zsock_t *control;   //  REQ, to the hub's control endpoint
    zsock_t *monitor;   //  PAIR: the PUB's connection drops
    uint64_t id;        //  this run's publisher id
    uint64_t sequence;  //  last sequence number sent
    uint64_t proofs;    //  probes proven so far; makes each nonce new
    char nonce[40];     //  the probe being proven
    uint8_t *message;   //  the event being sent
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

static void
s_send_probe (void *argument)
{
    publisher_t *self = argument;
    s_send (self, HERALD_PROBE_TOPIC, 0, self->nonce, 0);
}

//  Reply frames are [status][value]. Returns the value if status is OK
//  (caller frees), else NULL after logging why.
static char *
s_reply_value (zmsg_t **reply_p, const char *what)
{
    if (!*reply_p)
        return NULL;
    char *status = zmsg_popstr (*reply_p);
    char *value = zmsg_popstr (*reply_p);
    zmsg_destroy (reply_p);
    if (!status || !value || !streq (status, "OK")) {
        log_error ("%s: hub answered %s %s", what, status ? status : "nothing", value ? value : "");
        zstr_free (&value);
    }
    zstr_free (&status);
    return value;
}

//  Send probes until the hub confirms one: then every message this socket
//  sent before the probe has reached the hub, and every later one will.
static int
s_prove_path (publisher_t *self, const char *when)
{
    snprintf (self->nonce, sizeof self->nonce, "%016" PRIx64 "-%" PRIu64, self->id, ++self->proofs);
    char timeout[24];
    snprintf (timeout, sizeof timeout, "%" PRIu64, self->cfg->wait_timeout_ms);
    s_send_probe (self);
    zmsg_t *reply =
        sock_call (self->control, self->cfg->control,
                   (int64_t) self->cfg->wait_timeout_ms + HERALD_CONTROL_TIMEOUT_MS,
                   HERALD_PROBE_RESEND_MS, s_send_probe, self, "PROBE", self->nonce, timeout, NULL);
    if (!reply)
        return -1;  //  no answer at all: sock_call said so
    char *status = zmsg_popstr (reply);
    int rc = status && streq (status, "OK") ? 0 : -1;
    if (rc)
        log_error ("no probe reached the hub at %s within %s ms (%s)", self->cfg->frontend, timeout,
                   when);
    else
        log_debug ("path to the hub proven (%s)", when);
    zstr_free (&status);
    zmsg_destroy (&reply);
    return rc;
}

//  Ask the hub how many subscribers the topic has; -1 if it cannot say.
static int64_t
s_count (publisher_t *self)
{
    zmsg_t *reply = sock_call (self->control, self->cfg->control, HERALD_CONTROL_TIMEOUT_MS, 0,
                               NULL, NULL, "COUNT", self->cfg->topic, NULL);
    char *value = s_reply_value (&reply, "counting subscribers");
    uint64_t count;
    int rc = value ? wire_parse_u64 (value, strlen (value), 0, INT64_MAX, &count) : -1;
    zstr_free (&value);
    return rc ? -1 : (int64_t) count;
}

//  Block until the hub counts at least wait_subscribers for the topic.
static int
s_wait_subscribers (publisher_t *self)
{
    const config_t *cfg = self->cfg;
    char least[24], timeout[24];
    snprintf (least, sizeof least, "%" PRIu64, cfg->wait_subscribers);
    snprintf (timeout, sizeof timeout, "%" PRIu64, cfg->wait_timeout_ms);
    log_debug ("waiting for %s subscribers to '%s'", least, cfg->topic);
    zmsg_t *reply = sock_call (
        self->control, cfg->control, (int64_t) cfg->wait_timeout_ms + HERALD_CONTROL_TIMEOUT_MS, 0,
        NULL, NULL, "WAIT", cfg->topic, least, "18446744073709551615", timeout, NULL);
    if (!reply)
        return -1;
    char *status = zmsg_popstr (reply);
    char *value = zmsg_popstr (reply);
    int rc = status && streq (status, "OK") ? 0 : -1;
    if (rc)
        log_error ("the hub counted %s of %s subscribers to '%s' within %s ms", value ? value : "?",
                   least, cfg->topic, timeout);
    zstr_free (&status);
    zstr_free (&value);
    zmsg_destroy (&reply);
    return rc;
}

//  How many times the PUB's connection has dropped since last asked.
static uint64_t
s_drops (publisher_t *self)
{
    uint64_t drops = 0;
    while (zsock_events (self->monitor) & ZMQ_POLLIN) {
        zmsg_t *event = zmsg_recv (self->monitor);
        zmsg_destroy (&event);
        drops++;
    }
    return drops;
}

//  Returns 0 when every event has reached the hub, -1 on failure, -2 if
//  the connection dropped while publishing.
static int
s_run (publisher_t *self)
{
    const config_t *cfg = self->cfg;
    if (s_prove_path (self, "before the first event"))
        return -1;
    s_drops (self);  //  only drops from here on can lose events
    if (cfg->wait_subscribers && s_wait_subscribers (self))
        return -1;
    for (uint64_t event = 1; event <= cfg->events && !herald_signal; event++) {
        if (cfg->count) {
            int64_t count = s_count (self);
            if (count < 0)
                return -1;
            printf ("Publisher has %" PRId64 " subscribers\n", count);
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
    uint64_t drops = s_drops (self);
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
    self.pub = sock_new (ZMQ_PUB, cfg->frontend, false,
                         &(sock_options_t){.curve = &curve, .hwm = cfg->hwm}, "publisher");
    self.control = sock_new (ZMQ_REQ, cfg->control, false, &(sock_options_t){.curve = &curve},
                             "control client");
    int rc = HERALD_EXIT_UNAVAILABLE;
    if (self.pub && self.control) {
        //  Never drop at our own socket: if the queue to the hub is full,
        //  wait (up to a limit) instead of losing the event silently.
        zsock_set_xpub_nodrop (self.pub, 1);
        zsock_set_sndtimeo (self.pub, HERALD_SEND_TIMEOUT_MS);
        log_debug ("publisher %016" PRIx64 " to %s", self.id, cfg->frontend);
        if (zmq_socket_monitor (zsock_resolve (self.pub), "inproc://herald-publisher",
                                ZMQ_EVENT_DISCONNECTED)
            == 0)
            self.monitor = sock_new (ZMQ_PAIR, "inproc://herald-publisher", false,
                                     &(sock_options_t){0}, "monitor");
        int result = self.monitor ? s_run (&self) : -1;
        rc = result == 0     ? HERALD_EXIT_OK
             : result == -2  ? HERALD_EXIT_DATAERR
             : herald_signal ? herald_signal_exit_code ()
                             : HERALD_EXIT_UNAVAILABLE;
    }
    zsock_destroy (&self.monitor);
    zsock_destroy (&self.pub);
    zsock_destroy (&self.control);
    sock_curve_destroy (&curve);
    free (self.message);
    return rc;
}
