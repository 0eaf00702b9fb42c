/*  stats.c - role: ask the hub's control endpoint.

    Without --topic, prints the hub's counters as one JSON object. With
    --topic, prints that topic's subscriber count; with --expect N as well,
    first waits until the count equals N (exit 69 at --wait-timeout). */

#include "herald.h"
#include "log.h"
#include "roles.h"
#include "sock.h"

#include <czmq.h>
#include <inttypes.h>

int
stats_main (const config_t *cfg)
{
    sock_curve_t curve;
    if (sock_curve_load (cfg, false, &curve))
        return HERALD_EXIT_CONFIG;
    zsock_t *client = sock_new (ZMQ_REQ, cfg->control, false, &(sock_options_t){.curve = &curve},
                                "control client");
    if (!client) {
        sock_curve_destroy (&curve);
        return HERALD_EXIT_UNAVAILABLE;
    }
    char expect[24], timeout[24];
    snprintf (expect, sizeof expect, "%" PRIu64, cfg->expect);
    snprintf (timeout, sizeof timeout, "%" PRIu64, cfg->wait_timeout_ms);
    zmsg_t *reply;
    if (cfg->expect_given)
        reply = sock_call (client, cfg->control,
                           (int64_t) cfg->wait_timeout_ms + HERALD_CONTROL_TIMEOUT_MS, 0, NULL,
                           NULL, "WAIT", cfg->topic, expect, expect, timeout, NULL);
    else if (cfg->topic_given)
        reply = sock_call (client, cfg->control, (int64_t) cfg->wait_timeout_ms, 0, NULL, NULL,
                           "COUNT", cfg->topic, NULL);
    else
        reply = sock_call (client, cfg->control, (int64_t) cfg->wait_timeout_ms, 0, NULL, NULL,
                           "STATS", NULL);
    int rc = HERALD_EXIT_UNAVAILABLE;
    if (reply) {
        char *status = zmsg_popstr (reply);
        char *value = zmsg_popstr (reply);
        if (status && value && streq (status, "OK")) {
            printf ("%s\n", value);
            rc = HERALD_EXIT_OK;
        } else if (status && value && streq (status, "TIMEOUT"))
            log_error ("'%s' has %s subscribers, not %s, after %s ms", cfg->topic, value, expect,
                       timeout);
        else
            log_error ("the hub answered %s %s", status ? status : "nothing", value ? value : "");
        zstr_free (&status);
        zstr_free (&value);
        zmsg_destroy (&reply);
    } else if (herald_signal)
        rc = herald_signal_exit_code ();
    zsock_destroy (&client);
    sock_curve_destroy (&curve);
    return rc;
}
