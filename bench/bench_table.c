/*  bench_table.c - the table case: herald's subscription table (src/
    subtable.c, linked from heraldcore) in the bench's own process, at the
    scale the hub is meant for: 1,000,000 subscriptions over 10,000
    connections. No hub, no socket: what one subscribe, unsubscribe, count
    or dropped connection costs the hub's thread, and what a subscription
    costs in memory.

    Every connection holds 100 prefixes, subscribed in rounds (prefix j of
    every connection, then j + 1), as connections subscribing at once
    would, so that one connection's holds are not neighbours in memory:
    - 40 shared by many: "market/<n>", n of 1,000 names, each held by 400
      connections (connection c holds every n with n = c mod 25);
    - 10 shared by fewer and nested in those: "market/<n>/trades", each held
      by 100 connections (every n with n = c mod 100); for every 100th
      connection the last of them is "market/", the firehose, instead;
    - 50 unique to the connection: "client/<c>/<j>".
    No two prefixes of one connection overlap except "market/<n>" and
    "market/<n>/trades".

    Each operation is timed on its own, two CLOCK_MONOTONIC reads around it
    (clock_gettime in the vDSO costs tens of nanoseconds, a fraction of the
    cheapest operation; two reads with nothing between are timed too, the
    floor under every figure), so that the distribution keeps its tail,
    which a batch of operations divided would average away: a table that
    grows all at once (a hash table that rehashes) shows only there, in a
    few subscribes in a million, far past the 99th percentile. So, timed
    one by one:
    - every subscribe that fills the table;
    - count of a topic that matches: "market/<n>/trades/eu", three
      prefixes ("market/", "market/<n>", "market/<n>/trades") held by about
      500 connections, each counted once;
    - count of a topic that matches nothing, as long: "absent/<n>/trades/eu";
    - subscribe, a prefix new to an existing connection: in turns a shared
      "market/<n>" it did not hold (a hold more on an existing prefix) and
      a prefix of its own (a new prefix), each connection once;
    - unsubscribe of those, in another order;
    - drop a connection and its 100 prefixes, as when it closes; it then
      subscribes them again, untimed, so that the table stays at full
      size.
    The table's memory is malloc's bytes in use (mallinfo2: uordblks, and
    hblkhd for the hash tables' bucket arrays, which are mmapped) once it is
    full, less before it was made: its items, their keys and malloc's
    headers. Every answer is checked: a count against the layout, every
    change as the table reports it, the totals after each step. */

#include "bench.h"
#include "herald.h"
#include "subtable.h"

#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

//  The layout, per connection.
#define SHARED      40  //  "market/<n>"
#define NESTED      10  //  "market/<n>/trades" (or "market/")
#define PER_CONN    (SHARED + NESTED + 50)
#define NAMES       1000              //  values of n
#define NAME_SPREAD (NAMES / SHARED)  //  n = c mod 25
#define NEST_SPREAD (NAMES / NESTED)  //  n = c mod 100
#define FIREHOSE    100               //  every 100th connection holds "market/"
//  The subscribe message's largest: 0x01, "client/<c>/n<sample>".
#define MESSAGE_MAX 40
//  Operations timed per run: as many as there are connections, so that
//  each subscribe is a different connection's, at most SAMPLES; a tenth as
//  many connections dropped.
#define SAMPLES 10000
//  A stride through the connections and the samples: a prime, so coprime
//  with any count of them that is not its multiple (which is refused), and
//  i -> i * STRIDE mod N is one to one.
#define STRIDE 7919

typedef struct {
    run_t *run;
    subtable_t *table;
    int connections;
    int samples, drops;
    int64_t *took;  //  samples, ns
} tablecase_t;

