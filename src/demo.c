/*  demo.c - role: the demo that `make run` runs.

    Forks and execs this binary once per role: the hub, the subscribers
    Subscriber0 ... SubscriberN-1 (each with a random ready delay and a
    random max-messages; some read until TERMINATE) and a publisher that
    waits until the hub counts all N. It supervises them, stops the hub once
    the others are done, and reaps every child.

    This process never touches ZeroMQ or czmq: a context (even czmq's
    logging makes one) must not be shared across fork. Each child makes its
    own after exec. */

#include "herald.h"
#include "log.h"
#include "roles.h"
#include "signals.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARGS_MAX  24
#define VALUE_MAX 32

typedef struct {
    char name[32];
    char *argv[ARGS_MAX];
    char values[ARGS_MAX][CONFIG_TEXT_MAX];  //  storage behind argv
    int argc;
    pid_t pid;   //  0 once reaped
    int status;  //  from waitpid
} child_t;

typedef struct {
    const config_t *cfg;
    char exe[CONFIG_TEXT_MAX];
    sigset_t blocked, original;
    child_t *children;  //  [0] hub, [1..N] subscribers, [N+1] publisher
    size_t count;
    size_t running;
} demo_t;

//  splitmix64: a small, well-mixed generator, so that the same --seed
//  gives the same choices on every machine.
static uint64_t
s_random (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void s_arg (child_t *child, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_arg (child_t *child, const char *format, ...)
{
    assert (child->argc < ARGS_MAX - 1);
    va_list args;
    va_start (args, format);
    vsnprintf (child->values[child->argc], CONFIG_TEXT_MAX, format, args);
    va_end (args);
    child->argv[child->argc] = child->values[child->argc];
    child->argv[++child->argc] = NULL;
}

//  Describe how a child ended, for the log.
static void
s_describe (int status, char *text, size_t size)
{
    if (WIFSIGNALED (status))
        snprintf (text, size, "killed by signal %d", WTERMSIG (status));
    else
        snprintf (text, size, "exited with %d", WEXITSTATUS (status));
}

static bool
s_failed (int status)
{
    return !WIFEXITED (status) || WEXITSTATUS (status) != 0;
}

//  Fork and exec one child. Between fork and exec only async-signal-safe
//  calls are made. The child dies with us if we die first.
static int
s_start (demo_t *self, child_t *child)
{
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == -1) {
        log_error ("cannot fork %s: %s", child->name, strerror (errno));
        return -1;
    }
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        if (getppid () != parent)
            _exit (HERALD_EXIT_OSERR);
        sigprocmask (SIG_SETMASK, &self->original, NULL);
        execv (self->exe, child->argv);
        static const char message[] = "herald demo: exec failed\n";
        ssize_t written = write (STDERR_FILENO, message, sizeof message - 1);
        (void) written;
        _exit (HERALD_EXIT_OSERR);
    }
    child->pid = pid;
    self->running++;
    log_debug ("started %s as pid %d", child->name, (int) pid);
    return 0;
}

static void
s_signal_all (demo_t *self, int signal_number)
{
    for (size_t index = 0; index < self->count; index++)
        if (self->children[index].pid)
            kill (self->children[index].pid, signal_number);
}

//  Reap every child that has ended; return the first that failed, if any.
static child_t *
s_reap (demo_t *self)
{
    child_t *failed = NULL;
    int status;
    pid_t pid;
    while ((pid = waitpid (-1, &status, WNOHANG)) > 0) {
        for (size_t index = 0; index < self->count; index++) {
            child_t *child = &self->children[index];
            if (child->pid != pid)
                continue;
            child->pid = 0;
            child->status = status;
            self->running--;
            char how[64];
            s_describe (status, how, sizeof how);
            log_debug ("%s %s", child->name, how);
            if (s_failed (status) && !failed)
                failed = child;
        }
    }
    return failed;
}

//  Wait for SIGCHLD, SIGINT or SIGTERM, at most timeout_ms (-1: no limit).
//  Returns the signal, or 0 on timeout.
static int
s_wait_signal (demo_t *self, long timeout_ms)
{
    if (herald_signal)  //  arrived before the signals were blocked
        return herald_signal;
    struct timespec timeout = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
    int signal_number = sigtimedwait (&self->blocked, NULL, timeout_ms < 0 ? NULL : &timeout);
    if (signal_number == SIGINT || signal_number == SIGTERM)
        herald_signal = signal_number;
    return signal_number == -1 ? 0 : signal_number;
}

//  Ask every running child to stop; kill those still running after
//  HERALD_DEMO_KILL_AFTER_MS; reap them all.
static void
s_stop_all (demo_t *self)
{
    s_signal_all (self, SIGTERM);
    struct timespec start, now;
    clock_gettime (CLOCK_MONOTONIC, &start);
    while (self->running) {
        clock_gettime (CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= HERALD_DEMO_KILL_AFTER_MS) {
            log_warn ("killing %zu children that did not stop", self->running);
            s_signal_all (self, SIGKILL);
            while (self->running && waitpid (-1, NULL, 0) > 0)
                s_reap (self);  //  nothing left to report
            break;
        }
        s_wait_signal (self, HERALD_DEMO_KILL_AFTER_MS - elapsed);
        s_reap (self);
    }
}

