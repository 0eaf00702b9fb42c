/*  roles.h - each process role's entry point: one file per role.

    A role gets validated settings and returns the process's exit code. */

#ifndef HERALD_ROLES_H_INCLUDED
#define HERALD_ROLES_H_INCLUDED

#include "config.h"

//  hub.c: forward events from publishers to subscribers, count subscribers,
//  answer control requests.
int hub_main (const config_t *cfg);

//  publisher.c: prove the path to the hub, wait for subscribers, publish.
int publisher_main (const config_t *cfg);

//  subscriber.c: subscribe, read, tell the story, leave.
int subscriber_main (const config_t *cfg);

//  stats.c: print the hub's counters, or wait for a topic's count.
int stats_main (const config_t *cfg);

//  keygen.c: write a CURVE key pair.
int keygen_main (const config_t *cfg);

//  demo.c: fork and exec the other roles, supervise them, reap them. Never
//  touches ZeroMQ. argv0 is how this binary was started.
int demo_main (const config_t *cfg, const char *argv0);

#endif
