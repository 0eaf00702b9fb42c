/*  sock.c - herald's sockets and control calls; see sock.h. */

#include "sock.h"
#include "herald.h"
#include "log.h"

#include <stdarg.h>

zsock_t *
sock_new (int type, const char *endpoint, bool bind, const sock_options_t *options,
          const char *what)
{
    zsock_t *sock = zsock_new (type);
    if (!sock) {
        log_error ("cannot create %s socket: %s", what, zmq_strerror (zmq_errno ()));
        return NULL;
    }
    //  Options that shape connections must be set before bind or connect.
    if (options->hwm) {
        zsock_set_sndhwm (sock, (int) options->hwm);
        zsock_set_rcvhwm (sock, (int) options->hwm);
    }
    zsock_set_linger (sock, 0);
#ifdef EXP_BUF
    if (options->hwm > 1000) {
        zsock_set_sndbuf (sock, EXP_BUF);
        zsock_set_rcvbuf (sock, EXP_BUF);
    }
#endif
    if (options->max_frame)
        zsock_set_maxmsgsize (sock, (int) options->max_frame);
    if (options->heartbeat_ms) {
        zsock_set_heartbeat_ivl (sock, options->heartbeat_ms);
        zsock_set_heartbeat_timeout (sock, HERALD_HEARTBEAT_MISSES * options->heartbeat_ms);
        zsock_set_heartbeat_ttl (sock, HERALD_HEARTBEAT_MISSES * options->heartbeat_ms);
    }
    int rc = bind ? zsock_bind (sock, "%s", endpoint) : zsock_connect (sock, "%s", endpoint);
    if (rc == -1) {
        log_error ("cannot %s %s to %s: %s", bind ? "bind" : "connect", what, endpoint,
                   zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    log_debug ("%s %s %s", what, bind ? "bound to" : "connecting to", endpoint);
    return sock;
}

zmsg_t *
sock_call (zsock_t *client, const char *endpoint, int64_t timeout_ms, int tick_ms,
           sock_tick_fn *tick, void *argument, const char *verb, ...)
{
    zmsg_t *request = zmsg_new ();
    va_list args;
    va_start (args, verb);
    for (const char *frame = verb; frame; frame = va_arg (args, const char *))
        zmsg_addstr (request, frame);
    va_end (args);
    if (zmsg_send (&request, client) == -1) {
        log_error ("cannot send %s to the hub at %s: %s", verb, endpoint,
                   zmq_strerror (zmq_errno ()));
        zmsg_destroy (&request);
        return NULL;
    }
    int64_t deadline = zclock_mono () + timeout_ms;
    zmq_pollitem_t item = {zsock_resolve (client), 0, ZMQ_POLLIN, 0};
    while (!herald_signal) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        long wait = tick && tick_ms < left ? tick_ms : (long) left;
        int rc = zmq_poll (&item, 1, wait);
        if (rc == -1 && zmq_errno () != EINTR)
            break;
        if (rc > 0)
            return zmsg_recv (client);
        if (tick && rc == 0)
            tick (argument);
    }
    if (!herald_signal)
        log_error ("no reply to %s from the hub at %s within %lld ms", verb, endpoint,
                   (long long) timeout_ms);
    return NULL;
}
