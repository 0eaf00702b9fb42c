/*  inject.c - libherald_inject.so, a test tool: loaded with LD_PRELOAD, it
    makes one call fail that nothing outside a process can make fail, so
    that the exit codes of internal and system errors can be tested.

      INJECT_FAIL=zmq_poll   every zmq_poll fails (EFAULT)
      INJECT_FAIL=fork       every fork fails (EAGAIN)
    Any other value, or none: every call goes through. */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static int
s_fails (const char *name)
{
    const char *chosen = getenv ("INJECT_FAIL");
    return chosen && strcmp (chosen, name) == 0;
}

int
zmq_poll (zmq_pollitem_t *items, int count, long timeout)
{
    if (s_fails ("zmq_poll")) {
        errno = EFAULT;
        return -1;
    }
    int (*real) (zmq_pollitem_t *, int, long) =
        (int (*) (zmq_pollitem_t *, int, long)) dlsym (RTLD_NEXT, "zmq_poll");
    return real (items, count, timeout);
}

pid_t
fork (void)
{
    if (s_fails ("fork")) {
        errno = EAGAIN;
        return -1;
    }
    pid_t (*real) (void) = (pid_t (*) (void)) dlsym (RTLD_NEXT, "fork");
    return real ();
}
