/*  bench.c - herald_bench: herald's hub measured side by side with direct
    PUB->SUB, a zmq_proxy hub, Redis pub/sub and NATS core, and with a
    federation of two of its hubs, in one run.

    herald_bench --herald PATH [--out DIR] [--quick] [--runs N] ...

    Each point (throughput at a fan-out, the same with ZeroMQ's two-frame
    plain publications, latency, time to ready, taking subscriptions,
    herald's subscription table) is measured --runs times for every system
    it applies to, the systems taking turns run by run, so that noise on
    the machine hits them all alike. Every run starts its server afresh
    (the hub's peak memory is its own), connects the clients, proves they
    are ready, publishes and waits until every subscriber has every event,
    or reports what was lost; taking subscriptions
    (bench_subs.c) times the hub instead, and the table case
    (bench_table.c) herald's subscription table in this process, with no
    server. Every run's sample goes to stdout as CSV and, with the run's
    context, to DIR/bench.csv and DIR/bench.json, from which bench/render.py
    writes the report (bench.md) and the chart (bench.png); a progress line
    goes to stderr. The exit code says whether every event of every run was
    delivered, in order (and every subscriptions and table run completed). */

#include "bench.h"
#include "herald.h"
#include "wire.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#ifdef HERALD_BENCH_REDIS
#include <hiredis/hiredis.h>
#endif
#ifdef HERALD_BENCH_NATS
#include <nats/nats.h>
#endif

//  Defaults of a full run: about a second per throughput run, 20,000
//  latency samples at 10,000 events/s.
#define DELIVERIES_DEFAULT 1500000  //  per throughput run, over all subscribers
#define MESSAGES_MIN       4000     //  per subscriber, however many there are
#define LATENCY_SAMPLES    20000
#define LATENCY_SKIP       1000  //  events that warm the path up first
#define LATENCY_RATE       10000
#define RUNS_DEFAULT       5
#define PORT_BASE_DEFAULT  26000
#define PORT_BASE_QUICK    26600  //  a smoke test beside a full bench, past its ports
#define PORT_SLOTS         64     //  runs rotate over this many sets of 4 ports
//  A federation's leaf hub takes the same set of 4 in the range above.
#define PORT_RANGE  (4 * PORT_SLOTS)
#define HUB_STOP_MS 5000

//  Taking subscriptions: 10 connections of 10,000 topics each, the most
//  herald's hub lets one subscriber hold by default.
#define SUBSCRIPTION_CONNECTIONS     10
#define SUBSCRIPTIONS_PER_CONNECTION 10000
#define SUBSCRIPTIONS_QUICK          1000

//  herald's subscription table in this process: 1,000,000 subscriptions,
//  100 for each of 10,000 connections (the layout is bench_table.c's).
#define TABLE_CONNECTIONS    10000
#define TABLE_PER_CONNECTION 100
#define TABLE_QUICK          1000  //  connections

typedef struct {
    const char *herald;
    const char *out;
    const char *redis_server, *nats_server;
    const char *systems;
    const char *cases;
    const char *fanouts;
    const char *also[BENCH_MAX_SYSTEMS];
    int also_count;
    int runs;
    int batch;
    int port_base;
    uint64_t deliveries;
    bool quick;
} options_t;

static const char *s_usage =
    "usage: herald_bench --herald PATH [options]\n"
    "\n"
    "Measures herald's hub beside direct PUB->SUB, a zmq_proxy hub, Redis and NATS\n"
    "(when installed), and two of its hubs federated, on tcp loopback. Prints every\n"
    "run's sample as CSV and writes it to DIR/bench.csv, with DIR/bench.json;\n"
    "bench/render.py DIR writes the report from them (DIR/bench.md and bench.png).\n"
    "\n"
    "  --herald PATH        the herald binary whose hub is measured\n"
    "  --out DIR            where to write bench.csv and bench.json (default: docs;\n"
    "                       with --quick, nothing is written without --out)\n"
    "  --quick              smoke run: tiny counts, 1 run; exit 0 only if every\n"
    "                       subscriber got every event\n"
    "  --runs N             runs per case and system (default 5)\n"
    "  --cases LIST         throughput,plain,latency,ready,subscriptions,table\n"
    "                       (default: all; plain: throughput with ZeroMQ's two-frame\n"
    "                       [topic][payload] publications, direct, zmq_proxy and\n"
    "                       herald only; subscriptions: herald and zmq_proxy only;\n"
    "                       table: herald's subscription table in this process, no\n"
    "                       server)\n"
    "  --subscribers LIST   throughput and plain fan-outs (default 1,4,16,64,256)\n"
    "  --systems LIST       direct,zmq_proxy,herald,federation,redis,nats (default:\n"
    "                       all; federation: a root and a leaf hub, the publisher on\n"
    "                       the root, the subscribers on the leaf; throughput and\n"
    "                       latency only)\n"
    "  --messages N         deliveries per throughput or plain run, over all\n"
    "                       subscribers (default 1500000)\n"
    "  --also NAME=PATH     also measure the hub of another herald binary as NAME\n"
    "  --port-base P        first TCP port of 512 (default 26000; 26600 with --quick)\n"
    "  --batch K            K events (1..64) to a message in throughput runs, every\n"
    "                       system (an experiment: not herald's format; not plain)\n"
    "  --redis-server PATH, --nats-server PATH   the servers to run\n";

