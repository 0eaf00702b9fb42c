/*  bench.h - herald_bench: herald's hub side by side with the alternatives.

    One run is one system (direct PUB->SUB, a zmq_proxy hub, herald's hub,
    herald's hubs federated, Redis, NATS) at one fan-out, in one mode (throughput, plain, latency,
    time to ready, subscriptions, table). The driver (bench.c) starts the system's server
    process (the federation: two, a root hub and a leaf hub joined below it), lets a backend
   (bench_zmq.c, bench_redis.c, bench_nats.c) connect the publisher and the subscribers and prove
   they are ready, publishes, and waits until every subscriber has every message or the run times
   out. The sink (bench_util.c) counts what each subscriber received; results.c writes the samples
   as data, which bench/render.py turns into docs/bench.md and docs/bench.png. The subscriptions
   case (bench_subs.c), for the two ZeroMQ hubs only, publishes no stream: it times how the hub
   takes many subscriptions and lets them go. The table case (bench_table.c) runs no server at all:
   it times herald's subscription table itself, in this process, at full scale. */

#ifndef HERALD_BENCH_H_INCLUDED
#define HERALD_BENCH_H_INCLUDED

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

//  The event every system carries on topic "event": a herald event with an
//  empty topic, that is a 0x00 byte, herald's header (18 bytes) and 100
//  bytes of payload, whose first 8 bytes are the send time in latency runs.
//  The ZeroMQ systems put the topic in front, which makes it herald's
//  one-frame message "event", 0x00, header, payload. The plain case sends
//  the classic ZeroMQ publication instead, which herald's hub forwards as
//  it came (docs/protocol.md, "Plain publications"): two frames, "event"
//  and BENCH_PAYLOAD_SIZE bytes, the first 8 the sequence number (big-
//  endian, as in herald's header: a plain publication has none of its own),
//  the rest zeros.
#define BENCH_TOPIC        "event"
#define BENCH_PAYLOAD_SIZE 100
#define BENCH_BODY_MAX     (1 + 18 + BENCH_PAYLOAD_SIZE)
//  With --batch, at most this many events share one message.
#define BENCH_BATCH_MAX   64
#define BENCH_MESSAGE_MAX (BENCH_BATCH_MAX * BENCH_BODY_MAX)

//  Warm-up topic for the systems with no subscriber count (direct and
//  zmq_proxy): the publisher repeats it until every subscriber has seen one.
#define BENCH_WARM_TOPIC "$warm"

//  Queue limit for every ZeroMQ socket on the data path and for the hubs:
//  above any run's message count, so that nothing is ever dropped.
#define BENCH_HWM 10000000

//  How often a publisher repeats a warm-up message or a herald probe while
//  it waits for one to arrive; the same for every system.
#define BENCH_RESEND_MS 1

//  A run gives up when no subscriber has received anything for this long
//  after the publisher finished, and reports what was lost.
#define BENCH_IDLE_MS 5000
//  How long a server and the clients may take to be ready.
#define BENCH_READY_TIMEOUT_MS 15000

//  SYS_FEDERATION: two of herald's hubs, a leaf joined below a root
//  (docs/federation.md); the publisher on the root, the subscribers on the
//  leaf, one hop more than SYS_HERALD.
typedef enum { SYS_DIRECT, SYS_PROXY, SYS_HERALD, SYS_REDIS, SYS_NATS, SYS_FEDERATION } sys_kind_t;

//  herald's hubs, one or federated: their clients prove readiness with a
//  probe and a count, their subscribers ping, and they must exit 0.
static inline bool
bench_herald (sys_kind_t kind)
{
    return kind == SYS_HERALD || kind == SYS_FEDERATION;
}
typedef enum {
    MODE_THROUGHPUT,
    MODE_PLAIN,  //  throughput, with plain publications: ZeroMQ systems only
    MODE_LATENCY,
    MODE_READY,
    MODE_SUBSCRIPTIONS,
    MODE_TABLE
} bench_mode_t;

