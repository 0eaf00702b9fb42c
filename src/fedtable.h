/*  fedtable.h - subscribers of several hubs: a subscription table whose
    connections are named by the hub they belong to (its origin, a hub id)
    and that hub's own serial for them.

    A hub keeps two of these (docs/federation.md): the subscribers of its
    subtree (its own and those of the hubs below it), and, when it has a
    hub above it, the copy of the whole federation's that its upstream
    sends down. Counting is subtable.h's: a topic's count is the number of
    (origin, serial) connections holding a prefix of it. */

#ifndef HERALD_FEDTABLE_H_INCLUDED
#define HERALD_FEDTABLE_H_INCLUDED

#include "subtable.h"

typedef struct _fedtable_t fedtable_t;

//  Create an empty table for prefixes of up to max_prefix bytes; NULL if
//  out of memory.
fedtable_t *fedtable_new (size_t max_prefix);

//  Destroy it; safe on NULL, nulls the caller's pointer.
void fedtable_destroy (fedtable_t **self_p);

//  Apply one subscription message (byte 1 or 0, then the prefix) of the
//  connection (origin, serial), as subtable_apply does.
subtable_result_t fedtable_apply (fedtable_t *self, uint64_t origin, uint64_t serial,
                                  const void *message, size_t size);

//  The connection (origin, serial) has gone. True if it held anything.
bool fedtable_gone (fedtable_t *self, uint64_t origin, uint64_t serial);

//  Every connection of this origin has gone. True if any held anything.
bool fedtable_drop_origin (fedtable_t *self, uint64_t origin);

//  Forget everything.
void fedtable_clear (fedtable_t *self);

//  Connections of this origin holding at least one prefix.
uint64_t fedtable_connections_of (fedtable_t *self, uint64_t origin);

//  The table to count from (and to watch), owned by the fedtable.
subtable_t *fedtable_subtable (fedtable_t *self);

//  Call fn for every (origin, serial, prefix) held. The table must not
//  change meanwhile.
typedef void (fedtable_each_fn) (void *argument, uint64_t origin, uint64_t serial,
                                 const uint8_t *prefix, size_t size);
void fedtable_each (fedtable_t *self, fedtable_each_fn *fn, void *argument);

//  Self test.
void fedtable_test (bool verbose);

#endif