//  --------------------------------------------------------------------------
//  Systems

//  Find program on PATH, then in the sbin directories Debian puts servers in.
static bool
s_find_program (const char *name, char *out, size_t size)
{
    const char *path = getenv ("PATH");
    char directories[4096];
    snprintf (directories, sizeof directories, "%s:/usr/sbin:/usr/local/sbin:/usr/bin:/sbin",
              path ? path : "");
    for (char *save = NULL, *directory = strtok_r (directories, ":", &save); directory;
         directory = strtok_r (NULL, ":", &save)) {
        if (snprintf (out, size, "%s/%s", directory, name) < (int) size && access (out, X_OK) == 0)
            return true;
    }
    out[0] = 0;
    return false;
}

//  The first line a program prints for --version, trimmed; before any
//  thread or ZeroMQ context exists.
static void
s_program_version (const char *program, const char *marker, char *out, size_t size)
{
    char command[600];
    snprintf (command, sizeof command, "'%s' --version 2>&1", program);
    FILE *pipe = popen (command, "r");
    char line[256] = "";
    if (pipe) {
        if (!fgets (line, sizeof line, pipe))
            line[0] = 0;
        pclose (pipe);
    }
    const char *start = strstr (line, marker);
    start = start ? start + strlen (marker) : "";
    size_t length = strcspn (start, " \n");
    snprintf (out, size, "%.*s", (int) length, start);
}

static void
s_add_system (bench_t *bench, const char *name, sys_kind_t kind, const char *program)
{
    system_t *system = &bench->systems[bench->system_count++];
    snprintf (system->name, sizeof system->name, "%s", name);
    system->kind = kind;
    snprintf (system->program, sizeof system->program, "%s", program ? program : "");
    system->available = true;
}

static bool
s_listed (const char *list, const char *name)
{
    if (!list)
        return true;
    size_t length = strlen (name);
    for (const char *item = list; *item;) {
        size_t item_length = strcspn (item, ",");
        if (item_length == length && strncasecmp (item, name, length) == 0)
            return true;
        item += item_length + (item[item_length] == ',');
    }
    return false;
}

//  Redis or NATS: available if its client library was compiled in and its
//  server is found; otherwise say how to install what is missing.
static void
s_add_server (bench_t *bench, const char *name, sys_kind_t kind, const char *given,
              const char *server, const char *version_marker, bool compiled,
              const char *server_package, const char *library_package)
{
    char program[PATH_MAX] = "";
    bool found =
        given ? access (given, X_OK) == 0 : s_find_program (server, program, sizeof program);
    s_add_system (bench, name, kind, given ? given : program);
    system_t *system = &bench->systems[bench->system_count - 1];
    if (!compiled) {
        system->available = false;
        snprintf (system->missing, sizeof system->missing,
                  "herald_bench was built without its client library: `apt-get install %s %s`, "
                  "then configure again (`cmake -S . -B build`) and build",
                  server_package, library_package);
    } else if (!found) {
        system->available = false;
        snprintf (system->missing, sizeof system->missing, "%s not found: `apt-get install %s`",
                  given ? given : server, server_package);
    } else
        s_program_version (system->program, version_marker, system->version,
                           sizeof system->version);
}

static int
s_set_up_systems (bench_t *bench, const options_t *options)
{
    if (s_listed (options->systems, "direct"))
        s_add_system (bench, "direct", SYS_DIRECT, NULL);
    if (s_listed (options->systems, "zmq_proxy"))
        s_add_system (bench, "zmq_proxy", SYS_PROXY, NULL);
    bool herald = s_listed (options->systems, "herald"),
         federation = s_listed (options->systems, "federation");
    if ((herald || federation) && (!options->herald || access (options->herald, X_OK))) {
        fprintf (stderr, "herald_bench: --herald must name the herald binary\n");
        return -1;
    }
    if (herald)
        s_add_system (bench, "herald", SYS_HERALD, options->herald);
    if (federation)
        s_add_system (bench, "federation", SYS_FEDERATION, options->herald);
    for (int index = 0; index < options->also_count; index++) {
        const char *equals = strchr (options->also[index], '=');
        if (!equals || equals == options->also[index] || access (equals + 1, X_OK)
            || bench->system_count == BENCH_MAX_SYSTEMS - 2) {  //  Redis, NATS come after
            fprintf (stderr, "herald_bench: --also wants NAME=PATH to a herald binary\n");
            return -1;
        }
        s_add_system (bench, "", SYS_HERALD, equals + 1);
        snprintf (bench->systems[bench->system_count - 1].name, sizeof bench->systems[0].name,
                  "%.*s", (int) (equals - options->also[index]), options->also[index]);
    }
#ifdef HERALD_BENCH_REDIS
    bool redis = true;
#else
    bool redis = false;
#endif
#ifdef HERALD_BENCH_NATS
    bool nats = true;
#else
    bool nats = false;
#endif
    if (s_listed (options->systems, "redis"))
        s_add_server (bench, "Redis", SYS_REDIS, options->redis_server, "redis-server", "v=", redis,
                      "redis-server", "libhiredis-dev");
    if (s_listed (options->systems, "nats"))
        s_add_server (bench, "NATS", SYS_NATS, options->nats_server, "nats-server", ": v", nats,
                      "nats-server", "libnats-dev");
    if (bench->system_count == 0) {
        fprintf (stderr, "herald_bench: --systems names no system\n");
        return -1;
    }
    return 0;
}