//  Prepare each child's command line from the settings and the seed.
static int
s_plan (demo_t *self, uint64_t seed)
{
    const config_t *cfg = self->cfg;
    char frontend[CONFIG_TEXT_MAX], backend[CONFIG_TEXT_MAX], control[CONFIG_TEXT_MAX];
    if (config_connect_endpoint (cfg->frontend, frontend, sizeof frontend)
        || config_connect_endpoint (cfg->backend, backend, sizeof backend)
        || config_connect_endpoint (cfg->control, control, sizeof control))
        return -1;
    const char *verbose = cfg->verbose ? "--verbose" : "--no-verbose";
    child_t *hub = &self->children[0];
    snprintf (hub->name, sizeof hub->name, "hub");
    s_arg (hub, "herald");
    s_arg (hub, "hub");
    s_arg (hub, "--frontend=%s", cfg->frontend);
    s_arg (hub, "--backend=%s", cfg->backend);
    s_arg (hub, "--control=%s", cfg->control);
    s_arg (hub, "%s", verbose);

    uint64_t state = seed;
    for (size_t index = 0; index < cfg->subscribers; index++) {
        child_t *sub = &self->children[1 + index];
        snprintf (sub->name, sizeof sub->name, "Subscriber%zu", index);
        //  One in three reads until TERMINATE; the others stop after 1 to
        //  events + 1 messages (events + 1 takes TERMINATE as the last).
        uint64_t max_messages =
            s_random (&state) % 3 == 0 ? 0 : 1 + s_random (&state) % (cfg->events + 1);
        uint64_t ready_delay = s_random (&state) % (HERALD_DEMO_MAX_READY_MS + 1);
        s_arg (sub, "herald");
        s_arg (sub, "sub");
        s_arg (sub, "--backend=%s", backend);
        s_arg (sub, "--control=%s", control);
        s_arg (sub, "--name=%s", sub->name);
        s_arg (sub, "--max-messages=%" PRIu64, max_messages);
        s_arg (sub, "--ready-delay=%" PRIu64, ready_delay);
        s_arg (sub, "%s", verbose);
        log_debug ("%s: ready after %" PRIu64 " ms, max-messages %" PRIu64, sub->name, ready_delay,
                   max_messages);
    }
    child_t *pub = &self->children[self->count - 1];
    snprintf (pub->name, sizeof pub->name, "publisher");
    s_arg (pub, "herald");
    s_arg (pub, "pub");
    s_arg (pub, "--frontend=%s", frontend);
    s_arg (pub, "--control=%s", control);
    s_arg (pub, "--events=%" PRIu64, cfg->events);
    s_arg (pub, "--interval=%" PRIu64, cfg->interval_ms);
    s_arg (pub, "--wait-subscribers=%" PRIu64, cfg->subscribers);
    s_arg (pub, "%s", verbose);
    return 0;
}

//  Run the story: start everyone, wait until publisher and subscribers are
//  done, then stop the hub. Returns the exit code.
static int
s_run (demo_t *self)
{
    for (size_t index = 0; index < self->count; index++)
        if (s_start (self, &self->children[index])) {
            s_stop_all (self);
            return HERALD_EXIT_OSERR;
        }
    child_t *hub = &self->children[0];
    while (self->running > (hub->pid ? 1u : 0u) && !herald_signal) {
        s_wait_signal (self, -1);
        child_t *failed = s_reap (self);
        if (!failed && !hub->pid && self->running) {
            failed = hub;  //  the hub must outlive the others
        }
        if (failed) {
            char how[64];
            s_describe (failed->status, how, sizeof how);
            log_error ("lost child: %s %s", failed->name, how);
            s_stop_all (self);
            return HERALD_EXIT_SOFTWARE;
        }
    }
    if (herald_signal) {
        log_info ("stopping all children on signal %d", (int) herald_signal);
        s_stop_all (self);
        return herald_signal_exit_code ();
    }
    //  Everyone else is done: the hub's work is over.
    s_stop_all (self);
    if (s_failed (hub->status)) {
        char how[64];
        s_describe (hub->status, how, sizeof how);
        log_error ("lost child: hub %s", how);
        return HERALD_EXIT_SOFTWARE;
    }
    return HERALD_EXIT_OK;
}

int
demo_main (const config_t *cfg)
{
    demo_t self = {.cfg = cfg, .count = cfg->subscribers + 2};
    ssize_t size = readlink ("/proc/self/exe", self.exe, sizeof self.exe - 1);
    if (size > 0)
        self.exe[size] = 0;
    else
        snprintf (self.exe, sizeof self.exe, "%s", cfg->program);
    self.children = calloc (self.count, sizeof (child_t));
    if (!self.children) {
        log_error ("out of memory");
        return HERALD_EXIT_OSERR;
    }
    uint64_t seed =
        cfg->seed_given ? cfg->seed : (uint64_t) time (NULL) ^ (uint64_t) getpid () << 32;
    log_info ("%" PRIu64 " subscribers, %" PRIu64 " events, seed %" PRIu64, cfg->subscribers,
              cfg->events, seed);
    int rc = HERALD_EXIT_USAGE;
    if (s_plan (&self, seed) == 0) {
        //  Signals are taken synchronously with sigtimedwait from here on.
        sigemptyset (&self.blocked);
        sigaddset (&self.blocked, SIGCHLD);
        sigaddset (&self.blocked, SIGINT);
        sigaddset (&self.blocked, SIGTERM);
        sigprocmask (SIG_BLOCK, &self.blocked, &self.original);
        rc = s_run (&self);
        sigprocmask (SIG_SETMASK, &self.original, NULL);
    } else
        log_error ("an endpoint is too long");
    free (self.children);
    return rc;
}
