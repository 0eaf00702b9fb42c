/*  zap.c - the hub's ZAP handler; see zap.h.

    A REP socket on inproc://zeromq.zap.01, in the hub's own thread: the
    hub polls it with its other sockets, so a token's position is read in
    the same thread that reads the monitor. Requests and replies follow
    RFC 27: version, request id, domain, address, routing id, mechanism,
    credentials; and version, request id, status code, status text, user
    id, metadata. */

#include "zap.h"
#include "herald.h"
#include "log.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"

static const char *const s_domains[ZAP_PORTS] = {"herald-frontend", "herald-backend",
                                                 "herald-control", "herald-federation"};
static const char *const s_names[ZAP_PORTS] = {"frontend", "backend", "control port",
                                               "federation port"};

struct _zap_t {
    zsock_t *handler;
    bool curve;
    zcertstore_t *everywhere;        //  --curve-allow
    zcertstore_t *ports[ZAP_PORTS];  //  --curve-allow-publish, -subscribe, -control, -federation
    zcertstore_t *terminate;         //  --curve-allow-terminate
    zap_position_fn *position[ZAP_PORTS];
    void *argument[ZAP_PORTS];
    char own_key[41];  //  the hub's public key: its holder may always ask
    uint64_t serial;
    uint64_t refused[ZAP_PORTS];
    int64_t refusal_logged;  //  when a refusal was last logged
};

const char *
zap_domain (zap_port_t port)
{
    return s_domains[port];
}

//  A number and its separator; NULL if there is none.
static const char *
s_number (const char *text, char separator, uint64_t *number)
{
    *number = 0;
    const char *start = text;
    for (; *text >= '0' && *text <= '9'; text++)
        *number = *number * 10 + (uint64_t) (*text - '0');
    return text > start && *text == separator ? text + 1 : NULL;
}

int
zap_token_of (zmq_msg_t *message, zap_token_t *token)
{
    //  A connection's messages come in runs: keep the last token parsed.
    static _Thread_local char last[64];
    static _Thread_local zap_token_t parsed;
    const char *user_id = zmq_msg_gets (message, "User-Id");
    if (!user_id)
        return -1;
    if (!streq (user_id, last)) {
        const char *rest = s_number (user_id, '/', &parsed.serial);
        rest = rest ? s_number (rest, '/', &parsed.position) : NULL;
        if (!rest || (rest[0] != 't' && rest[0] != '-') || rest[1]
            || strlen (user_id) >= sizeof last)
            return -1;
        parsed.may_terminate = rest[0] == 't';
        strcpy (last, user_id);
    }
    *token = parsed;
    return 0;
}

//  A folder of public key files (sock_curve_load has checked it is
//  there), or NULL for none (path empty).
static int
s_store (const char *path, zcertstore_t **store)
{
    *store = *path ? zcertstore_new (path) : NULL;
    if (*path && !*store)
        log_error ("cannot read the folder of allowed keys %s", path);
    return *path && !*store ? -1 : 0;
}

zap_t *
zap_new (const config_t *cfg, const char *own_key)
{
    zap_t *self = calloc (1, sizeof (zap_t));
    if (!self) {
        log_error ("out of memory");
        return NULL;
    }
    self->curve = own_key != NULL;
    snprintf (self->own_key, sizeof self->own_key, "%s", own_key ? own_key : "");
    if (s_store (cfg->curve_allow, &self->everywhere)
        || s_store (cfg->curve_allow_publish, &self->ports[ZAP_FRONTEND])
        || s_store (cfg->curve_allow_subscribe, &self->ports[ZAP_BACKEND])
        || s_store (cfg->curve_allow_control, &self->ports[ZAP_CONTROL])
        || s_store (cfg->curve_allow_federation, &self->ports[ZAP_FEDERATION])
        || s_store (cfg->curve_allow_terminate, &self->terminate)) {
        zap_destroy (&self);
        return NULL;
    }
    self->handler = zsock_new (ZMQ_REP);
    if (!self->handler || zsock_bind (self->handler, ZAP_ENDPOINT) == -1) {
        log_error ("cannot start the handshake handler: %s", zmq_strerror (zmq_errno ()));
        zap_destroy (&self);
        return NULL;
    }
    return self;
}

void
zap_destroy (zap_t **self_p)
{
    zap_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->handler);
    zcertstore_destroy (&self->everywhere);
    for (int port = 0; port < ZAP_PORTS; port++)
        zcertstore_destroy (&self->ports[port]);
    zcertstore_destroy (&self->terminate);
    free (self);
    *self_p = NULL;
}

void
zap_set_position (zap_t *self, zap_port_t port, zap_position_fn *position, void *argument)
{
    self->position[port] = position;
    self->argument[port] = argument;
}

void *
zap_handle (zap_t *self)
{
    return zsock_resolve (self->handler);
}

uint64_t
zap_refused (zap_t *self, zap_port_t port)
{
    return self->refused[port];
}

uint64_t
zap_last_serial (zap_t *self)
{
    return self->serial;
}

static bool
s_listed (zcertstore_t *store, const char *key)
{
    return store && zcertstore_lookup (store, key);
}