static const backend_t *
s_backend (sys_kind_t kind)
{
    switch (kind) {
#ifdef HERALD_BENCH_REDIS
    case SYS_REDIS:
        return &bench_redis_backend;
#endif
#ifdef HERALD_BENCH_NATS
    case SYS_NATS:
        return &bench_nats_backend;
#endif
    case SYS_DIRECT:
    case SYS_PROXY:
    case SYS_HERALD:
    case SYS_FEDERATION:
        return &bench_zmq_backend;
    default:
        return NULL;
    }
}

//  --------------------------------------------------------------------------
//  One run

typedef struct {
    char directory[64];   //  for servers' logs and configuration
    char self[PATH_MAX];  //  this binary, for the zmq_proxy child
    int port_base;
    int port_slot;
} context_t;

//  A server process of a run: the system's server (a federation's root),
//  or a federation's leaf hub; its log, and its name in what is said of it.
typedef struct {
    char log[256];
    char name[48];
} server_t;

//  The loopback endpoints of the 4 ports from port.
static void
s_endpoints (char endpoints[4][40], int port)
{
    for (int index = 0; index < 4; index++)
        bench_zmq_endpoint (endpoints[index], sizeof endpoints[index], port + index);
}

//  herald hub's arguments after the program, on the 4 endpoints: frontend,
//  backend, control (bound last), federation. Returns the next free index.
static int
s_hub_arguments (char *argv[], char endpoints[4][40], char *hwm)
{
    char *arguments[] = {"hub",        "--frontend",   endpoints[0], "--backend",
                         endpoints[1], "--control",    endpoints[2], "--hwm",
                         hwm,          "--federation", endpoints[3]};
    int count = (int) (sizeof arguments / sizeof arguments[0]);
    memcpy (argv + 1, arguments, sizeof arguments);
    return 1 + count;
}

//  Start a server and wait until it listens on listen_port; its pid goes
//  to *pid (to be stopped whatever happens). Returns 0 once it listens.
static int
s_spawn (run_t *run, char *argv[], const server_t *server, int listen_port, pid_t *pid)
{
    *pid = proc_spawn (argv, server->log);
    if (*pid == -1) {
        *pid = 0;
        run_fail (run, "cannot start %s: %s", argv[0], strerror (errno));
        return -1;
    }
    if (proc_wait_port (*pid, listen_port, BENCH_READY_TIMEOUT_MS)) {
        run_fail (run, "the %s server did not listen on port %d within %d ms (see its log below)",
                  server->name, listen_port, BENCH_READY_TIMEOUT_MS);
        return -1;
    }
    return 0;
}

//  Start the system's server on run->port, and a federation's leaf on
//  run->leaf_port, joined below it. Returns 0 once they listen.
static int
s_start_server (context_t *context, const system_t *system, run_t *run, server_t servers[2])
{
    char ports[4][8], endpoints[4][40], hwm[16];
    for (int index = 0; index < 4; index++)
        snprintf (ports[index], sizeof ports[index], "%d", run->port + index);
    s_endpoints (endpoints, run->port);
    snprintf (hwm, sizeof hwm, "%d", BENCH_HWM);
    bool federation = system->kind == SYS_FEDERATION;
    snprintf (servers[0].name, sizeof servers[0].name, "%s%s", system->name,
              federation ? " root" : "");
    snprintf (servers[0].log, sizeof servers[0].log, "%s/%s-%d.log", context->directory,
              system->name, run->port);
    char conf[128], program[PATH_MAX];
    snprintf (program, sizeof program, "%s", system->program);
    int listen_port = run->port;
    char *argv[24] = {program};
    switch (system->kind) {
    case SYS_PROXY:
        snprintf (program, sizeof program, "%s", context->self);
        argv[1] = "--zmq-proxy", argv[2] = endpoints[0], argv[3] = endpoints[1];
        argv[4] = hwm;
        listen_port = run->port + 1;  //  bound last
        break;
    case SYS_HERALD:
    case SYS_FEDERATION:
        s_hub_arguments (argv, endpoints, hwm);
        listen_port = run->port + 2;  //  bound last
        break;
    case SYS_REDIS: {
        //  No persistence, and no output limit for subscribers: the ZeroMQ
        //  systems drop nothing either.
        char *redis[] = {program,
                         "--port",
                         ports[0],
                         "--bind",
                         "127.0.0.1",
                         "--save",
                         "",
                         "--appendonly",
                         "no",
                         "--client-output-buffer-limit",
                         "pubsub 0 0 0",
                         "--protected-mode",
                         "no",
                         "--daemonize",
                         "no",
                         "--dir",
                         context->directory,
                         NULL};
        memcpy (argv, redis, sizeof redis);
        break;
    }
    case SYS_NATS: {
        //  A subscriber that falls behind is a slow consumer that NATS cuts
        //  off past max_pending bytes or a blocked write_deadline: both high.
        snprintf (conf, sizeof conf, "%s/nats-%d.conf", context->directory, run->port);
        FILE *file = fopen (conf, "w");
        if (!file) {
            run_fail (run, "cannot write %s: %s", conf, strerror (errno));
            return -1;
        }
        fprintf (file, "listen: 127.0.0.1:%d\nmax_pending: 1073741824\nwrite_deadline: \"60s\"\n",
                 run->port);
        if (fclose (file)) {
            run_fail (run, "cannot write %s: %s", conf, strerror (errno));
            return -1;
        }
        argv[1] = "-c", argv[2] = conf;
        break;
    }
    case SYS_DIRECT:
        return 0;
    }
    if (s_spawn (run, argv, &servers[0], listen_port, &run->hub))
        return -1;
    if (!federation)
        return 0;
    //  The leaf: a hub of its own ports that joins below the root's
    //  federation endpoint.
    char leaf_endpoints[4][40];
    s_endpoints (leaf_endpoints, run->leaf_port);
    char *leaf[24] = {program};
    int next = s_hub_arguments (leaf, leaf_endpoints, hwm);
    leaf[next] = "--upstream", leaf[next + 1] = endpoints[3];
    snprintf (servers[1].name, sizeof servers[1].name, "%s leaf", system->name);
    snprintf (servers[1].log, sizeof servers[1].log, "%s/%s-leaf-%d.log", context->directory,
              system->name, run->leaf_port);
    return s_spawn (run, leaf, &servers[1], run->leaf_port + 2, &run->leaf);
}