//  What every subscriber of one run received. Written by the receiving
//  threads, read by the driver.
typedef struct {
    int subscribers;
    uint64_t expected;           //  events per subscriber
    _Atomic uint64_t *received;  //  per subscriber
    uint64_t *next_sequence;     //  per subscriber, owned by its receiver
    _Atomic uint64_t disorder;   //  events out of sequence
    _Atomic int complete;        //  subscribers that have every event
    _Atomic int ready;           //  subscribers that proved they are ready
    _Atomic int failed;          //  subscribers whose connection broke
    _Atomic int64_t last_ns;     //  time of the last delivery
    _Atomic int64_t done_ns;     //  when the last subscriber completed
    //  Latency runs: one-way latency of subscriber 0's events, ns
    int64_t *latency;
    size_t latency_count, latency_cap;
    uint64_t latency_skip;  //  the first events warm the path up
    pthread_mutex_t lock;
    pthread_cond_t changed;  //  ready or complete changed
} sink_t;

struct run_s;

//  A backend connects one system's clients; bench_backend.c holds what every
//  backend shares. Before open () the driver puts state_size zeroed bytes at
//  run->state. open () makes the subscribers and the publisher and returns
//  once the publisher's events are sure to reach every subscriber; publish ()
//  sends one message (plain: one payload); flush () returns once everything published has left the
//  publisher; close () releases what open () made, whether open () got to
//  the end or not, once the subscribers' reader thread (if open () started
//  one) has stopped. The driver then frees the state. verify (), if there
//  is one, is asked once every subscriber has every event: 0 if the
//  server's own counters agree with what the run sent, else -1 with the
//  run failed.
typedef struct {
    size_t state_size;
    int (*open) (struct run_s *run);
    int (*publish) (struct run_s *run, const uint8_t *body, size_t size);
    int (*flush) (struct run_s *run);
    void (*close) (struct run_s *run);
    int (*verify) (struct run_s *run);
} backend_t;

//  One run of one system.
typedef struct run_s {
    sys_kind_t kind;
    bench_mode_t mode;
    int subscribers;
    uint64_t messages;  //  events to publish
    int rate;           //  events per second, 0 for as fast as possible
    int batch;          //  events per message in throughput runs (not plain)
    int port;           //  first of the ports this run may use
    int leaf_port;      //  federation: the first of the leaf hub's, 0 otherwise
    pid_t hub;          //  the server process (federation: the root), 0 for direct
    pid_t leaf;         //  federation: the leaf hub, 0 otherwise
    sink_t sink;
    void *state;       //  the backend's
    pthread_t reader;  //  the backend's subscribers' thread, if any
    bool reader_started;
    _Atomic bool stopping;  //  the reader thread ends its loop when set
    char error[256];        //  why the run failed
} run_t;

//  bench_backend.c: the part of every backend that is the same. Open and
//  close one through these, never through its functions directly.
int backend_open (const backend_t *backend, run_t *run);
void backend_close (const backend_t *backend, run_t *run);
//  Start the thread that reads the subscribers; it loops until
//  run->stopping is set. Returns 0, or -1 with the run failed.
int backend_start_reader (run_t *run, void *(*reader) (void *), void *argument);
//  count zeroed items of size bytes, one per subscriber say, owned by the
//  caller; NULL with the run failed if out of memory.
void *backend_calloc (run_t *run, size_t count, size_t size);

extern const backend_t bench_zmq_backend;
#ifdef HERALD_BENCH_REDIS
extern const backend_t bench_redis_backend;
#endif
#ifdef HERALD_BENCH_NATS
extern const backend_t bench_nats_backend;
#endif

//  One system compared, and why it cannot run if it cannot: the six, and
//  three herald hubs of --also.
#define BENCH_MAX_SYSTEMS 9
//  Each fan-out is a point twice (throughput, plain): 8 fan-outs and the
//  other cases' points fit.
#define BENCH_MAX_POINTS 24
#define BENCH_MAX_RUNS   25

