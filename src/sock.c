/*  sock.c - herald's sockets and control calls; see sock.h. */

#include "sock.h"
#include "herald.h"
#include "log.h"

#include <stdarg.h>

int
sock_set_heartbeat (void *handle, int interval_ms, bool watch)
{
    //  No TTL: it would make a peer whose input is held back by a full queue
    //  time out on its own side (see HERALD_HEARTBEAT_DEFAULT_MS).
    int timeout = watch ? HERALD_HEARTBEAT_MISSES * interval_ms : 0;
    return zmq_setsockopt (handle, ZMQ_HEARTBEAT_IVL, &interval_ms, sizeof interval_ms)
           || zmq_setsockopt (handle, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
}

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
    if (options->max_frame)
        zsock_set_maxmsgsize (sock, (int) options->max_frame);
    if (options->curve && options->curve->cert) {
        zcert_apply (options->curve->cert, zsock_resolve (sock));
        if (options->curve->server)
            zsock_set_curve_server (sock, 1);
        else
            zsock_set_curve_serverkey (sock, options->curve->server_key);
    }
    if (options->heartbeat_ms)
        sock_set_heartbeat (zsock_resolve (sock), options->heartbeat_ms, options->heartbeat_watch);
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

int
sock_curve_load (const config_t *cfg, bool server, sock_curve_t *curve)
{
    memset (curve, 0, sizeof *curve);
    curve->server = server;
    if (!server && *cfg->curve_server_key) {
        zcert_t *hub = zcert_load (cfg->curve_server_key);
        if (!hub) {
            log_error ("cannot read the hub's public key from %s", cfg->curve_server_key);
            return -1;
        }
        snprintf (curve->server_key, sizeof curve->server_key, "%s", zcert_public_txt (hub));
        zcert_destroy (&hub);
        //  A client without a key of its own talks CURVE with a key made
        //  for this run: encrypted, but let in only by a hub that allows any.
        if (!*cfg->curve_secret)
            curve->cert = zcert_new ();
    }
    if (*cfg->curve_secret) {
        curve->cert = zcert_load (cfg->curve_secret);
        if (!curve->cert
            || streq (zcert_secret_txt (curve->cert), "0000000000000000000000000000000000000000")) {
            log_error ("cannot read a secret key from %s", cfg->curve_secret);
            zcert_destroy (&curve->cert);
            return -1;
        }
    }
    return 0;
}

void
sock_curve_destroy (sock_curve_t *curve)
{
    zcert_destroy (&curve->cert);
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
    zmq_pollitem_t items[] = {{zsock_resolve (client), 0, ZMQ_POLLIN, 0}, herald_signal_item ()};
    while (!herald_signal) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        long wait = tick && tick_ms < left ? tick_ms : (long) left;
        int rc = zmq_poll (items, 2, wait);
        if (rc == -1 && zmq_errno () != EINTR)
            break;
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
            return zmsg_recv (client);
        if (tick && rc == 0)
            tick (argument);
    }
    if (!herald_signal)
        log_error ("no reply to %s from the hub at %s within %lld ms", verb, endpoint,
                   (long long) timeout_ms);
    return NULL;
}