//  Stop a server of the run, if started, and reap it; herald's hubs must
//  exit 0.
static void
s_stop_server (run_t *run, pid_t pid, const server_t *server, bool herald)
{
    if (!pid)
        return;
    bool repeated;
    int status = proc_stop (pid, HUB_STOP_MS, &repeated);
    if (repeated)
        fprintf (stderr,
                 "\nherald_bench: the %s server did not stop within 1 s of SIGTERM; "
                 "sent another\n",
                 server->name);
    if (herald && status != 0 && !run->error[0])
        run_fail (run, "the %s server exited with status %d", server->name, status);
}

//  Show the first lines of what a server said; then forget its log.
static void
s_show_log (const server_t *server, bool failed)
{
    if (!server->log[0])
        return;
    FILE *log = failed ? fopen (server->log, "r") : NULL;
    char line[512];
    for (int lines = 0; log && lines < 20 && fgets (line, sizeof line, log); lines++)
        fprintf (stderr, "  %s: %s", server->name, line);
    if (log)
        fclose (log);
    unlink (server->log);
}

//  The run's servers' CPU seconds together, or -1 if unknown or none.
static double
s_servers_cpu (const run_t *run)
{
    double total = 0;
    pid_t pids[] = {run->hub, run->leaf};
    for (size_t index = 0; index < sizeof pids / sizeof pids[0]; index++) {
        double seconds = pids[index] ? proc_cpu_seconds (pids[index]) : 0;
        if (seconds < 0)
            return -1;
        total += seconds;
    }
    return run->hub ? total : -1;
}

//  A /proc/PID/status field of the run's servers together, kB; 0 if
//  unknown or none.
static uint64_t
s_servers_kb (const run_t *run, const char *field)
{
    uint64_t total = 0;
    pid_t pids[] = {run->hub, run->leaf};
    for (size_t index = 0; index < sizeof pids / sizeof pids[0]; index++) {
        uint64_t kb = pids[index] ? proc_status_kb (pids[index], field) : 0;
        if (pids[index] && !kb)
            return 0;
        total += kb;
    }
    return total;
}

//  The plain case: a payload numbered as an event would be (bench.h), one
//  publication to a message, as fast as possible.
static int
s_publish_plain (const backend_t *backend, run_t *run)
{
    uint8_t payload[BENCH_PAYLOAD_SIZE] = {0};
    for (uint64_t sequence = 1; sequence <= run->messages; sequence++) {
        uint64_t number = htobe64 (sequence);
        memcpy (payload, &number, sizeof number);
        if (backend->publish (run, payload, sizeof payload))
            return -1;
    }
    return backend->flush (run);
}

//  Publish the run's events, as fast as possible or at run->rate; with
//  --batch, several events to a message.
static int
s_publish_all (const backend_t *backend, run_t *run)
{
    if (run->mode == MODE_PLAIN)
        return s_publish_plain (backend, run);
    static uint8_t message[BENCH_MESSAGE_MAX];
    uint8_t payload[BENCH_PAYLOAD_SIZE] = {0};
    size_t used = 0, batch = run->rate ? 1 : (size_t) run->batch;
    int64_t start = bench_now_ns ();
    int64_t period = run->rate ? 1000000000 / run->rate : 0;
    for (uint64_t sequence = 1; sequence <= run->messages; sequence++) {
        if (period) {
            //  Pacing, not synchronisation: the event's time has come.
            int64_t due = start + (int64_t) (sequence - 1) * period;
            struct timespec at = {(time_t) (due / 1000000000), (long) (due % 1000000000)};
            while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
                ;
            int64_t now = bench_now_ns ();
            memcpy (payload, &now, sizeof now);
        }
        used += wire_event_encode (message + used, sizeof message - used, "", 0, 0xbe4c4, sequence,
                                   payload, sizeof payload);
        if (used == batch * BENCH_BODY_MAX || sequence == run->messages) {
            if (backend->publish (run, message, used))
                return -1;
            used = 0;
        }
    }
    return backend->flush (run);
}