//  May this CURVE key (Z85) connect on port?
static bool
s_allowed (zap_t *self, zap_port_t port, const char *key)
{
    if (!self->everywhere && !self->ports[port])
        return true;
    if (port == ZAP_CONTROL && streq (key, self->own_key))
        return true;
    return s_listed (self->everywhere, key) || s_listed (self->ports[port], key);
}

//  One refusal: logged at once, then at most once a minute.
static void
s_refuse (zap_t *self, zap_port_t port, const char *key)
{
    self->refused[port]++;
    int64_t now = zclock_mono ();
    if (self->refusal_logged && now - self->refusal_logged < HERALD_ACCEPT_LOG_MS)
        return;
    self->refusal_logged = now;
    log_info ("refused CURVE key %s on the %s: not in its allowed keys (%llu refused there so "
              "far; logged at most once a minute)",
              key, s_names[port], (unsigned long long) self->refused[port]);
}

static void
s_answer (zap_t *self, zmsg_t *request)
{
    char *version = zmsg_popstr (request);
    zframe_t *id = zmsg_pop (request);
    char *domain = zmsg_popstr (request);
    free (zmsg_popstr (request));  //  address
    free (zmsg_popstr (request));  //  routing id
    char *mechanism = zmsg_popstr (request);
    zframe_t *credentials = zmsg_pop (request);
    int port = 0;
    while (port < ZAP_PORTS && !(domain && streq (domain, s_domains[port])))
        port++;
    const char *status = "200", *text = "OK";
    char key[41] = "";
    bool may_terminate = true;
    if (port == ZAP_PORTS) {
        status = "400";
        text = "unknown domain";
    } else if (self->curve) {
        if (!mechanism || !streq (mechanism, "CURVE") || !credentials
            || zframe_size (credentials) != 32) {
            status = "400";
            text = "CURVE only";
        } else {
            zmq_z85_encode (key, zframe_data (credentials), 32);
            if (!s_allowed (self, (zap_port_t) port, key)) {
                s_refuse (self, (zap_port_t) port, key);
                status = "400";
                text = "key not allowed on this port";
            } else if (port == ZAP_FRONTEND && self->terminate)
                may_terminate = s_listed (self->terminate, key);
        }
    }
    char user_id[64] = "";
    if (streq (status, "200")) {
        uint64_t position = self->position[port] ? self->position[port](self->argument[port]) : 0;
        snprintf (user_id, sizeof user_id, "%" PRIu64 "/%" PRIu64 "/%c", ++self->serial, position,
                  may_terminate ? 't' : '-');
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, version && streq (version, "1.0") ? version : "1.0");
    if (id)
        zmsg_append (reply, &id);
    else
        zmsg_addstr (reply, "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, user_id);
    zmsg_addmem (reply, NULL, 0);
    zmsg_send (&reply, self->handler);
    zframe_destroy (&credentials);
    free (version);
    free (domain);
    free (mechanism);
}

void
zap_read (zap_t *self)
{
    for (int count = 0; count < HERALD_FORWARD_BATCH && (zsock_events (self->handler) & ZMQ_POLLIN);
         count++) {
        zmsg_t *request = zmsg_recv (self->handler);
        if (!request)
            break;
        s_answer (self, request);
        zmsg_destroy (&request);
    }
}

//  --------------------------------------------------------------------------
//  Self test

static uint64_t
s_test_position (void *argument)
{
    return *(uint64_t *) argument;
}

void
zap_test (bool verbose)
{
    (void) verbose;
    config_t cfg = {0};
    zap_t *zap = zap_new (&cfg, NULL);
    assert (zap);
    uint64_t position = 41;
    zap_set_position (zap, ZAP_BACKEND, s_test_position, &position);
    //  A connection on a socket with the backend's domain gets a token,
    //  and each of its messages carries it.
    zsock_t *server = zsock_new (ZMQ_PULL);
    zsock_set_zap_domain (server, zap_domain (ZAP_BACKEND));
    assert (zsock_bind (server, "tcp://127.0.0.1:*") > 0);
    zsock_t *client = zsock_new (ZMQ_PUSH);
    assert (zsock_connect (client, "%s", zsock_endpoint (server)) == 0);
    zpoller_t *poller = zpoller_new (zap_handle (zap), server, NULL);
    zstr_send (client, "hello");
    zmq_msg_t message;
    zmq_msg_init (&message);
    while (true) {
        void *ready = zpoller_wait (poller, 5000);
        assert (ready);
        if (ready == zap_handle (zap))
            zap_read (zap);
        else {
            assert (zmq_msg_recv (&message, zsock_resolve (server), 0) == 5);
            break;
        }
    }
    zap_token_t token;
    assert (zap_token_of (&message, &token) == 0);
    assert (token.serial == 1 && token.position == 41 && token.may_terminate);
    zmq_msg_close (&message);
    //  A message of no connection has no token.
    zmq_msg_init_size (&message, 1);
    assert (zap_token_of (&message, &token) == -1);
    zmq_msg_close (&message);
    zpoller_destroy (&poller);
    zsock_destroy (&client);
    zsock_destroy (&server);
    zap_destroy (&zap);
    zap_destroy (&zap);
    assert (zap == NULL);
}
