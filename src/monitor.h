/*  monitor.h - a socket's connections coming and going, read from
    libzmq's socket monitor; and the file descriptors they cost.

    The owner polls monitor_handle () with its other sockets, calls
    monitor_read () when it is readable, and decides what the counts
    mean. */

#ifndef HERALD_MONITOR_H_INCLUDED
#define HERALD_MONITOR_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct _monitor_t monitor_t;

//  What a monitor has seen so far.
typedef struct {
    uint64_t connections;         //  open now: accepted or connected, not yet gone
    uint64_t opened;              //  ever accepted or connected
    uint64_t closed;              //  ever disconnected
    uint64_t accept_failures;     //  connections refused, mostly out of file descriptors
    uint64_t handshakes;          //  ZMTP handshakes that succeeded
    uint64_t handshake_failures;  //  ZMTP or CURVE handshakes that failed
} monitor_counts_t;

//  Watch the libzmq socket handle for the ZMQ_EVENT_* bits in events; what
//  names it in log lines ("frontend"). Returns NULL after logging why.
monitor_t *monitor_new (void *handle, const char *what, int events);

//  Stop watching (before the watched socket is closed); safe on NULL,
//  nulls the caller's pointer.
void monitor_destroy (monitor_t **self_p);

//  The libzmq handle to poll for readability.
void *monitor_handle (monitor_t *self);

//  One event: which (a ZMQ_EVENT_* number) and its value (for ACCEPTED,
//  CONNECTED and DISCONNECTED, the connection's file descriptor).
typedef struct {
    int number;
    int value;
} monitor_event_t;

//  Read the next event if one is ready, into the counts and into event.
//  Returns 1 with an event, 0 if none is ready. A failed accept is logged
//  at most once a minute (libzmq retries at once, so they come by the
//  thousand); nothing else is logged.
int monitor_next (monitor_t *self, monitor_event_t *event);

//  Read every event that is ready (up to a batch) into the counts.
void monitor_read (monitor_t *self);

//  The counts so far.
const monitor_counts_t *monitor_counts (monitor_t *self);

//  Every connection costs a file descriptor: raise this process's soft
//  limit to the hard one. Returns the limit now in force (0: unknown).
uint64_t monitor_raise_fd_limit (void);

//  Self test.
void monitor_test (bool verbose);

#endif