//  Wait until every subscriber has everything, or nothing has arrived for
//  BENCH_IDLE_MS.
static void
s_wait_delivered (run_t *run)
{
    uint64_t last = sink_delivered (&run->sink);
    int64_t last_progress = bench_now_ns ();
    while (!sink_wait_complete (&run->sink, 100)) {
        if (atomic_load (&run->sink.failed))
            return;
        uint64_t now_delivered = sink_delivered (&run->sink);
        if (now_delivered != last) {
            last = now_delivered;
            last_progress = bench_now_ns ();
        } else if (bench_now_ns () - last_progress > (int64_t) BENCH_IDLE_MS * 1000000)
            return;
    }
}

//  Measure one point of one system once.
static void
s_run (context_t *context, const system_t *system, const point_t *point, int rate, int batch,
       sample_t *sample)
{
    memset (sample, 0, sizeof *sample);
    sample->ran = true;
    sample->hub_cpu = -1;
    run_t run = {.kind = system->kind,
                 .mode = point->mode,
                 .subscribers = point->subscribers,
                 .batch = batch};
    run.port = context->port_base + 4 * (context->port_slot++ % PORT_SLOTS);
    if (system->kind == SYS_FEDERATION)
        run.leaf_port = run.port + PORT_RANGE;
    uint64_t per_subscriber = point->messages;
    size_t latency_cap = 0;
    if (point->mode == MODE_LATENCY) {
        run.rate = rate;
        latency_cap = point->messages;
        per_subscriber =
            point->messages
            + (point->messages >= 10 * LATENCY_SKIP ? LATENCY_SKIP : point->messages / 10);
    }
    run.messages =
        point->mode == MODE_READY || point->mode == MODE_SUBSCRIPTIONS ? 0 : per_subscriber;
    if (sink_init (&run.sink, run.subscribers, run.messages, latency_cap,
                   run.messages - point->messages)) {
        snprintf (sample->error, sizeof sample->error, "out of memory");
        return;
    }
    const backend_t *backend = s_backend (system->kind);
    server_t servers[2] = {0};
    if (point->mode == MODE_TABLE) {
        //  In this process: no server, no clients.
        sample->hub_start_ms = sample->clients_ms = NAN;
        sample->complete = bench_table (&run, (int) point->messages, sample) == 0;
        goto finish;
    }
    int64_t started = bench_now_ns ();
    if (s_start_server (context, system, &run, servers))
        goto finish;
    int64_t listening = bench_now_ns ();
    //  direct has no server to start.
    sample->hub_start_ms = run.hub ? (double) (listening - started) / 1e6 : NAN;
    sample->hub_base_kb = s_servers_kb (&run, "VmRSS");
    if (point->mode == MODE_SUBSCRIPTIONS) {
        sample->complete = bench_subscriptions (&run, (int) point->messages, sample) == 0;
        goto finish;
    }
    if (backend_open (backend, &run))
        goto finish;
    int64_t ready = bench_now_ns ();
    sample->clients_ms = (double) (ready - listening) / 1e6;
    sample->hub_ready_kb = s_servers_kb (&run, "VmRSS");
    if (point->mode == MODE_READY) {
        sample->complete = true;
        goto finish;
    }
    double cpu_before = s_servers_cpu (&run);
    int64_t start = bench_now_ns ();
    int published = s_publish_all (backend, &run);
    s_wait_delivered (&run);
    int64_t done = atomic_load (&run.sink.done_ns);
    double cpu_after = s_servers_cpu (&run);
    if (cpu_before >= 0 && cpu_after >= 0)
        sample->hub_cpu = cpu_after - cpu_before;
    sample->hub_peak_kb = s_servers_kb (&run, "VmHWM");
    sample->sent = published == 0 ? run.messages : 0;
    sample->expected = run.messages * (uint64_t) run.subscribers;
    sample->delivered = sink_delivered (&run.sink);
    sample->disorder = atomic_load (&run.sink.disorder);
    sample->complete = published == 0 && sample->delivered == sample->expected;
    //  Asked only now, so that the hub's CPU above is the publishing's.
    if (sample->complete && backend->verify && backend->verify (&run))
        sample->complete = false;
    sample->seconds = (double) ((done ? done : bench_now_ns ()) - start) / 1e9;
    if (sample->complete)
        sample->throughput = (double) run.messages / sample->seconds;
    else if (!run.error[0])
        run_fail (&run, "%" PRIu64 " of %" PRIu64 " events delivered", sample->delivered,
                  sample->expected);
    if (point->mode == MODE_LATENCY && run.sink.latency_count) {
        bench_sort_ns (run.sink.latency, run.sink.latency_count);
        sample->samples = run.sink.latency_count;
        sample->p50 = bench_percentile_us (run.sink.latency, run.sink.latency_count, 0.50);
        sample->p99 = bench_percentile_us (run.sink.latency, run.sink.latency_count, 0.99);
        sample->p999 = bench_percentile_us (run.sink.latency, run.sink.latency_count, 0.999);
    }
finish:
    backend_close (backend, &run);
    //  A federation's leaf first: the root then has no hub below it.
    s_stop_server (&run, run.leaf, &servers[1], bench_herald (system->kind));
    s_stop_server (&run, run.hub, &servers[0], bench_herald (system->kind));
    if (run.error[0]) {
        sample->complete = false;
        snprintf (sample->error, sizeof sample->error, "%s", run.error);
        fprintf (stderr, "\nherald_bench: %s, %d subscribers: %s\n", system->name,
                 point->subscribers, run.error);
    }
    //  Show what the servers said about it.
    s_show_log (&servers[0], run.error[0]);
    s_show_log (&servers[1], run.error[0]);
    sink_destroy (&run.sink);
}