typedef struct {
    char name[32];  //  as shown: direct, zmq_proxy, herald, federation, Redis, NATS
    sys_kind_t kind;
    char program[512];  //  herald, redis-server or nats-server; empty for the others
    char version[64];   //  of the server, when it says
    bool available;
    char missing[256];  //  why not, and how to install it
} system_t;

//  One measured point: a mode at a number of subscribers (table:
//  connections).
typedef struct {
    bench_mode_t mode;
    int subscribers;
    uint64_t messages;  //  per subscriber (throughput, plain) or in all (latency);
                        //  subscriptions per subscriber (subscriptions, table)
} point_t;

//  The table case's operations, each timed on its own; TABLE_CLOCK is two
//  clock reads with nothing between, the timer's own cost; TABLE_FILL each
//  subscribe that filled the table.
typedef enum {
    TABLE_CLOCK,
    TABLE_FILL,
    TABLE_SUBSCRIBE,
    TABLE_UNSUBSCRIBE,
    TABLE_COUNT_HIT,
    TABLE_COUNT_MISS,
    TABLE_DROP,
    TABLE_OPS
} table_op_t;

//  One operation's times over a run, microseconds.
typedef struct {
    double p50, p99, max;
    size_t samples;  //  0: not measured
} spread_t;

//  What one run measured.
typedef struct {
    bool ran;       //  attempted
    bool complete;  //  every subscriber got every event
    char error[256];
    uint64_t sent, expected, delivered, disorder;
    double seconds;     //  first send to last delivery
    double throughput;  //  per subscriber, events/s
    //  The server's figures; the federation's are its two hubs' together.
    double hub_cpu;         //  seconds of CPU while publishing; < 0 if no hub
    uint64_t hub_base_kb;   //  hub RSS before any client
    uint64_t hub_ready_kb;  //  hub RSS with every client connected
    uint64_t hub_peak_kb;   //  hub VmHWM at the end
    double p50, p99, p999;  //  latency, microseconds
    size_t samples;
    double hub_start_ms;  //  start of the hub until it listens
    double clients_ms;    //  clients' start until the publisher is ready
    //  Subscriptions runs; NaN (0 for the kB) where not measured
    double counted_ms;            //  first subscribe until the hub counts all (herald)
    double delivering_ms;         //  first subscribe until every connection has an event
    uint64_t hub_subscribed_kb;   //  hub RSS once they are taken (hub_ready_kb: before)
    double count_p50, count_p99;  //  a COUNT's round trip among them, us (herald)
    size_t count_samples;
    double released_ms;  //  closing the connections until STATS counts none (herald)
    //  Table runs; NaN (samples 0) where not measured
    double table_fill_ms;        //  every subscription, subscribed one after another
    double table_fill_worst_at;  //  subscriptions held after the slowest of those
    double table_bytes;          //  malloc'd bytes per subscription
    double table_counted;        //  connections a matching count found, on average
    spread_t table_ops[TABLE_OPS];
} sample_t;

typedef struct {
    system_t systems[BENCH_MAX_SYSTEMS];
    int system_count;
    point_t points[BENCH_MAX_POINTS];
    int point_count;
    int runs;
    bool quick;
    int rate;   //  latency runs' events per second
    int batch;  //  as in run_t
    char date[64], machine[256], cpu[160], libraries[256], command[512];
    double elapsed;  //  seconds the whole bench took
    double others;   //  share of the CPUs that other processes used meanwhile
    double steal;    //  share of the CPUs the hypervisor took
    sample_t samples[BENCH_MAX_SYSTEMS][BENCH_MAX_POINTS][BENCH_MAX_RUNS];
} bench_t;

//  results.c: the samples as data, for bench/render.py. RESULTS_SAMPLES
//  has a row per run that ran: system, mode, subscribers, messages, run
//  (1..), then sample_t's fields; an empty cell was not measured (no hub,
//  no latency samples, another case's field, herald's COUNT and STATS for
//  zmq_proxy, a run that did not complete). RESULTS_META has the
//  rest of bench_t: date, machine, options, load, systems and points.
#define RESULTS_SAMPLES "bench.csv"
#define RESULTS_META    "bench.json"
void results_csv (const bench_t *bench, FILE *out);
void results_meta (const bench_t *bench, FILE *out);
//  Write both into directory. Returns 0, or -1 after saying why.
int results_write (const bench_t *bench, const char *directory);
//  True if every run that ran delivered everything, in order.
bool results_all_delivered (const bench_t *bench);
const char *results_mode_name (bench_mode_t mode);

