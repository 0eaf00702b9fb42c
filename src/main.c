/*  main.c - herald's only main(): parse the role and its options, set up
    streams and signals, dispatch to the role, return its exit code. */

#include "config.h"
#include "herald.h"
#include "log.h"
#include "roles.h"
#include "signals.h"

#include <czmq.h>
#include <stdio.h>

int
main (int argc, char *argv[])
{
    config_t cfg;
    char error[256];
    config_result_t result = config_load (&cfg, argc, argv, error, sizeof error);
    if (result == CONFIG_HELP) {
        config_print_help (stdout, cfg.role);
        return HERALD_EXIT_OK;
    }
    if (result == CONFIG_VERSION) {
        printf ("herald %s (libzmq %d.%d.%d)\n", HERALD_VERSION, ZMQ_VERSION_MAJOR,
                ZMQ_VERSION_MINOR, ZMQ_VERSION_PATCH);
        return HERALD_EXIT_OK;
    }
    if (result == CONFIG_BAD) {
        fprintf (stderr, "%s\n", error);
        return HERALD_EXIT_USAGE;
    }
    const role_info_t *role = roles_of (cfg.role);
    //  The story goes to stdout a line at a time, so that the lines of
    //  several processes sharing it interleave in the order they happen.
    setvbuf (stdout, NULL, _IOLBF, 0);
    log_init (role->name, cfg.verbose);
    herald_catch_signals ();
    //  czmq would install its own SIGINT/SIGTERM handlers; ours decide. A
    //  role that forks must not touch czmq at all.
    if (role->zeromq)
        zsys_handler_set (NULL);
    return role->main (&cfg);
}