//  --------------------------------------------------------------------------
//  The plan, and running it

static int
s_parse_list (const char *list, int *values, int max)
{
    int count = 0;
    for (const char *item = list; *item && count < max;) {
        char *end;
        long value = strtol (item, &end, 10);
        if (end == item || value < 1 || value > 1000 || (*end && *end != ','))
            return -1;
        values[count++] = (int) value;
        item = *end ? end + 1 : end;
    }
    return count;
}

static int
s_plan (bench_t *bench, const options_t *options)
{
    int fanouts[8] = {1, 4, 16, 64, 256}, fanout_count = 5;
    if (options->quick)
        fanout_count = 2;
    if (options->fanouts && (fanout_count = s_parse_list (options->fanouts, fanouts, 8)) <= 0) {
        fprintf (stderr, "herald_bench: --subscribers wants numbers 1..1000, comma separated\n");
        return -1;
    }
    uint64_t deliveries = options->deliveries ? options->deliveries
                          : options->quick    ? 40000
                                              : DELIVERIES_DEFAULT;
    uint64_t least = options->quick ? 1000 : MESSAGES_MIN;
    //  plain at the same fan-outs and counts as throughput: the two tables
    //  read side by side.
    bench_mode_t streams[] = {MODE_THROUGHPUT, MODE_PLAIN};
    for (size_t mode = 0; mode < sizeof streams / sizeof streams[0]; mode++) {
        if (!s_listed (options->cases, results_mode_name (streams[mode])))
            continue;
        for (int index = 0; index < fanout_count; index++) {
            uint64_t messages = deliveries / (uint64_t) fanouts[index];
            bench->points[bench->point_count++] =
                (point_t){streams[mode], fanouts[index], messages > least ? messages : least};
        }
    }
    if (s_listed (options->cases, "latency"))
        bench->points[bench->point_count++] =
            (point_t){MODE_LATENCY, 1, options->quick ? 2000 : LATENCY_SAMPLES};
    if (s_listed (options->cases, "ready")) {
        bench->points[bench->point_count++] = (point_t){MODE_READY, 10, 0};
        if (!options->quick)
            bench->points[bench->point_count++] = (point_t){MODE_READY, 100, 0};
    }
    if (s_listed (options->cases, "subscriptions"))
        bench->points[bench->point_count++] =
            (point_t){MODE_SUBSCRIPTIONS, SUBSCRIPTION_CONNECTIONS,
                      options->quick ? SUBSCRIPTIONS_QUICK : SUBSCRIPTIONS_PER_CONNECTION};
    if (s_listed (options->cases, "table"))
        bench->points[bench->point_count++] = (point_t){
            MODE_TABLE, options->quick ? TABLE_QUICK : TABLE_CONNECTIONS, TABLE_PER_CONNECTION};
    if (bench->point_count == 0) {
        fprintf (stderr, "herald_bench: --cases names no case\n");
        return -1;
    }
    return 0;
}

static void
s_describe_machine (bench_t *bench, const options_t *options, int argc, char *argv[])
{
    time_t now = time (NULL);
    struct tm tm;
    localtime_r (&now, &tm);
    strftime (bench->date, sizeof bench->date, "%Y-%m-%d %H:%M %Z", &tm);
    struct utsname name;
    if (uname (&name) == 0)
        snprintf (bench->machine, sizeof bench->machine, "%s %s %s", name.sysname, name.release,
                  name.machine);
    FILE *cpuinfo = fopen ("/proc/cpuinfo", "r");
    char line[256], model[128] = "unknown CPU";
    while (cpuinfo && fgets (line, sizeof line, cpuinfo))
        if (strncmp (line, "model name", 10) == 0 && strchr (line, ':')) {
            snprintf (model, sizeof model, "%s", strchr (line, ':') + 2);
            model[strcspn (model, "\n")] = 0;
            break;
        }
    if (cpuinfo)
        fclose (cpuinfo);
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);
    snprintf (bench->cpu, sizeof bench->cpu, "%s, %ld cores, %.0f GiB", model, cores,
              (double) pages * (double) page / (1024.0 * 1024 * 1024));
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    int length = snprintf (bench->libraries, sizeof bench->libraries, "libzmq %d.%d.%d", major,
                           minor, patch);
#ifdef HERALD_BENCH_REDIS
    length += snprintf (bench->libraries + length, sizeof bench->libraries - (size_t) length,
                        ", hiredis %d.%d.%d", HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH);
#endif
#ifdef HERALD_BENCH_NATS
    length += snprintf (bench->libraries + length, sizeof bench->libraries - (size_t) length,
                        ", libnats %s", nats_GetVersion ());
#endif
    (void) length;
    (void) options;
    length = snprintf (bench->command, sizeof bench->command, "herald_bench");
    for (int index = 1; index < argc && length < (int) sizeof bench->command; index++)
        length += snprintf (bench->command + length, sizeof bench->command - (size_t) length, " %s",
                            argv[index]);
}