//  bench_util.c: the sink
int sink_init (sink_t *self, int subscribers, uint64_t expected, size_t latency_cap,
               uint64_t latency_skip);
void sink_destroy (sink_t *self);
//  A message of one or more events reached subscriber index: check their
//  sequence, count them, take their latency. Safe from one thread per
//  subscriber at a time.
void sink_deliver (sink_t *self, int index, const void *body, size_t size);
//  The same for the payload of a plain publication (see BENCH_TOPIC).
void sink_deliver_plain (sink_t *self, int index, const void *payload, size_t size);
//  Subscriber index is ready, or its connection broke.
void sink_set_ready (sink_t *self, int index);
void sink_set_failed (sink_t *self, int index);
//  Wait until count (ready or complete) reaches target or ms pass; true if
//  it did.
bool sink_wait_ready (sink_t *self, int target, int ms);
bool sink_wait_complete (sink_t *self, int ms);
uint64_t sink_delivered (sink_t *self);

//  bench_util.c: clocks, processes, /proc
int64_t bench_now_ns (void);
void run_fail (run_t *run, const char *format, ...) __attribute__ ((format (printf, 2, 3)));
//  Start argv[0] with stdout and stderr appended to log_path. Returns the
//  pid, or -1 (errno set).
pid_t proc_spawn (char *const argv[], const char *log_path);
//  Wait until a TCP connection to 127.0.0.1:port is accepted, or pid dies,
//  or ms pass. Returns 0 once it accepted.
int proc_wait_port (pid_t pid, int port, int ms);
//  Stop pid with SIGTERM, again after a second (repeated is then true),
//  then SIGKILL after ms more, and reap it. Returns its wait status, or -1.
int proc_stop (pid_t pid, int ms, bool *repeated);
//  Sort durations in ns; then the fraction-th percentile of them, in us.
void bench_sort_ns (int64_t *values, size_t count);
double bench_percentile_us (const int64_t *sorted, size_t count, double fraction);
//  CPU seconds (user + system, all threads) of pid; -1 if unknown.
double proc_cpu_seconds (pid_t pid);
//  A field of /proc/pid/status in kB (VmRSS, VmHWM); 0 if unknown.
uint64_t proc_status_kb (pid_t pid, const char *field);

//  bench_subs.c: the subscriptions case on the hub (herald or zmq_proxy)
//  that run->port serves, started by the driver: run->subscribers
//  connections subscribe per_connection topics each. Fills the sample's
//  subscriptions fields, hub_ready_kb and clients_ms. Returns 0, or -1 with
//  the run failed.
int bench_subscriptions (run_t *run, int per_connection, sample_t *sample);

//  bench_table.c: the table case, herald's subscription table in this
//  process: run->subscribers connections (a multiple of 100, at least
//  1,000) of per_connection (100) prefixes each. Fills the sample's table
//  fields. Returns 0, or -1 with the run failed.
int bench_table (run_t *run, int per_connection, sample_t *sample);

//  bench_zmq.c: the loopback endpoint of port; a socket option set, or the
//  run failed naming what (returns 0 or -1), for every ZeroMQ client.
void bench_zmq_endpoint (char *out, size_t size, int port);
int bench_zmq_set (run_t *run, void *socket, int option, const void *value, size_t size,
                   const char *what);
int bench_zmq_set_int (run_t *run, void *socket, int option, int value, const char *what);

//  bench_zmq.c: the zmq_proxy hub, run as "herald_bench --zmq-proxy F B HWM".
int bench_zmq_proxy_main (const char *frontend, const char *backend, int hwm);

#endif
