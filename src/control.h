/*  control.h - the control protocol's server: answers COUNT, STATS and
    PING at once, and holds WAIT and PROBE until they can be answered or
    time out. The protocol is specified in docs/protocol.md.

    The control module owns its ROUTER socket and its waiters; it reads the
    subscription table it is given, and asks its owner to write the rest of
    STATS. The owner tells it when counts changed or a probe arrived. */

#ifndef HERALD_CONTROL_H_INCLUDED
#define HERALD_CONTROL_H_INCLUDED

#include "sock.h"
#include "subtable.h"

#include <stdio.h>

typedef struct _control_t control_t;

//  Writes the owner's part of the STATS object: members, comma-separated,
//  without the braces.
typedef void (control_stats_fn) (void *argument, FILE *out);

//  Bind a ROUTER on endpoint (with CURVE when curve holds keys, and the
//  ZAP domain, if not NULL) and answer from subscriptions (not owned) and
//  stats. Returns NULL after logging.
control_t *control_new (const char *endpoint, const sock_curve_t *curve, const char *zap_domain,
                        subtable_t *subscriptions, control_stats_fn *stats, void *argument);

//  Count from another table from now on (not owned); then call
//  control_counts_changed.
void control_set_subscriptions (control_t *self, subtable_t *subscriptions);

//  Close the socket and drop every waiter; safe on NULL, nulls the
//  caller's pointer.
void control_destroy (control_t **self_p);

//  The libzmq handles to poll for readability: the requests, and the
//  connections coming and going. Call control_read when either is.
void *control_handle (control_t *self);
void *control_watch_handle (control_t *self);

//  For the ZAP handler, before it lets a control client in (peers.h):
//  reads the monitor, returns the position. argument is the control_t.
uint64_t control_position (void *argument);

//  Forget the waiters of clients that have gone, then read the requests
//  that are ready: answer each, or keep it waiting.
void control_read (control_t *self);

//  Counts may have changed: answer every WAIT now in range.
void control_counts_changed (control_t *self);

//  A probe carrying nonce reached the hub: answer the PROBE waiting for
//  it, if any: OK, or ERROR with refusal if that is not NULL.
void control_probe_seen (control_t *self, const void *nonce, size_t size, const char *refusal);

//  Answer TIMEOUT to every waiter past its deadline (zclock_mono () time).
//  Returns the milliseconds until the next deadline, or -1 if none.
long control_expire (control_t *self, int64_t now);

//  Self test.
void control_test (bool verbose);

#endif
