/*  sock.c - herald's sockets; see sock.h. */

#include "sock.h"
#include "herald.h"
#include "log.h"

int
sock_set_heartbeat (void *handle, int interval_ms, bool watch)
{
    //  No TTL (docs/operations.md, "Heartbeats").
    int timeout = watch ? HERALD_HEARTBEAT_MISSES * interval_ms : 0;
    return zmq_setsockopt (handle, ZMQ_HEARTBEAT_IVL, &interval_ms, sizeof interval_ms)
           || zmq_setsockopt (handle, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
}

zsock_t *
sock_open (int type, const sock_options_t *options, const char *what)
{
    zsock_t *sock = zsock_new (type);
    if (!sock) {
        log_error ("cannot create %s socket: %s", what, zmq_strerror (zmq_errno ()));
        return NULL;
    }
    //  Options that shape connections must be set before bind or connect.
    if (options->hwm) {
        int hwm = options->hwm == SOCK_HWM_NONE ? 0 : (int) options->hwm;
        zsock_set_sndhwm (sock, hwm);
        zsock_set_rcvhwm (sock, hwm);
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
    if (options->zap_domain)
        zsock_set_zap_domain (sock, options->zap_domain);
    if (options->heartbeat_ms)
        sock_set_heartbeat (zsock_resolve (sock), options->heartbeat_ms, options->heartbeat_watch);
    return sock;
}

int
sock_attach (zsock_t *sock, const char *endpoint, bool bind, const char *what)
{
    int rc = bind ? zsock_bind (sock, "%s", endpoint) : zsock_connect (sock, "%s", endpoint);
    if (rc == -1) {
        log_error ("cannot %s %s to %s: %s", bind ? "bind" : "connect", what, endpoint,
                   zmq_strerror (zmq_errno ()));
        return -1;
    }
    log_debug ("%s %s %s", what, bind ? "bound to" : "connecting to", endpoint);
    return 0;
}

zsock_t *
sock_new (int type, const char *endpoint, bool bind, const sock_options_t *options,
          const char *what)
{
    zsock_t *sock = sock_open (type, options, what);
    if (sock && sock_attach (sock, endpoint, bind, what))
        zsock_destroy (&sock);
    return sock;
}

//  zcert_load, with czmq's complaint about a malformed file (which it
//  prints on stdout, the story's stream) sent to stderr instead.
static zcert_t *
s_cert_load (const char *path)
{
    fflush (stdout);
    int saved = dup (STDOUT_FILENO);
    if (saved != -1)
        dup2 (STDERR_FILENO, STDOUT_FILENO);
    zcert_t *cert = zcert_load (path);
    fflush (stdout);
    if (saved != -1) {
        dup2 (saved, STDOUT_FILENO);
        close (saved);
    }
    return cert;
}

int
sock_curve_load (const config_t *cfg, bool server, sock_curve_t *curve)
{
    memset (curve, 0, sizeof *curve);
    curve->server = server;
    if (!server && *cfg->curve_server_key) {
        zcert_t *hub = s_cert_load (cfg->curve_server_key);
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
        curve->cert = s_cert_load (cfg->curve_secret);
        if (!curve->cert
            || streq (zcert_secret_txt (curve->cert), "0000000000000000000000000000000000000000")) {
            log_error ("cannot read a secret key from %s", cfg->curve_secret);
            zcert_destroy (&curve->cert);
            return -1;
        }
        //  stats with the hub's own key pair and no server key: the hub's
        //  health check, asking the hub that holds this key pair.
        if (!server && !*cfg->curve_server_key)
            snprintf (curve->server_key, sizeof curve->server_key, "%s",
                      zcert_public_txt (curve->cert));
    }
    //  czmq would take a folder that is not there as an empty one, and
    //  let nobody in without a word.
    const char *lists[] = {cfg->curve_allow,           cfg->curve_allow_publish,
                           cfg->curve_allow_subscribe, cfg->curve_allow_control,
                           cfg->curve_allow_terminate, cfg->curve_allow_federation};
    for (size_t index = 0; server && index < sizeof lists / sizeof lists[0]; index++)
        if (*lists[index] && !zsys_file_exists (lists[index])) {
            log_error ("cannot read the folder of allowed keys %s", lists[index]);
            zcert_destroy (&curve->cert);
            return -1;
        }
    return 0;
}

int
sock_curve_upstream (const sock_curve_t *own, const char *key_file, sock_curve_t *upstream)
{
    memset (upstream, 0, sizeof *upstream);
    zcert_t *hub = s_cert_load (key_file);
    if (!hub) {
        log_error ("cannot read the upstream hub's public key from %s", key_file);
        return -1;
    }
    snprintf (upstream->server_key, sizeof upstream->server_key, "%s", zcert_public_txt (hub));
    zcert_destroy (&hub);
    upstream->cert = zcert_dup (own->cert);
    return upstream->cert ? 0 : -1;
}

void
sock_curve_destroy (sock_curve_t *curve)
{
    zcert_destroy (&curve->cert);
}

int64_t
sock_hwm (uint64_t hwm)
{
    return hwm ? (int64_t) hwm : SOCK_HWM_NONE;
}