//  Subscribe (or unsubscribe) message of connection's j-th prefix.
static size_t
s_prefix (char *out, int connection, int j, bool subscribe)
{
    out[0] = subscribe ? 1 : 0;
    char *text = out + 1;
    int size;
    if (j < SHARED)
        size =
            snprintf (text, MESSAGE_MAX - 1, "market/%04d", (connection + NAME_SPREAD * j) % NAMES);
    else if (j == SHARED + NESTED - 1 && connection % FIREHOSE == 0)
        size = snprintf (text, MESSAGE_MAX - 1, "market/");
    else if (j < SHARED + NESTED)
        size = snprintf (text, MESSAGE_MAX - 1, "market/%04d/trades",
                         (connection + NEST_SPREAD * (j - SHARED)) % NAMES);
    else
        size =
            snprintf (text, MESSAGE_MAX - 1, "client/%05d/%02d", connection, j - SHARED - NESTED);
    return (size_t) size + 1;
}

//  The sample-th new subscription: a connection, each once, and in turns a
//  "market/<n>" it does not hold (n != c mod 25) or a prefix of its own.
static size_t
s_new_prefix (tablecase_t *self, char *out, int sample, bool subscribe, int *connection)
{
    *connection = (int) (((int64_t) sample * STRIDE + 1) % self->connections);
    out[0] = subscribe ? 1 : 0;
    int size;
    if (sample % 2 == 0)
        size = snprintf (out + 1, MESSAGE_MAX - 1, "market/%04d",
                         (*connection + 1 + NAME_SPREAD * (sample / 2 % SHARED)) % NAMES);
    else
        size = snprintf (out + 1, MESSAGE_MAX - 1, "client/%05d/n%05d", *connection, sample);
    return (size_t) size + 1;
}

//  Connections holding a prefix of "market/<n>/trades/eu": those of
//  "market/<n>" (n = c mod 25), of "market/<n>/trades" (n = c mod 100: a
//  subset, except where "market/" took its place) and of "market/".
static uint64_t
s_expected_count (const tablecase_t *self, int name)
{
    uint64_t count = 0;
    for (int connection = 0; connection < self->connections; connection++)
        count += connection % NAME_SPREAD == name % NAME_SPREAD || connection % FIREHOSE == 0;
    return count;
}

//  malloc's bytes in use, mmapped blocks included.
static double
s_malloced (void)
{
    struct mallinfo2 info = mallinfo2 ();
    return (double) info.uordblks + (double) info.hblkhd;
}

//  The samples' distribution into spread.
static void
s_spread (int64_t *took, int count, spread_t *spread)
{
    bench_sort_ns (took, (size_t) count);
    spread->p50 = bench_percentile_us (took, (size_t) count, 0.50);
    spread->p99 = bench_percentile_us (took, (size_t) count, 0.99);
    spread->max = (double) took[count - 1] / 1000.0;
    spread->samples = (size_t) count;
}

//  Fill the table, prefix j of every connection at a time, each subscribe
//  timed (each round's messages are made first); their sum, and how many
//  the table held after the slowest.
static int
s_fill (tablecase_t *self, sample_t *sample)
{
    size_t count = (size_t) self->connections * PER_CONN;
    int64_t *took = backend_calloc (self->run, count, sizeof *took);
    size_t *sizes = backend_calloc (self->run, (size_t) self->connections, sizeof *sizes);
    char *messages = backend_calloc (self->run, (size_t) self->connections, MESSAGE_MAX);
    int rc = took && sizes && messages ? 0 : -1;
    int64_t spent = 0, worst = -1;
    for (int j = 0; j < PER_CONN && rc == 0; j++) {
        for (int connection = 0; connection < self->connections; connection++)
            sizes[connection] =
                s_prefix (messages + (size_t) connection * MESSAGE_MAX, connection, j, true);
        int64_t *round = took + (size_t) j * (size_t) self->connections;
        for (int connection = 0; connection < self->connections && rc == 0; connection++) {
            int64_t start = bench_now_ns ();
            subtable_result_t result =
                subtable_apply (self->table, (uint64_t) connection + 1,
                                messages + (size_t) connection * MESSAGE_MAX, sizes[connection]);
            round[connection] = bench_now_ns () - start;
            spent += round[connection];
            if (round[connection] > worst) {
                worst = round[connection];
                sample->table_fill_worst_at = (double) subtable_total (self->table);
            }
            if (result != SUBTABLE_CHANGED) {
                run_fail (self->run, "subscribing prefix %d of connection %d: %d, not changed", j,
                          connection, (int) result);
                rc = -1;
            }
        }
    }
    if (rc == 0) {
        sample->table_fill_ms = (double) spent / 1e6;
        s_spread (took, (int) count, &sample->table_ops[TABLE_FILL]);
    }
    free (took);
    free (sizes);
    free (messages);
    return rc;
}

