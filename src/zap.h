/*  zap.h - the hub's ZAP handler (ZeroMQ RFC 27): it lets each connection
    in, or not, on each of the hub's four ports, and names it.

    libzmq asks the handler about every connection's handshake on a socket
    with a ZAP domain (the hub sets one per port), with the NULL mechanism
    as with CURVE. The handler answers with a token, which every message
    of that connection then carries as its "User-Id" property: a serial
    number never given twice, the position peers.h needs to tell a
    connection from its descriptor's next one, and what the connection may
    do.

    With CURVE, a key is let in on a port if it is in --curve-allow or in
    that port's own list (--curve-allow-publish, -subscribe, -control,
    -federation);
    a port with neither list lets in any CURVE key. The hub's own key may
    always use the control port. TERMINATE may be
    published by keys in --curve-allow-terminate, or, without that list,
    by any key let in on the frontend. Without CURVE, everyone is let in
    everywhere and may do everything. docs/operations.md, "CURVE". */

#ifndef HERALD_ZAP_H_INCLUDED
#define HERALD_ZAP_H_INCLUDED

#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

typedef enum { ZAP_FRONTEND, ZAP_BACKEND, ZAP_CONTROL, ZAP_FEDERATION, ZAP_PORTS } zap_port_t;

//  The ZAP domain the hub sets on each port's socket.
const char *zap_domain (zap_port_t port);

//  What a connection's messages carry.
typedef struct {
    uint64_t serial;     //  this connection's, from 1, never reused
    uint64_t position;   //  its port's position when it was let in (peers.h)
    bool may_terminate;  //  frontend: may publish TERMINATE
} zap_token_t;

//  The token of the connection a message came from. Returns 0, or -1 if
//  the message has none: libzmq made it up (XPUB's unsubscribes for a
//  connection that closed), or it came over inproc.
int zap_token_of (zmq_msg_t *message, zap_token_t *token);

typedef struct _zap_t zap_t;

//  Asked just before a connection on a port is let in: that port's
//  position (peers_position, after reading the monitor).
typedef uint64_t (zap_position_fn) (void *argument);

//  Bind the handler: without CURVE (own_key NULL), letting everyone in;
//  with it, by the lists of cfg (read now; a list's folder is read again
//  when it changes), and the hub's own public key (Z85) on the control
//  port: whoever holds the hub's key pair may always ask it (its health
//  check does). Must exist before the sockets it serves take
//  connections. Returns NULL after logging why.
zap_t *zap_new (const config_t *cfg, const char *own_key);

//  Unbind; safe on NULL, nulls the caller's pointer.
void zap_destroy (zap_t **self_p);

//  Ask position before letting a connection in on port.
void zap_set_position (zap_t *self, zap_port_t port, zap_position_fn *position, void *argument);

//  The libzmq handle to poll for readability; then call zap_read.
void *zap_handle (zap_t *self);

//  Answer every request that is ready.
void zap_read (zap_t *self);

//  Connections refused so far, on each port.
uint64_t zap_refused (zap_t *self, zap_port_t port);

//  The serial of the last connection let in (0: none yet): every
//  connection so far has a serial up to it.
uint64_t zap_last_serial (zap_t *self);

//  Self test.
void zap_test (bool verbose);

#endif
