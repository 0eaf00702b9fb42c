/*  federation.h - the hub's links to the hub above it (--upstream) and to
    the hubs below it (--federation): interest and subscribers travel up,
    events from below travel up to the root and come down from it, and the
    root's view of every subscriber in the federation comes down to every
    hub, which counts from it. The design, the link protocol and why the
    counts are exact: docs/federation.md.

    The hub hands the federation its own subscribers' changes and the
    events that are to go up or down; the federation hands back, through
    federation_events_t, what the hub must do: deliver an event here and
    below, see a probe, recount. It never touches the hub's data path. */

#ifndef HERALD_FEDERATION_H_INCLUDED
#define HERALD_FEDERATION_H_INCLUDED

#include "config.h"
#include "frames.h"
#include "sock.h"
#include "subtable.h"
#include "zap.h"

#include <stdio.h>
#include <zmq.h>

typedef struct _federation_t federation_t;

//  What the federation asks of the hub.
typedef struct {
    //  Deliver this publication here and below: its frames, in order (the
    //  hub may take them over). Returns false if the hub can take no more
    //  for now (--no-drop-slow, a full subscriber queue): read no more
    //  publications until federation_read is called unblocked.
    bool (*deliver) (void *hub, frames_t *frames);
    //  A probe with this nonce reached the root: answer whoever waits;
    //  whole is false if a publication before it was lost on the way.
    void (*probe_seen) (void *hub, const void *nonce, size_t size, bool whole);
    //  The federation-wide table changed, or is another one now.
    void (*counts_changed) (void *hub);
    //  The link to the hub above was lost while publications sent up were
    //  not yet proven to have reached the root: publishers connected now
    //  must not be told that they did.
    void (*unproven) (void *hub);
} federation_events_t;

//  Bind the federation endpoint (with CURVE when curve holds keys, and
//  the ZAP domain) and, with cfg->upstream, connect there. Returns NULL
//  after logging why.
federation_t *federation_new (const config_t *cfg, const sock_curve_t *curve,
                              const federation_events_t *events, void *hub);

//  Close everything; safe on NULL, nulls the caller's pointer.
void federation_destroy (federation_t **self_p);

//  For the ZAP handler, before it lets a hub in below (peers.h).
uint64_t federation_position (void *argument);

//  The sockets to poll for readability; call federation_read when any is.
size_t federation_handles (federation_t *self, void **handles, size_t size);

//  Read what is ready on every link. With blocked, leave events unread
//  (the hub is waiting for a slow subscriber).
void federation_read (federation_t *self, bool blocked);

//  Send what the hub's changes produced, and a lease when one is due
//  (call once per loop turn).
void federation_flush (federation_t *self);

//  Milliseconds until the next lease is due, or -1 if none.
long federation_timeout (federation_t *self, int64_t now);

//  True when events published here go up to the root rather than being
//  delivered here: this hub has an upstream that has welcomed it.
bool federation_goes_up (federation_t *self);

//  Send a publication (its frames) up to the root.
void federation_send_up (federation_t *self, frames_t *frames);

//  Send a probe nonce up to the root, to come back as probe_seen (with the
//  number of publications sent up before it, which each hub on the way
//  checks).
void federation_probe_up (federation_t *self, const void *nonce, size_t size);

//  A probe reached this hub, and this hub is the root: tell every hub.
void federation_probe_down (federation_t *self, const void *nonce, size_t size);

//  The libzmq socket events for hubs below go to (for the hub to copy
//  each delivered frame to), or NULL when no hub is below.
void *federation_down_handle (federation_t *self);

//  One of this hub's own subscribers' subscription message changed the
//  local table (connection: its serial); or the connection has gone.
void federation_local_apply (federation_t *self, uint64_t connection, const void *message,
                             size_t size);
void federation_local_gone (federation_t *self, uint64_t connection);

//  The federation-wide subscription table, to count from: the root's copy
//  when welcomed by an upstream, else this hub's subtree.
subtable_t *federation_table (federation_t *self);

//  Hubs connected below, open now; for draining after TERMINATE.
uint64_t federation_links (federation_t *self);

//  Write the "federation" STATS member's value (an object).
void federation_json (federation_t *self, FILE *out);

#endif
