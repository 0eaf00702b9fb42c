/*  sock.h - the one place where herald's sockets are made: type, options,
    CURVE keys, bind or connect, and the error line when that fails. */

#ifndef HERALD_SOCK_H_INCLUDED
#define HERALD_SOCK_H_INCLUDED

#include "config.h"

#include <czmq.h>

//  CURVE keys for a process's sockets; all zero when CURVE is off.
typedef struct {
    zcert_t *cert;        //  our own key pair, owned
    bool server;          //  the hub: accept CURVE clients
    char server_key[41];  //  a client: the hub's public key, Z85
} sock_curve_t;

//  Load the keys the settings name (--curve-secret, --curve-server-key),
//  for the hub (server) or a client. Returns 0, also when CURVE is off,
//  or -1 after logging which file could not be read.
int sock_curve_load (const config_t *cfg, bool server, sock_curve_t *curve);

//  The keys a hub connects to its upstream with: its own key pair (own),
//  and the upstream's public key, read from key_file. Returns 0, or -1
//  after logging.
int sock_curve_upstream (const sock_curve_t *own, const char *key_file, sock_curve_t *upstream);

//  Free the keys; safe to call twice.
void sock_curve_destroy (sock_curve_t *curve);

//  A high-water mark of none: libzmq queues without limit.
#define SOCK_HWM_NONE (-1)

//  Options of a socket; zero means libzmq's default, or none.
typedef struct {
    const sock_curve_t *curve;  //  CURVE keys, or NULL
    int64_t hwm;                //  send and receive high-water marks, in messages;
                                //  SOCK_HWM_NONE: no limit
    int64_t max_frame;          //  largest frame accepted, bytes; a peer over it is dropped
    int heartbeat_ms;           //  ZMTP ping interval
    bool heartbeat_watch;       //  drop a peer silent for 3 pings (else: only ping)
    const char *zap_domain;     //  have the ZAP handler decide over each connection (zap.h)
} sock_options_t;

//  ZMTP heartbeats on a libzmq socket: ping every interval_ms; with watch,
//  drop a peer not heard from for HERALD_HEARTBEAT_MISSES pings. Returns 0,
//  or -1 with zmq_errno () set.
int sock_set_heartbeat (void *handle, int interval_ms, bool watch);

//  Make a socket of the given type with herald's options (and no linger),
//  then bind or connect it to endpoint. On failure, logs one line naming
//  what and the endpoint, and returns NULL. The caller owns the socket.
zsock_t *sock_new (int type, const char *endpoint, bool bind, const sock_options_t *options,
                   const char *what);

//  sock_new in two steps, for what must be done in between (a monitor
//  that must see every connection): make the socket, then bind or connect
//  it (0, or -1 after logging; the caller still owns the socket).
zsock_t *sock_open (int type, const sock_options_t *options, const char *what);
int sock_attach (zsock_t *sock, const char *endpoint, bool bind, const char *what);

//  The high-water mark an --hwm value asks for (0: none).
int64_t sock_hwm (uint64_t hwm);

#endif
