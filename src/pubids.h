/*  pubids.h - which publisher connection owns each publisher id.

    Every herald event carries its publisher's id and sequence number, and
    subscribers report a gap in a publisher's sequence as lost events. A
    peer that sends events under another live publisher's id could make
    subscribers report losses that never happened. The hub binds an id to
    the first live connection that uses it, and drops events that carry an
    id bound to another connection still open (docs/guarantees.md). A
    connection may own several ids (one per topic, say).

    The data path asks pubids_known first: one array read per event. Only
    the first event of a connection, or one with a new id, takes the slow
    path through the table. */

#ifndef HERALD_PUBIDS_H_INCLUDED
#define HERALD_PUBIDS_H_INCLUDED

#include "peers.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct _pubids_t pubids_t;

//  Create an empty table; NULL if out of memory.
pubids_t *pubids_new (void);

//  Destroy it; safe on NULL, nulls the caller's pointer.
void pubids_destroy (pubids_t **self_p);

//  True if the connection on fd was last seen using this id: the event
//  may pass.
bool pubids_known (pubids_t *self, int fd, uint64_t id);

//  The slow path, for the connection (serial, its token's position, fd):
//  true if the event may pass (the id is now bound to it, or its
//  connection has gone, or owns too many ids, and so cannot be bound),
//  false if another open connection owns the id. peers tells which
//  connections are open.
bool pubids_claim (pubids_t *self, peers_t *peers, uint64_t serial, uint64_t position, int fd,
                   uint64_t id);

//  The connection on fd has ended: its id is free.
void pubids_closed (pubids_t *self, int fd);

//  Self test.
void pubids_test (bool verbose);

#endif
