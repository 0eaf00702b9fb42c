/*  roles.c - the one table of herald's roles; see roles.h. */

#include "roles.h"

#include <stdio.h>
#include <string.h>

const role_info_t roles[] = {
    {"hub", ROLE_HUB, "forward events from publishers to subscribers, counting subscribers",
     hub_main, true},
    {"pub", ROLE_PUB, "publish events, saying how many subscribers each one has", publisher_main,
     true},
    {"sub", ROLE_SUB, "subscribe, read events and tell the story", subscriber_main, true},
    {"demo", ROLE_DEMO, "run hub, subscribers and publisher as child processes", demo_main, false},
    {"stats", ROLE_STATS, "print the hub's counters as JSON, or one topic's count", stats_main,
     true},
    {"keygen", ROLE_KEYGEN, "write a CURVE key pair in czmq's certificate format", keygen_main,
     true},
    {NULL, ROLE_NONE, NULL, NULL, false},
};

const role_info_t *
roles_find (const char *name)
{
    for (const role_info_t *role = roles; role->name; role++)
        if (strcmp (role->name, name) == 0)
            return role;
    return NULL;
}

const role_info_t *
roles_of (role_t bit)
{
    for (const role_info_t *role = roles; role->name; role++)
        if (role->role == bit)
            return role;
    return NULL;
}

void
roles_list (char *out, size_t size, unsigned mask)
{
    size_t total = 0, listed = 0, used = 0;
    for (const role_info_t *role = roles; role->name; role++)
        total += (role->role & mask) != 0;
    *out = 0;
    for (const role_info_t *role = roles; role->name && used < size; role++) {
        if (!(role->role & mask))
            continue;
        const char *glue = listed == 0 ? "" : listed + 1 == total ? " or " : ", ";
        used += (size_t) snprintf (out + used, size - used, "%s%s", glue, role->name);
        listed++;
    }
}