//  Two clock reads with nothing between.
static void
s_time_clock (tablecase_t *self, sample_t *sample)
{
    for (int index = 0; index < self->samples; index++) {
        int64_t start = bench_now_ns ();
        self->took[index] = bench_now_ns () - start;
    }
    s_spread (self->took, self->samples, &sample->table_ops[TABLE_CLOCK]);
}

//  Counts of "<first>/<n>/trades/eu", n through every name; each answer
//  checked: expected (per n mod 25), or 0 where nothing matches.
static int
s_time_count (tablecase_t *self, const char *first, bool matching, spread_t *spread,
              double *counted)
{
    uint64_t expected[NAME_SPREAD];
    for (int name = 0; name < NAME_SPREAD; name++)
        expected[name] = matching ? s_expected_count (self, name) : 0;
    char topic[MESSAGE_MAX];
    double sum = 0;
    for (int index = 0; index < self->samples; index++) {
        int name = (int) ((int64_t) index * STRIDE % NAMES);
        size_t size = (size_t) snprintf (topic, sizeof topic, "%s/%04d/trades/eu", first, name);
        int64_t start = bench_now_ns ();
        uint64_t count = subtable_count (self->table, topic, size);
        self->took[index] = bench_now_ns () - start;
        if (count != expected[name % NAME_SPREAD]) {
            run_fail (self->run, "count of %s was %" PRIu64 ", not %" PRIu64, topic, count,
                      expected[name % NAME_SPREAD]);
            return -1;
        }
        sum += (double) count;
    }
    s_spread (self->took, self->samples, spread);
    if (counted)
        *counted = sum / self->samples;
    return 0;
}

//  A new prefix for each of samples connections, then every one of them
//  unsubscribed, in another order (a stride through them).
static int
s_time_changes (tablecase_t *self, sample_t *sample)
{
    char message[MESSAGE_MAX];
    int connection;
    for (int index = 0; index < self->samples; index++) {
        size_t size = s_new_prefix (self, message, index, true, &connection);
        int64_t start = bench_now_ns ();
        subtable_result_t result =
            subtable_apply (self->table, (uint64_t) connection + 1, message, size);
        self->took[index] = bench_now_ns () - start;
        if (result != SUBTABLE_CHANGED) {
            run_fail (self->run, "subscribe %.*s of connection %d: %d, not changed", (int) size - 1,
                      message + 1, connection, (int) result);
            return -1;
        }
    }
    s_spread (self->took, self->samples, &sample->table_ops[TABLE_SUBSCRIBE]);
    //  Another order: STRIDE through the samples (their count, at most
    //  SAMPLES, is no multiple of it).
    for (int index = 0; index < self->samples; index++) {
        int which = (int) ((int64_t) index * STRIDE % self->samples);
        size_t size = s_new_prefix (self, message, which, false, &connection);
        int64_t start = bench_now_ns ();
        subtable_result_t result =
            subtable_apply (self->table, (uint64_t) connection + 1, message, size);
        self->took[index] = bench_now_ns () - start;
        if (result != SUBTABLE_CHANGED) {
            run_fail (self->run, "unsubscribe %.*s of connection %d: %d, not changed",
                      (int) size - 1, message + 1, connection, (int) result);
            return -1;
        }
    }
    s_spread (self->took, self->samples, &sample->table_ops[TABLE_UNSUBSCRIBE]);
    return 0;
}

