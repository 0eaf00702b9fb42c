/*  roles.h - herald's process roles: one table drives parsing, help and
    dispatch, one file per role holds its entry point.

    A role gets validated settings and returns the process's exit code. */

#ifndef HERALD_ROLES_H_INCLUDED
#define HERALD_ROLES_H_INCLUDED

#include "config.h"

typedef struct {
    const char *name;     //  the command: herald NAME
    role_t role;          //  its bit, for the options it takes
    const char *purpose;  //  one line, for help
    int (*main) (const config_t *cfg);
    bool zeromq;  //  false: the role forks, and must never touch ZeroMQ
} role_info_t;

//  Every role, in the order help lists them; ends with a NULL name.
extern const role_info_t roles[];

//  The role called name, or NULL.
const role_info_t *roles_find (const char *name);

//  The role with this bit, or NULL.
const role_info_t *roles_of (role_t role);

//  Write the roles' names joined by ", " and a final " or " into out.
void roles_list (char *out, size_t size, unsigned mask);

//  hub.c: forward events from publishers to subscribers, count subscribers,
//  answer control requests.
int hub_main (const config_t *cfg);

//  publisher.c: prove the path to the hub, wait for subscribers, publish.
int publisher_main (const config_t *cfg);

//  subscriber.c: subscribe, prove the hub counts us, read, tell the story.
int subscriber_main (const config_t *cfg);

//  stats.c: print the hub's counters, or wait for a topic's count.
int stats_main (const config_t *cfg);

//  keygen.c: write a CURVE key pair.
int keygen_main (const config_t *cfg);

//  demo.c: fork and exec the other roles (cfg->program is this binary),
//  supervise them, reap them. Never touches ZeroMQ.
int demo_main (const config_t *cfg);

#endif
