/*  selftest.c - runs the modules' self tests, czmq style.

    usage: herald_selftest [-v] [MODULE ...]   (no module: all of them) */

#include "client.h"
#include "config.h"
#include "control.h"
#include "fedtable.h"
#include "herald.h"
#include "monitor.h"
#include "peers.h"
#include "pubids.h"
#include "subtable.h"
#include "text.h"
#include "topics.h"
#include "wire.h"
#include "zap.h"

#include <stdio.h>

static const struct {
    const char *name;
    void (*test) (bool verbose);
} s_tests[] = {
    {"text", text_test},         {"wire", wire_test},       {"subtable", subtable_test},
    {"fedtable", fedtable_test}, {"topics", topics_test},   {"config", config_test},
    {"monitor", monitor_test},   {"peers", peers_test},     {"pubids", pubids_test},
    {"zap", zap_test},           {"control", control_test}, {"client", client_test},
};

int
main (int argc, char *argv[])
{
    bool verbose = argc > 1 && streq (argv[1], "-v");
    int first = verbose ? 2 : 1;
    size_t total = sizeof s_tests / sizeof s_tests[0];
    int ran = 0;
    for (size_t index = 0; index < total; index++) {
        bool wanted = first >= argc;
        for (int arg = first; arg < argc; arg++)
            wanted |= streq (argv[arg], s_tests[index].name);
        if (!wanted)
            continue;
        printf (" * %s: ", s_tests[index].name);
        fflush (stdout);
        s_tests[index].test (verbose);
        printf ("OK\n");
        ran++;
    }
    if (ran != argc - first && first < argc) {
        fprintf (stderr, "herald_selftest: unknown module\n");
        return HERALD_EXIT_USAGE;
    }
    return ran ? 0 : HERALD_EXIT_USAGE;
}
