/*  bench_util.c - the sink that counts deliveries, and the helpers that
    start, watch and stop server processes; see bench.h. */

#include "bench.h"
#include "wire.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

int64_t
bench_now_ns (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
}

static int
s_compare_i64 (const void *left, const void *right)
{
    int64_t a = *(const int64_t *) left, b = *(const int64_t *) right;
    return (a > b) - (a < b);
}

void
bench_sort_ns (int64_t *values, size_t count)
{
    qsort (values, count, sizeof *values, s_compare_i64);
}

double
bench_percentile_us (const int64_t *sorted, size_t count, double fraction)
{
    size_t index = (size_t) ceil (fraction * (double) count);
    index = index ? index - 1 : 0;
    return (double) sorted[index < count ? index : count - 1] / 1000.0;
}

void
run_fail (run_t *run, const char *format, ...)
{
    if (run->error[0])
        return;  //  keep the first reason
    va_list args;
    va_start (args, format);
    vsnprintf (run->error, sizeof run->error, format, args);
    va_end (args);
}

//  --------------------------------------------------------------------------
//  The sink

int
sink_init (sink_t *self, int subscribers, uint64_t expected, size_t latency_cap,
           uint64_t latency_skip)
{
    memset (self, 0, sizeof *self);
    self->subscribers = subscribers;
    self->expected = expected;
    self->received = calloc ((size_t) subscribers, sizeof *self->received);
    self->next_sequence = calloc ((size_t) subscribers, sizeof *self->next_sequence);
    self->latency_cap = latency_cap;
    self->latency_skip = latency_skip;
    self->latency = latency_cap ? calloc (latency_cap, sizeof *self->latency) : NULL;
    if (!self->received || !self->next_sequence || (latency_cap && !self->latency))
        return -1;
    for (int index = 0; index < subscribers; index++)
        self->next_sequence[index] = 1;
    pthread_condattr_t attributes;
    if (pthread_condattr_init (&attributes)
        || pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC)
        || pthread_cond_init (&self->changed, &attributes)
        || pthread_mutex_init (&self->lock, NULL))
        return -1;
    pthread_condattr_destroy (&attributes);
    return 0;
}

void
sink_destroy (sink_t *self)
{
    free ((void *) self->received);
    free (self->next_sequence);
    free (self->latency);
    pthread_cond_destroy (&self->changed);
    pthread_mutex_destroy (&self->lock);
    memset (self, 0, sizeof *self);
}

static void
s_signal (sink_t *self)
{
    pthread_mutex_lock (&self->lock);
    pthread_cond_broadcast (&self->changed);
    pthread_mutex_unlock (&self->lock);
}

//  One event or plain publication of subscriber index, numbered sequence;
//  payload carries the send time in latency runs (plain: NULL, no latency).
static void
s_count (sink_t *self, int index, uint64_t sequence, const uint8_t *payload, size_t payload_size)
{
    if (sequence != self->next_sequence[index])
        atomic_fetch_add (&self->disorder, 1);
    self->next_sequence[index] = sequence + 1;
    if (index == 0 && self->latency_count < self->latency_cap && sequence > self->latency_skip
        && payload_size >= sizeof (int64_t)) {
        int64_t sent;
        memcpy (&sent, payload, sizeof sent);
        self->latency[self->latency_count++] = bench_now_ns () - sent;
    }
    //  One writer per counter: a plain load and store is enough.
    uint64_t received = atomic_load_explicit (&self->received[index], memory_order_relaxed) + 1;
    atomic_store_explicit (&self->received[index], received, memory_order_release);
    if (received == self->expected
        && atomic_fetch_add (&self->complete, 1) + 1 == self->subscribers) {
        atomic_store (&self->done_ns, bench_now_ns ());
        s_signal (self);
    }
}

//  One event of subscriber index.
static void
s_deliver_one (sink_t *self, int index, const uint8_t *body, size_t size)
{
    wire_event_t event;
    if (wire_event_decode (body, size, &event)) {
        atomic_fetch_add (&self->disorder, 1);
        return;
    }
    s_count (self, index, event.sequence, event.payload, event.payload_size);
}

void
sink_deliver (sink_t *self, int index, const void *body, size_t size)
{
    //  Every event is BENCH_BODY_MAX bytes; a batch is several end to end.
    const uint8_t *bytes = body;
    if (size == 0 || size % BENCH_BODY_MAX) {
        atomic_fetch_add (&self->disorder, 1);
        return;
    }
    for (size_t offset = 0; offset < size; offset += BENCH_BODY_MAX)
        s_deliver_one (self, index, bytes + offset, BENCH_BODY_MAX);
}

void
sink_deliver_plain (sink_t *self, int index, const void *payload, size_t size)
{
    uint64_t sequence;
    if (size != BENCH_PAYLOAD_SIZE) {
        atomic_fetch_add (&self->disorder, 1);
        return;
    }
    memcpy (&sequence, payload, sizeof sequence);
    s_count (self, index, be64toh (sequence), NULL, 0);
}