//  CPU time of the whole machine: busy (all but idle and iowait), stolen by
//  the hypervisor, and in all, in seconds; and of this process and its
//  reaped children.
typedef struct {
    double busy, steal, total, mine;
} cpu_times_t;

static cpu_times_t
s_cpu_times (void)
{
    cpu_times_t times = {0};
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                       steal = 0;
    FILE *stat = fopen ("/proc/stat", "r");
    if (stat) {
        if (fscanf (stat, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system,
                    &idle, &iowait, &irq, &softirq, &steal)
            != 8)
            user = nice = system = idle = iowait = irq = softirq = steal = 0;
        fclose (stat);
    }
    double tick = (double) sysconf (_SC_CLK_TCK);
    times.busy = (double) (user + nice + system + irq + softirq) / tick;
    times.steal = (double) steal / tick;
    times.total = (double) (user + nice + system + idle + iowait + irq + softirq + steal) / tick;
    struct rusage self, children;
    if (getrusage (RUSAGE_SELF, &self) == 0 && getrusage (RUSAGE_CHILDREN, &children) == 0)
        times.mine = (double) (self.ru_utime.tv_sec + self.ru_stime.tv_sec
                               + children.ru_utime.tv_sec + children.ru_stime.tv_sec)
                     + (double) (self.ru_utime.tv_usec + self.ru_stime.tv_usec
                                 + children.ru_utime.tv_usec + children.ru_stime.tv_usec)
                           / 1e6;
    return times;
}

//  Whether a system is measured at a point: taking subscriptions is a
//  hub's (not direct's) and is ZeroMQ's (Redis and NATS subscribe
//  otherwise); plain publications are ZeroMQ's frames, which Redis and NATS
//  do not have; the table is herald's, the code this bench links, and so is
//  measured once, as the first herald's (not again for --also's). The
//  federation is the extra hop's cost to events: throughput and latency.
static bool
s_measures (const bench_t *bench, const system_t *system, const point_t *point)
{
    if (system->kind == SYS_FEDERATION)
        return point->mode == MODE_THROUGHPUT || point->mode == MODE_LATENCY;
    if (point->mode == MODE_TABLE) {
        const system_t *first = bench->systems;
        while (first->kind != SYS_HERALD && first < bench->systems + bench->system_count - 1)
            first++;
        return system == first && system->kind == SYS_HERALD;
    }
    bool zmq =
        system->kind == SYS_DIRECT || system->kind == SYS_PROXY || system->kind == SYS_HERALD;
    return system->available
           && (point->mode != MODE_SUBSCRIPTIONS || system->kind == SYS_PROXY
               || system->kind == SYS_HERALD)
           && (point->mode != MODE_PLAIN || zmq);
}

//  Every run, systems taking turns: run 1 of every point and system, then
//  run 2, and so on.
static void
s_run_all (bench_t *bench, context_t *context)
{
    int total = 0, done = 0;
    for (int system = 0; system < bench->system_count; system++)
        for (int point = 0; point < bench->point_count; point++)
            total += s_measures (bench, &bench->systems[system], &bench->points[point])
                         ? bench->runs
                         : 0;
    bool terminal = isatty (STDERR_FILENO);
    int64_t started = bench_now_ns ();
    for (int run = 0; run < bench->runs; run++)
        for (int point = 0; point < bench->point_count; point++)
            for (int index = 0; index < bench->system_count; index++) {
                const system_t *system = &bench->systems[index];
                const point_t *what = &bench->points[point];
                if (!s_measures (bench, system, what))
                    continue;
                int seconds = (int) ((bench_now_ns () - started) / 1000000000);
                fprintf (stderr, "%s[%d/%d %d:%02d] %s %s, %d subscriber%s, run %d%s",
                         terminal ? "\r" : "", ++done, total, seconds / 60, seconds % 60,
                         system->name, results_mode_name (what->mode), what->subscribers,
                         what->subscribers > 1 ? "s" : "", run + 1, terminal ? "\033[K" : "\n");
                s_run (context, system, what, bench->rate, bench->batch,
                       &bench->samples[index][point][run]);
            }
    if (terminal)
        fprintf (stderr, "\n");
}

//  The samples to stdout, and with the run's context into out if given.
static int
s_write_outputs (const bench_t *bench, const char *out)
{
    results_csv (bench, stdout);
    fflush (stdout);
    if (!out)
        return 0;
    if (mkdir (out, 0755) && errno != EEXIST) {
        fprintf (stderr, "herald_bench: cannot make %s: %s\n", out, strerror (errno));
        return -1;
    }
    return results_write (bench, out);
}