//  Drop connections, each then subscribing its prefixes again, untimed.
static int
s_time_drops (tablecase_t *self, sample_t *sample)
{
    char message[MESSAGE_MAX];
    for (int index = 0; index < self->drops; index++) {
        int connection = (int) (((int64_t) index * STRIDE + 3) % self->connections);
        int64_t start = bench_now_ns ();
        bool dropped = subtable_drop (self->table, (uint64_t) connection + 1);
        self->took[index] = bench_now_ns () - start;
        if (!dropped) {
            run_fail (self->run, "connection %d held nothing to drop", connection);
            return -1;
        }
        for (int j = 0; j < PER_CONN; j++) {
            size_t size = s_prefix (message, connection, j, true);
            if (subtable_apply (self->table, (uint64_t) connection + 1, message, size)
                != SUBTABLE_CHANGED) {
                run_fail (self->run, "connection %d could not subscribe again", connection);
                return -1;
            }
        }
    }
    s_spread (self->took, self->drops, &sample->table_ops[TABLE_DROP]);
    return 0;
}

//  The table as the layout says: every subscription, every connection.
static int
s_check_totals (tablecase_t *self, const char *when)
{
    uint64_t want = (uint64_t) self->connections * PER_CONN;
    if (subtable_total (self->table) != want
        || subtable_connections (self->table) != (uint64_t) self->connections) {
        run_fail (self->run,
                  "%s, the table held %" PRIu64 " subscriptions of %" PRIu64
                  " connections, not %" PRIu64 " of %d",
                  when, subtable_total (self->table), subtable_connections (self->table), want,
                  self->connections);
        return -1;
    }
    return 0;
}

static int
s_measure (tablecase_t *self, sample_t *sample)
{
    double before = s_malloced ();
    //  As the hub makes it with its defaults.
    self->table = subtable_new (HERALD_MAX_TOPIC_DEFAULT, HERALD_MAX_SUBSCRIPTIONS_DEFAULT);
    if (!self->table) {
        run_fail (self->run, "cannot make the table: out of memory");
        return -1;
    }
    if (s_fill (self, sample) || s_check_totals (self, "once filled"))
        return -1;
    sample->table_bytes = (s_malloced () - before) / (double) subtable_total (self->table);
    s_time_clock (self, sample);
    if (s_time_count (self, "market", true, &sample->table_ops[TABLE_COUNT_HIT],
                      &sample->table_counted)
        || s_time_count (self, "absent", false, &sample->table_ops[TABLE_COUNT_MISS], NULL)
        || s_time_changes (self, sample) || s_check_totals (self, "after the unsubscribes")
        || s_time_drops (self, sample) || s_check_totals (self, "after the drops"))
        return -1;
    return 0;
}

int
bench_table (run_t *run, int per_connection, sample_t *sample)
{
    sample->table_fill_ms = sample->table_bytes = sample->table_counted = NAN;
    sample->table_fill_worst_at = NAN;
    if (per_connection != PER_CONN) {
        run_fail (run, "the table case's layout has %d prefixes per connection, not %d", PER_CONN,
                  per_connection);
        return -1;
    }
    tablecase_t self = {.run = run, .connections = run->subscribers};
    self.samples = self.connections < SAMPLES ? self.connections : SAMPLES;
    self.drops = self.samples / 10;
    if (self.connections < 1000 || self.connections % FIREHOSE || self.connections % STRIDE == 0) {
        run_fail (run, "the table case wants a multiple of %d connections, at least 1000",
                  FIREHOSE);
        return -1;
    }
    self.took = backend_calloc (run, (size_t) self.samples, sizeof *self.took);
    int rc = self.took ? s_measure (&self, sample) : -1;
    subtable_destroy (&self.table);
    free (self.took);
    //  What the table took goes back to the system before the next run.
    malloc_trim (0);
    return rc;
}
