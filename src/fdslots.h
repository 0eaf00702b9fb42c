/*  fdslots.h - a table with a slot per file descriptor, grown as
    descriptors come: what peers.c and pubids.c keep per connection. */

#ifndef HERALD_FDSLOTS_H_INCLUDED
#define HERALD_FDSLOTS_H_INCLUDED

#include <stddef.h>

//  The slot for fd in *slots (of *size slots of slot_size bytes each),
//  growing the table, zeroed, to hold it. NULL if fd is negative or
//  memory runs out (the table is unchanged).
void *fdslots_grow (void **slots, size_t *size, size_t slot_size, int fd);

#endif