static int
s_parse_options (int argc, char *argv[], options_t *options)
{
    for (int index = 1; index < argc; index++) {
        const char *option = argv[index];
        const char *value = index + 1 < argc ? argv[index + 1] : NULL;
        bool takes = true;
        if (strcmp (option, "--help") == 0) {
            fputs (s_usage, stdout);
            exit (0);
        } else if (strcmp (option, "--quick") == 0) {
            options->quick = true;
            takes = false;
        } else if (!value) {
            fprintf (stderr, "herald_bench: unknown option or missing value: %s\n%s", option,
                     s_usage);
            return -1;
        } else if (strcmp (option, "--herald") == 0)
            options->herald = value;
        else if (strcmp (option, "--out") == 0)
            options->out = value;
        else if (strcmp (option, "--runs") == 0) {
            options->runs = atoi (value);
            if (options->runs < 1 || options->runs > BENCH_MAX_RUNS) {
                fprintf (stderr, "herald_bench: --runs wants 1..%d\n", BENCH_MAX_RUNS);
                return -1;
            }
        } else if (strcmp (option, "--batch") == 0) {
            options->batch = atoi (value);
            if (options->batch < 1 || options->batch > BENCH_BATCH_MAX) {
                fprintf (stderr, "herald_bench: --batch wants 1..%d\n", BENCH_BATCH_MAX);
                return -1;
            }
        } else if (strcmp (option, "--cases") == 0)
            options->cases = value;
        else if (strcmp (option, "--subscribers") == 0)
            options->fanouts = value;
        else if (strcmp (option, "--systems") == 0)
            options->systems = value;
        else if (strcmp (option, "--messages") == 0) {
            options->deliveries = strtoull (value, NULL, 10);
            if (options->deliveries < 1 || options->deliveries > 100000000) {
                fprintf (stderr, "herald_bench: --messages wants 1..100000000\n");
                return -1;
            }
        } else if (strcmp (option, "--also") == 0 && options->also_count < BENCH_MAX_SYSTEMS)
            options->also[options->also_count++] = value;
        else if (strcmp (option, "--port-base") == 0) {
            options->port_base = atoi (value);
            //  Two ranges: the runs' ports, then the federation leaves'.
            if (options->port_base < 1024 || options->port_base > 65535 - 2 * PORT_RANGE) {
                fprintf (stderr, "herald_bench: --port-base wants 1024..%d\n",
                         65535 - 2 * PORT_RANGE);
                return -1;
            }
        } else if (strcmp (option, "--redis-server") == 0)
            options->redis_server = value;
        else if (strcmp (option, "--nats-server") == 0)
            options->nats_server = value;
        else {
            fprintf (stderr, "herald_bench: unknown option %s\n%s", option, s_usage);
            return -1;
        }
        index += takes;
    }
    if (!options->out && !options->quick)
        options->out = "docs";
    if (!options->runs)
        options->runs = options->quick ? 1 : RUNS_DEFAULT;
    if (!options->batch)
        options->batch = 1;
    if (!options->port_base)
        options->port_base = options->quick ? PORT_BASE_QUICK : PORT_BASE_DEFAULT;
    return 0;
}

int
main (int argc, char *argv[])
{
    //  The zmq_proxy hub is this binary in another process.
    if (argc == 5 && strcmp (argv[1], "--zmq-proxy") == 0)
        return bench_zmq_proxy_main (argv[2], argv[3], atoi (argv[4]));

    options_t options = {0};
    if (s_parse_options (argc, argv, &options))
        return HERALD_EXIT_USAGE;
    static bench_t bench;
    bench.runs = options.runs;
    bench.quick = options.quick;
    bench.rate = LATENCY_RATE;
    bench.batch = options.batch;
    if (s_set_up_systems (&bench, &options) || s_plan (&bench, &options))
        return HERALD_EXIT_USAGE;
    s_describe_machine (&bench, &options, argc, argv);

    //  256 subscribers and their servers' connections need more than the
    //  usual 1,024 descriptors.
    struct rlimit files;
    if (getrlimit (RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit (RLIMIT_NOFILE, &files);
    }
    context_t context = {.port_base = options.port_base};
    snprintf (context.directory, sizeof context.directory, "/tmp/herald-bench-XXXXXX");
    ssize_t length = readlink ("/proc/self/exe", context.self, sizeof context.self - 1);
    if (length <= 0 || !mkdtemp (context.directory)) {
        fprintf (stderr, "herald_bench: cannot set up: %s\n", strerror (errno));
        return HERALD_EXIT_OSERR;
    }
    context.self[length] = 0;
    for (int index = 0; index < bench.system_count; index++)
        if (!bench.systems[index].available)
            fprintf (stderr, "herald_bench: %s not installed (%s)\n", bench.systems[index].name,
                     bench.systems[index].missing);

    int64_t started = bench_now_ns ();
    cpu_times_t before = s_cpu_times ();
    s_run_all (&bench, &context);
    cpu_times_t after = s_cpu_times ();
    bench.elapsed = (double) (bench_now_ns () - started) / 1e9;
    //  What else ran meanwhile: numbers measured beside other work are worth less.
    double total = after.total - before.total;
    if (total > 0) {
        double others = (after.busy - before.busy) - (after.mine - before.mine);
        bench.others = others > 0 ? others / total : 0;
        bench.steal = (after.steal - before.steal) / total;
    }
    int rc = s_write_outputs (&bench, options.out);
    rmdir (context.directory);
    if (rc)
        return HERALD_EXIT_OSERR;
    if (!results_all_delivered (&bench)) {
        fprintf (stderr, "herald_bench: some runs lost events or failed: see the error column "
                         "of the samples\n");
        return HERALD_EXIT_SOFTWARE;
    }
    fprintf (stderr, "herald_bench: done in %.0f s\n", bench.elapsed);
    return 0;
}
