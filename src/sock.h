/*  sock.h - the one place where herald's sockets are made, and where a
    client asks the hub's control endpoint something. */

#ifndef HERALD_SOCK_H_INCLUDED
#define HERALD_SOCK_H_INCLUDED

#include <czmq.h>

//  Make a socket of the given type with herald's options (send and receive
//  high-water marks of hwm messages, no linger, frames of at most
//  max_frame bytes, -1 for no limit) and bind or connect it to endpoint. On failure, logs one line
//  naming what and the endpoint, and returns NULL. The caller owns the socket.
zsock_t *sock_new (int type, const char *endpoint, bool bind, uint64_t hwm, int64_t max_frame,
                   const char *what);

//  Called by sock_call every tick_ms while it waits.
typedef void (sock_tick_fn) (void *argument);

//  Send a request (one string per frame, NULL-terminated list) on a REQ
//  socket and wait up to timeout_ms for the reply, calling tick (if not
//  NULL) every tick_ms meanwhile. Returns the reply, owned by the caller,
//  or NULL on timeout or signal (logged, with endpoint naming the hub).
zmsg_t *sock_call (zsock_t *client, const char *endpoint, int64_t timeout_ms, int tick_ms,
                   sock_tick_fn *tick, void *argument, const char *verb, ...);

#endif
