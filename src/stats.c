/*  stats.c - role: ask the hub's control endpoint.

    Without --topic, prints the hub's counters as one JSON object. With
    --topic, prints that topic's subscriber count; with --expect N as well,
    first waits until the count equals N (exit 69 at --wait-timeout). */

#include "client.h"
#include "herald.h"
#include "log.h"
#include "roles.h"

#include <czmq.h>
#include <inttypes.h>

//  Ask what the settings say; print the answer. Returns 0, or -1 (logged).
static int
s_ask (const config_t *cfg, client_t *client)
{
    uint64_t count;
    if (cfg->expect_given) {
        int rc = client_wait (client, cfg->topic, cfg->expect, cfg->expect, &count);
        if (rc == 1)
            log_error ("'%s' has %" PRIu64 " subscribers, not %" PRIu64 ", after %" PRIu64 " ms",
                       cfg->topic, count, cfg->expect, cfg->wait_timeout_ms);
        if (rc)
            return -1;
    } else if (cfg->topic_given) {
        if (client_count (client, cfg->topic, &count))
            return -1;
    } else {
        char *json;
        if (client_stats (client, &json))
            return -1;
        printf ("%s\n", json);
        zstr_free (&json);
        return 0;
    }
    printf ("%" PRIu64 "\n", count);
    return 0;
}

int
stats_main (const config_t *cfg)
{
    sock_curve_t curve;
    if (sock_curve_load (cfg, false, &curve))
        return HERALD_EXIT_CONFIG;
    client_t *client = client_new (cfg->control, &curve, cfg->wait_timeout_ms);
    int rc = client && s_ask (cfg, client) == 0 ? HERALD_EXIT_OK : client_exit_code (client);
    client_destroy (&client);
    sock_curve_destroy (&curve);
    return rc;
}
