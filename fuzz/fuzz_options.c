/*  fuzz_options.c - command lines and environment values.

    The input is cut into arguments at each zero byte; the first byte picks
    the role, from herald's role table or one that is not there. A HERALD_EVENTS value from the
   input is tried too. config_load must accept or refuse each with one line, never crash. */

#include "config.h"
#include "roles.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    size_t count = 0;
    while (roles[count].name)
        count++;
    if (size == 0)
        return 0;
    char *text = malloc (size + 1);
    memcpy (text, data + 1, size - 1);
    text[size - 1] = 0;
    size_t pick = data[0] % (count + 1);
    char *argv[34] = {"herald", (char *) (pick < count ? roles[pick].name : "other")};
    int argc = 2;
    for (char *arg = text; arg < text + size - 1 && argc < 33; arg += strlen (arg) + 1)
        argv[argc++] = arg;
    argv[argc] = NULL;
    setenv ("HERALD_EVENTS", argc > 2 ? argv[argc - 1] : "", 1);

    config_t cfg;
    char error[256];
    config_result_t result = config_load (&cfg, argc, argv, error, sizeof error);
    if (result == CONFIG_BAD && (!memchr (error, 0, sizeof error) || strchr (error, '\n')))
        __builtin_trap ();
    if (result == CONFIG_RUN && cfg.role == ROLE_DEMO && cfg.events == 0)
        __builtin_trap ();
    unsetenv ("HERALD_EVENTS");
    free (text);
    return 0;
}
