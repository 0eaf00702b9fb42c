/*  publisher.c - role: the publisher.

    Connects a PUB socket to the hub's frontend and a control client
    (client.c) to its control endpoint, then follows the publisher's
    procedure of docs/protocol.md: prove the path, wait for the
    subscribers if asked, say the count and publish each event, publish
    TERMINATE, prove the path again. If the connection to the hub dropped
    meanwhile, events sent around the drop may be lost: it says so and
    exits 65 (docs/guarantees.md).

    The events are the story's (THIS IS EVENT-k), or the user's: --message
    texts, a --file, or the --lines of a file or of standard input; sent
    in herald's layout, or as plain publications (--format multipart or
    frame) for subscribers that expect ZeroMQ's classic envelope. */

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
    //  Where the events come from (s_next)
    uint64_t produced;  //  events produced so far
    char story[PAYLOAD_MAX];
    FILE *input;  //  --file or --lines
    char *line;   //  getline's buffer
    size_t line_max;
} publisher_t;

//  Room for a message of size bytes in self->message. Returns 0, or -1 if
//  out of memory.
static int
s_room (publisher_t *self, size_t size)
{
    if (size <= self->message_max)
        return 0;
    uint8_t *message = realloc (self->message, size);
    if (!message) {
        log_error ("out of memory for an event of %zu bytes", size);
        return -1;
    }
    self->message = message;
    self->message_max = size;
    return 0;
}

//  Send one event on topic, its payload padded with zero bytes to at least
//  --size, in the chosen layout: herald's (topic, header and payload in one
//  frame), multipart ([topic][payload]) or frame ("topic payload"). Returns
//  0, or -1 if it could not be queued within HERALD_SEND_TIMEOUT_MS (the
//  hub is not taking anything).
static int
s_send (publisher_t *self, const char *topic, const void *payload, size_t length)
{
    const config_t *cfg = self->cfg;
    size_t padded = cfg->size > length ? cfg->size : length;
    size_t topic_size = strlen (topic);
    void *handle = zsock_resolve (self->pub);
    if (s_room (self, topic_size + 1 + WIRE_HEADER_SIZE + padded))
        return -1;
    int rc;
    if (streq (cfg->format, "herald")) {
        size_t size = wire_event_encode (self->message, self->message_max, topic, topic_size,
                                         self->id, ++self->sequence, payload, length);
        assert (size);  //  config checked the topic; s_room made the room
        memset (self->message + size, 0, padded - length);
        rc = zmq_send (handle, self->message, size + padded - length, 0);
    } else {
        bool frame = streq (cfg->format, "frame");
        size_t start = frame ? topic_size + 1 : 0;
        memcpy (self->message, topic, topic_size);
        self->message[topic_size] = ' ';
        if (length)
            memcpy (self->message + start, payload, length);
        memset (self->message + start + length, 0, padded - length);
        rc = frame ? zmq_send (handle, self->message, start + padded, 0)
             : zmq_send (handle, topic, topic_size, ZMQ_SNDMORE) == -1
                 ? -1
                 : zmq_send (handle, self->message, padded, 0);
    }
    if (rc == -1) {
        log_error ("cannot send %s to the hub at %s: %s", topic, cfg->frontend,
                   zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  TERMINATE, in the chosen layout: herald's event, the frames
//  [TERMINATE][TERMINATE], or the frame TERMINATE alone.
static int
s_send_terminate (publisher_t *self)
{
    if (!streq (self->cfg->format, "frame"))
        return s_send (self, HERALD_TERMINATE, HERALD_TERMINATE, strlen (HERALD_TERMINATE));
    if (zmq_send (zsock_resolve (self->pub), HERALD_TERMINATE, strlen (HERALD_TERMINATE), 0)
        == -1) {
        log_error ("cannot send TERMINATE to the hub at %s: %s", self->cfg->frontend,
                   zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

//  The next event's payload: the story's, a --message, the --file, or the
//  next of the --lines. Returns 1 with it, 0 when there are no more, -1 on
//  a read error (logged).
static int
s_next (publisher_t *self, const void **payload, size_t *size)
{
    const config_t *cfg = self->cfg;
    if (cfg->messages.count) {
        if (self->produced == cfg->messages.count * cfg->repeat)
            return 0;
        const char *text = cfg->messages.items[self->produced++ % cfg->messages.count];
        *payload = text;
        *size = strlen (text);
        return 1;
    }
    if (*cfg->file) {
        if (self->produced++)
            return 0;
        //  The whole file, one event: read it all.
        size_t used = 0;
        while (!feof (self->input) && !ferror (self->input)) {
            if (used == self->line_max) {
                size_t grown = self->line_max ? self->line_max * 2 : 65536;
                char *line = realloc (self->line, grown);
                if (!line) {
                    log_error ("out of memory reading %s", cfg->file);
                    return -1;
                }
                self->line = line;
                self->line_max = grown;
            }
            used += fread (self->line + used, 1, self->line_max - used, self->input);
        }
        *payload = self->line;
        *size = used;
    } else if (*cfg->lines) {
        ssize_t length = getline (&self->line, &self->line_max, self->input);
        if (length == -1) {
            if (!ferror (self->input))
                return 0;
        } else {
            //  The line, without its end.
            if (length && self->line[length - 1] == '\n')
                length--;
            *payload = self->line;
            *size = (size_t) length;
            self->produced++;
            return 1;
        }
    } else {
        if (self->produced == cfg->events)
            return 0;
        int length =
            snprintf (self->story, sizeof self->story, "THIS IS EVENT-%" PRIu64, ++self->produced);
        *payload = self->story;
        *size = (size_t) length;
        return 1;
    }
    if (ferror (self->input)) {
        log_error ("cannot read %s: %s", *cfg->file ? cfg->file : cfg->lines, strerror (errno));
        return -1;
    }
    return 1;
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
    const void *payload;
    size_t size;
    int more = s_next (self, &payload, &size);
    while (more == 1 && !herald_signal) {
        if (cfg->count) {
            uint64_t count;
            if (client_count (self->control, cfg->topic, &count))
                return -1;
            printf ("Publisher has %" PRIu64 " subscribers\n", count);
        }
        if (s_send (self, cfg->topic, payload, size))
            return -1;
        more = s_next (self, &payload, &size);
        if (more == 1 && cfg->interval_ms)
            herald_pause_until (zclock_mono () + (int64_t) cfg->interval_ms);
    }
    if (herald_signal || more == -1)
        return -1;
    if (cfg->terminate && s_send_terminate (self))
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
    if (s_room (&self, CONFIG_TEXT_MAX + 1 + WIRE_HEADER_SIZE
                           + (cfg->size > PAYLOAD_MAX ? cfg->size : PAYLOAD_MAX)))
        return HERALD_EXIT_OSERR;
    const char *input = *cfg->file ? cfg->file : cfg->lines;
    if (*input) {
        self.input = streq (input, "-") ? stdin : fopen (input, "r");
        if (!self.input) {
            log_error ("cannot read %s: %s", input, strerror (errno));
            free (self.message);
            return HERALD_EXIT_NOINPUT;
        }
    }
    if (getrandom (&self.id, sizeof self.id, 0) != sizeof self.id)
        self.id = (uint64_t) zclock_time () << 20 ^ (uint64_t) getpid ();
    sock_curve_t curve;
    if (sock_curve_load (cfg, false, &curve)) {
        free (self.message);
        if (self.input && self.input != stdin)
            fclose (self.input);
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
    free (self.line);
    if (self.input && self.input != stdin)
        fclose (self.input);
    return rc;
}
