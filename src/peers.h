/*  peers.h - which connection a message came from, and when it ended.

    libzmq tells the hub two things, on two different paths: every message
    read from a socket carries the file descriptor of its connection
    (ZMQ_SRCFD) and the token the hub's ZAP handler gave that connection
    at its handshake (zap.h); the socket monitor says when a descriptor's
    connection was accepted and when it ended. A descriptor is reused as
    soon as it is closed, so a descriptor alone cannot tell a late message
    of a closed connection from a new connection's.

    A token carries the monitor position at which it was given: the number
    of ACCEPTED and DISCONNECTED events read so far. The ZAP handler reads
    every ready monitor event before it answers, and a connection's
    ACCEPTED comes before its ZAP request, so its own ACCEPTED is at or
    before that position; its successor on the same descriptor is
    accepted only after it closed, after its handshake, so later. A
    message therefore belongs to the last connection accepted on its
    descriptor at or before its token's position: if that connection is
    still open, the message counts; if not, it is a late message of a
    connection that has gone. (This needs the socket's connections handled
    by one I/O thread, so that a connection's ACCEPTED is reported before
    its handshake starts: the hub uses one.) */

#ifndef HERALD_PEERS_H_INCLUDED
#define HERALD_PEERS_H_INCLUDED

#include "monitor.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct _peers_t peers_t;

//  Create an empty record; the caller owns it. NULL if out of memory.
peers_t *peers_new (void);

//  Destroy it; safe on NULL, nulls the caller's pointer.
void peers_destroy (peers_t **self_p);

//  The monitor reported ACCEPTED on fd. Returns 0, or -1 if out of memory.
int peers_accepted (peers_t *self, int fd);

//  The monitor reported DISCONNECTED on fd. Returns the serial of the
//  connection that ended, if any of its messages was identified, else 0.
uint64_t peers_disconnected (peers_t *self, int fd);

//  One event of the port's monitor: ACCEPTED and DISCONNECTED as above
//  (out of memory is logged, naming the port), the rest ignored. Returns
//  what peers_disconnected returns for DISCONNECTED, else 0.
uint64_t peers_follow (peers_t *self, const monitor_event_t *event, const char *port);

//  Monitor events read so far: what the ZAP handler puts in a token.
uint64_t peers_position (peers_t *self);

//  Identify a message by its connection's token (serial, position) and
//  its descriptor. Returns the serial while that connection is open, or 0
//  if it has gone (or the message cannot be placed).
uint64_t peers_identify (peers_t *self, uint64_t serial, uint64_t position, int fd);

//  True if the connection serial is the one open on fd.
bool peers_open (peers_t *self, uint64_t serial, int fd);

//  Disconnect the connection serial on fd, if it is still the one open
//  there: libzmq sees the socket shut and reports it DISCONNECTED. Returns
//  0, or -1 if it was not open there.
int peers_disconnect (peers_t *self, uint64_t serial, int fd);

//  Self test.
void peers_test (bool verbose);

#endif