void
sink_set_ready (sink_t *self, int index)
{
    (void) index;
    atomic_fetch_add (&self->ready, 1);
    s_signal (self);
}

void
sink_set_failed (sink_t *self, int index)
{
    (void) index;
    atomic_fetch_add (&self->failed, 1);
    s_signal (self);
}

static bool
s_wait (sink_t *self, _Atomic int *count, int target, int ms)
{
    struct timespec deadline;
    clock_gettime (CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long) (ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock (&self->lock);
    while (atomic_load (count) < target && !atomic_load (&self->failed))
        if (pthread_cond_timedwait (&self->changed, &self->lock, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock (&self->lock);
    return atomic_load (count) >= target;
}

bool
sink_wait_ready (sink_t *self, int target, int ms)
{
    return s_wait (self, &self->ready, target, ms);
}

bool
sink_wait_complete (sink_t *self, int ms)
{
    return s_wait (self, &self->complete, self->subscribers, ms);
}

uint64_t
sink_delivered (sink_t *self)
{
    uint64_t total = 0;
    for (int index = 0; index < self->subscribers; index++)
        total += atomic_load_explicit (&self->received[index], memory_order_acquire);
    return total;
}

//  --------------------------------------------------------------------------
//  Processes

pid_t
proc_spawn (char *const argv[], const char *log_path)
{
    //  Everything the child does before exec is async-signal-safe: the
    //  parent may have threads (ZeroMQ's, libnats') by now.
    int log = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log == -1 || null == -1) {
        int saved = errno;
        if (log != -1)
            close (log);
        if (null != -1)
            close (null);
        errno = saved;
        return -1;
    }
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        //  A server never outlives the bench, even when the bench is killed.
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        dup2 (null, 0);
        dup2 (log, 1);
        dup2 (log, 2);
        execv (argv[0], argv);
        _exit (127);
    }
    int saved = errno;
    close (log);
    close (null);
    errno = saved;
    return pid;
}

static int
s_pidfd (pid_t pid)
{
    return (int) syscall (SYS_pidfd_open, pid, 0);
}

int
proc_wait_port (pid_t pid, int port, int ms)
{
    int pidfd = s_pidfd (pid);
    if (pidfd == -1)
        return -1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) port)};
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int64_t deadline = bench_now_ns () + (int64_t) ms * 1000000;
    int rc = -1;
    while (bench_now_ns () < deadline) {
        int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd == -1)
            break;
        int connected = connect (fd, (struct sockaddr *) &address, sizeof address);
        close (fd);
        if (connected == 0) {
            rc = 0;
            break;
        }
        //  Not listening yet: retry on the next tick, unless it died.
        struct pollfd item = {pidfd, POLLIN, 0};
        if (poll (&item, 1, BENCH_RESEND_MS) > 0)
            break;
    }
    close (pidfd);
    return rc;
}

int
proc_stop (pid_t pid, int ms, bool *repeated)
{
    //  A second SIGTERM after a second: a process whose main loop was busy
    //  when the first came may only see it at its next event.
    int pidfd = s_pidfd (pid);
    *repeated = false;
    struct pollfd item = {pidfd, POLLIN, 0};
    bool gone = false;
    if (pidfd != -1 && kill (pid, SIGTERM) == 0) {
        gone = poll (&item, 1, 1000) > 0;
        if (!gone && kill (pid, SIGTERM) == 0) {
            *repeated = true;
            gone = poll (&item, 1, ms) > 0;
        }
    }
    if (!gone)
        kill (pid, SIGKILL);
    if (pidfd != -1)
        close (pidfd);
    int status;
    while (waitpid (pid, &status, 0) == -1)
        if (errno != EINTR)
            return -1;
    return status;
}

//  Read a small /proc file into buffer; returns its length or -1.
static ssize_t
s_read_proc (pid_t pid, const char *name, char *buffer, size_t size)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, name);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    ssize_t length = read (fd, buffer, size - 1);
    close (fd);
    if (length >= 0)
        buffer[length] = 0;
    return length;
}

double
proc_cpu_seconds (pid_t pid)
{
    char stat[1024];
    if (s_read_proc (pid, "stat", stat, sizeof stat) <= 0)
        return -1;
    //  The command name may hold spaces: fields count from after its ')'.
    const char *rest = strrchr (stat, ')');
    unsigned long long utime, stime;
    if (!rest
        || sscanf (rest + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                   &stime)
               != 2)
        return -1;
    return (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

uint64_t
proc_status_kb (pid_t pid, const char *field)
{
    char status[4096];
    if (s_read_proc (pid, "status", status, sizeof status) <= 0)
        return 0;
    size_t length = strlen (field);
    for (const char *line = status; line && *line; line = strchr (line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp (line, field, length) == 0 && line[length] == ':')
            return strtoull (line + length + 1, NULL, 10);
    }
    return 0;
}
