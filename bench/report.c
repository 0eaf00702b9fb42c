/*  report.c - herald_bench's report: Markdown tables of medians with
    min-max and herald's ratios, the targets met or missed, and a chart
    drawn by gnuplot. Only runs that delivered everything count towards the
    medians; the delivered/sent table shows every run. */

#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef double (*metric_fn) (const sample_t *sample, const point_t *point);

typedef struct {
    int count;  //  runs that count
    double median, min, max;
} stats_t;

static double
s_throughput (const sample_t *sample, const point_t *point)
{
    (void) point;
    return sample->throughput;
}

static double
s_p50 (const sample_t *sample, const point_t *point)
{
    (void) point;
    return sample->p50;
}

static double
s_p99 (const sample_t *sample, const point_t *point)
{
    (void) point;
    return sample->p99;
}

static double
s_p999 (const sample_t *sample, const point_t *point)
{
    (void) point;
    return sample->p999;
}

//  Hub CPU seconds per million events published.
static double
s_cpu_per_million (const sample_t *sample, const point_t *point)
{
    (void) point;
    return sample->hub_cpu < 0 || !sample->sent ? NAN
                                                : sample->hub_cpu * 1e6 / (double) sample->sent;
}

static double
s_peak_mb (const sample_t *sample, const point_t *point)
{
    (void) point;
    return sample->hub_peak_kb ? (double) sample->hub_peak_kb / 1024.0 : NAN;
}

//  Hub memory per connected subscriber, kB.
static double
s_kb_per_subscriber (const sample_t *sample, const point_t *point)
{
    if (!sample->hub_ready_kb || !sample->hub_base_kb)
        return NAN;
    return ((double) sample->hub_ready_kb - (double) sample->hub_base_kb) / point->subscribers;
}

static double
s_ready_ms (const sample_t *sample, const point_t *point)
{
    (void) point;
    return (isnan (sample->hub_start_ms) ? 0 : sample->hub_start_ms) + sample->clients_ms;
}

static double
s_hub_start_ms (const sample_t *sample, const point_t *point)
{
    (void) point;
    return sample->hub_start_ms;
}

static int
s_compare_double (const void *left, const void *right)
{
    double a = *(const double *) left, b = *(const double *) right;
    return (a > b) - (a < b);
}

static stats_t
s_stats (const bench_t *bench, int system, int point, metric_fn metric)
{
    double values[BENCH_MAX_RUNS];
    stats_t stats = {0, NAN, NAN, NAN};
    for (int run = 0; run < bench->runs; run++) {
        const sample_t *sample = &bench->samples[system][point][run];
        if (!sample->ran || !sample->complete)
            continue;
        double value = metric (sample, &bench->points[point]);
        if (!isnan (value))
            values[stats.count++] = value;
    }
    if (stats.count == 0)
        return stats;
    qsort (values, (size_t) stats.count, sizeof values[0], s_compare_double);
    stats.min = values[0];
    stats.max = values[stats.count - 1];
    stats.median = stats.count % 2 ? values[stats.count / 2]
                                   : (values[stats.count / 2 - 1] + values[stats.count / 2]) / 2;
    return stats;
}

//  --------------------------------------------------------------------------
//  Formatting

typedef void (*format_fn) (char *out, size_t size, double value);

static void
s_format_rate (char *out, size_t size, double value)
{
    if (value >= 1e6)
        snprintf (out, size, "%.2fM", value / 1e6);
    else if (value >= 1e4)
        snprintf (out, size, "%.0fk", value / 1e3);
    else if (value >= 1e3)
        snprintf (out, size, "%.1fk", value / 1e3);
    else
        snprintf (out, size, "%.0f", value);
}

static void
s_format_plain (char *out, size_t size, double value)
{
    if (value >= 100)
        snprintf (out, size, "%.0f", value);
    else if (value >= 10)
        snprintf (out, size, "%.1f", value);
    else
        snprintf (out, size, "%.2f", value);
}

static void
s_format_ratio (char *out, size_t size, double value)
{
    if (isnan (value))
        snprintf (out, size, "—");
    else
        snprintf (out, size, "%.2fx", value);
}

//  Why a system has no value at a point: not installed, failed, or none.
static const char *
s_missing (const bench_t *bench, int system, int point)
{
    if (!bench->systems[system].available)
        return "not installed";
    for (int run = 0; run < bench->runs; run++) {
        const sample_t *sample = &bench->samples[system][point][run];
        if (sample->ran && !sample->complete)
            return sample->delivered < sample->expected && sample->expected ? "lost events"
                                                                            : "failed";
    }
    return "—";
}

//  "median (min–max)", or why there is none.
static void
s_cell (char *out, size_t size, const bench_t *bench, int system, int point, metric_fn metric,
        format_fn format)
{
    stats_t stats = s_stats (bench, system, point, metric);
    if (stats.count == 0) {
        snprintf (out, size, "%s", s_missing (bench, system, point));
        return;
    }
    char median[24], min[24], max[24];
    format (median, sizeof median, stats.median);
    format (min, sizeof min, stats.min);
    format (max, sizeof max, stats.max);
    if (stats.count == 1)
        snprintf (out, size, "%s", median);
    else
        snprintf (out, size, "%s (%s–%s)", median, min, max);
    //  A run that lost events or failed is left out of the median: say so.
    if (stats.count < bench->runs)
        snprintf (out + strlen (out), size - strlen (out), " [%d of %d runs]", stats.count,
                  bench->runs);
}

static int
s_find_system (const bench_t *bench, sys_kind_t kind)
{
    for (int index = 0; index < bench->system_count; index++)
        if (bench->systems[index].kind == kind)
            return index;  //  the first: --also systems come after herald
    return -1;
}

static int
s_find_point (const bench_t *bench, bench_mode_t mode, int subscribers)
{
    for (int index = 0; index < bench->point_count; index++)
        if (bench->points[index].mode == mode
            && (subscribers == 0 || bench->points[index].subscribers == subscribers))
            return index;
    return -1;
}

static double
s_median (const bench_t *bench, int system, int point, metric_fn metric)
{
    if (system < 0 || point < 0)
        return NAN;
    return s_stats (bench, system, point, metric).median;
}

static bool
s_has_mode (const bench_t *bench, bench_mode_t mode)
{
    return s_find_point (bench, mode, 0) >= 0;
}

//  The header of a table whose columns are the systems (hubs only if asked).
static void
s_table_head (FILE *out, const bench_t *bench, const char *first, bool hubs_only)
{
    fprintf (out, "| %s |", first);
    for (int index = 0; index < bench->system_count; index++)
        if (!hubs_only || bench->systems[index].kind != SYS_DIRECT)
            fprintf (out, " %s |", bench->systems[index].name);
    fprintf (out, "\n|---|");
    for (int index = 0; index < bench->system_count; index++)
        if (!hubs_only || bench->systems[index].kind != SYS_DIRECT)
            fprintf (out, "---:|");
}

//  One row of a table whose columns are the systems.
static void
s_table_row (FILE *out, const bench_t *bench, const char *label, int point, metric_fn metric,
             format_fn format, bool hubs_only)
{
    fprintf (out, "| %s |", label);
    for (int index = 0; index < bench->system_count; index++) {
        if (hubs_only && bench->systems[index].kind == SYS_DIRECT)
            continue;
        char cell[160];
        s_cell (cell, sizeof cell, bench, index, point, metric, format);
        fprintf (out, " %s |", cell);
    }
    fprintf (out, "\n");
}

//  --------------------------------------------------------------------------
//  Sections

//  The throughput table's header row, with the ratio columns' titles.
static void
s_throughput_head (FILE *out, const bench_t *bench)
{
    int herald = s_find_system (bench, SYS_HERALD);
    fprintf (out, "| subscribers |");
    for (int index = 0; index < bench->system_count; index++)
        fprintf (out, " %s |", bench->systems[index].name);
    for (int index = 0; herald >= 0 && index < bench->system_count; index++) {
        if (index == herald)
            continue;
        if (bench->systems[index].kind == SYS_HERALD)
            fprintf (out, " %s/herald |", bench->systems[index].name);
        else
            fprintf (out, " herald/%s |", bench->systems[index].name);
    }
    fprintf (out, "\n|---|");
    for (int index = 0; index < bench->system_count; index++)
        fprintf (out, "---:|");
}

static void
s_throughput_section (FILE *out, const bench_t *bench)
{
    if (!s_has_mode (bench, MODE_THROUGHPUT))
        return;
    int herald = s_find_system (bench, SYS_HERALD);
    fprintf (out,
             "## Throughput per subscriber\n\n"
             "Events per second that each subscriber received, the publisher sending "
             "as fast as it can; median of %d runs (min–max).\n\n",
             bench->runs);
    s_throughput_head (out, bench);
    for (int index = 0; herald >= 0 && index < bench->system_count; index++)
        if (index != herald)
            fprintf (out, "---:|");
    fprintf (out, "\n");
    for (int point = 0; point < bench->point_count; point++) {
        if (bench->points[point].mode != MODE_THROUGHPUT)
            continue;
        fprintf (out, "| %d |", bench->points[point].subscribers);
        for (int index = 0; index < bench->system_count; index++) {
            char cell[160];
            s_cell (cell, sizeof cell, bench, index, point, s_throughput, s_format_rate);
            fprintf (out, " %s |", cell);
        }
        double mine = s_median (bench, herald, point, s_throughput);
        for (int index = 0; herald >= 0 && index < bench->system_count; index++) {
            if (index == herald)
                continue;
            double theirs = s_median (bench, index, point, s_throughput);
            bool variant = bench->systems[index].kind == SYS_HERALD;
            char ratio[32];
            s_format_ratio (ratio, sizeof ratio, variant ? theirs / mine : mine / theirs);
            fprintf (out, " %s |", ratio);
        }
        fprintf (out, "\n");
    }
    fprintf (out, "\n");
}

static void
s_delivery_section (FILE *out, const bench_t *bench)
{
    fprintf (out, "### Delivered / sent\n\n"
                  "Every event that every subscriber was sent, over all runs; any loss, "
                  "reordering or failed run is shown here.\n\n");
    s_table_head (out, bench, "case", false);
    fprintf (out, "\n");
    for (int point = 0; point < bench->point_count; point++) {
        const point_t *what = &bench->points[point];
        if (what->mode == MODE_READY)
            continue;
        fprintf (out, "| %s, %d subscriber%s |",
                 what->mode == MODE_LATENCY ? "latency" : "throughput", what->subscribers,
                 what->subscribers > 1 ? "s" : "");
        for (int index = 0; index < bench->system_count; index++) {
            if (!bench->systems[index].available) {
                fprintf (out, " not installed |");
                continue;
            }
            uint64_t expected = 0, delivered = 0, disorder = 0;
            int failed = 0;
            for (int run = 0; run < bench->runs; run++) {
                const sample_t *sample = &bench->samples[index][point][run];
                expected += sample->expected;
                delivered += sample->delivered;
                disorder += sample->disorder;
                failed += sample->ran && !sample->complete;
            }
            if (!failed && expected == delivered && !disorder)
                fprintf (out, " %llu/%llu |", (unsigned long long) delivered,
                         (unsigned long long) expected);
            else {
                fprintf (out, " **%llu/%llu", (unsigned long long) delivered,
                         (unsigned long long) expected);
                if (expected > delivered)
                    fprintf (out, ", lost %llu", (unsigned long long) (expected - delivered));
                if (disorder)
                    fprintf (out, ", %llu out of order", (unsigned long long) disorder);
                if (failed)
                    fprintf (out, ", %d run%s failed", failed, failed > 1 ? "s" : "");
                fprintf (out, "** |");
            }
        }
        fprintf (out, "\n");
    }
    fprintf (out, "\n");
}

static void
s_latency_section (FILE *out, const bench_t *bench)
{
    int point = s_find_point (bench, MODE_LATENCY, 0);
    if (point < 0)
        return;
    int herald = s_find_system (bench, SYS_HERALD);
    fprintf (out,
             "## Latency\n\n"
             "One-way latency in microseconds, publisher paced at %d events/s, 1 "
             "subscriber, %llu samples per run; median of %d runs (min–max).\n\n",
             bench->rate, (unsigned long long) bench->points[point].messages, bench->runs);
    s_table_head (out, bench, "", false);
    fprintf (out, "\n");
    s_table_row (out, bench, "p50", point, s_p50, s_format_plain, false);
    s_table_row (out, bench, "p99", point, s_p99, s_format_plain, false);
    s_table_row (out, bench, "p99.9", point, s_p999, s_format_plain, false);
    if (herald >= 0) {
        double mine = s_median (bench, herald, point, s_p50);
        fprintf (out, "| herald p50 / this p50 |");
        for (int index = 0; index < bench->system_count; index++) {
            char ratio[32];
            s_format_ratio (ratio, sizeof ratio, mine / s_median (bench, index, point, s_p50));
            fprintf (out, " %s |", ratio);
        }
        fprintf (out, "\n");
    }
    fprintf (out, "\n");
}

static void
s_cost_section (FILE *out, const bench_t *bench)
{
    if (!s_has_mode (bench, MODE_THROUGHPUT))
        return;
    fprintf (out,
             "## What the hub costs, and how it grows\n\n"
             "The server process only (hub, zmq_proxy, redis-server, nats-server); "
             "direct has none. Median of %d runs (min–max).\n\n"
             "Hub CPU seconds (user + system, all threads) per million events published, "
             "while the throughput runs published:\n\n",
             bench->runs);
    s_table_head (out, bench, "subscribers", true);
    fprintf (out, "\n");
    for (int point = 0; point < bench->point_count; point++)
        if (bench->points[point].mode == MODE_THROUGHPUT) {
            char label[16];
            snprintf (label, sizeof label, "%d", bench->points[point].subscribers);
            s_table_row (out, bench, label, point, s_cpu_per_million, s_format_plain, true);
        }
    fprintf (out, "\nHub peak RSS (VmHWM), MB, at the end of the run (it includes what queued "
                  "while the publisher was ahead):\n\n");
    s_table_head (out, bench, "subscribers", true);
    fprintf (out, "\n");
    for (int point = 0; point < bench->point_count; point++)
        if (bench->points[point].mode == MODE_THROUGHPUT) {
            char label[16];
            snprintf (label, sizeof label, "%d", bench->points[point].subscribers);
            s_table_row (out, bench, label, point, s_peak_mb, s_format_plain, true);
        }
    fprintf (out, "\nHub memory per connected subscriber, kB: RSS with every subscriber "
                  "connected and ready, less RSS before the first, divided by their number:\n\n");
    s_table_head (out, bench, "subscribers", true);
    fprintf (out, "\n");
    //  With a few subscribers the first connection's own cost dominates:
    //  from 16 on, when measured.
    int least = 0;
    for (int point = 0; point < bench->point_count; point++)
        if (bench->points[point].mode == MODE_THROUGHPUT && bench->points[point].subscribers >= 16)
            least = 16;
    for (int point = 0; point < bench->point_count; point++)
        if (bench->points[point].mode == MODE_THROUGHPUT
            && bench->points[point].subscribers >= least) {
            char label[16];
            snprintf (label, sizeof label, "%d", bench->points[point].subscribers);
            s_table_row (out, bench, label, point, s_kb_per_subscriber, s_format_plain, true);
        }
    fprintf (out, "\n");
}

static void
s_ready_section (FILE *out, const bench_t *bench)
{
    if (!s_has_mode (bench, MODE_READY))
        return;
    fprintf (out,
             "## Time to ready\n\n"
             "Milliseconds from starting the server until it accepts connections, plus "
             "from starting the clients until every subscriber is counted (herald: `WAIT`; "
             "Redis: `SUBSCRIBE` confirmed; NATS: flushed; direct, zmq_proxy: a warm-up "
             "message seen) and the publisher's path is proven (herald: `PROBE`). Median "
             "of %d runs (min–max).\n\n",
             bench->runs);
    s_table_head (out, bench, "subscribers", false);
    fprintf (out, "\n");
    int first = -1;
    for (int point = 0; point < bench->point_count; point++)
        if (bench->points[point].mode == MODE_READY) {
            char label[16];
            snprintf (label, sizeof label, "%d", bench->points[point].subscribers);
            s_table_row (out, bench, label, point, s_ready_ms, s_format_plain, false);
            if (first < 0)
                first = point;
        }
    s_table_row (out, bench, "of which server start", first, s_hub_start_ms, s_format_plain, false);
    fprintf (out, "\n");
}

//  A ratio target: met, or missed by how much, from the medians; and
//  whether the runs agree, that is whether herald's min-max and the other
//  system's (scaled by the goal) do not overlap. Throughput: herald / other
//  must reach goal; latency (lower is better): other / herald.
static void
s_target (FILE *out, const bench_t *bench, const char *what, int other, int point, metric_fn metric,
          double goal, bool strictly, bool lower_is_better)
{
    int herald = s_find_system (bench, SYS_HERALD);
    stats_t mine = {0, NAN, NAN, NAN}, theirs = {0, NAN, NAN, NAN};
    if (herald >= 0 && other >= 0 && point >= 0) {
        mine = s_stats (bench, herald, point, metric);
        theirs = s_stats (bench, other, point, metric);
    }
    double ratio = lower_is_better ? theirs.median / mine.median : mine.median / theirs.median;
    char verdict[96], measured[32];
    const char *agree = "";
    if (isnan (ratio))
        snprintf (verdict, sizeof verdict, "not measured");
    else {
        if (strictly ? ratio > goal : ratio >= goal)
            snprintf (verdict, sizeof verdict, "met");
        else
            snprintf (verdict, sizeof verdict, "**missed by %.0f%%**", (goal - ratio) / goal * 100);
        bool apart = lower_is_better ? mine.max < theirs.min / goal || mine.min > theirs.max / goal
                                     : mine.min > theirs.max * goal || mine.max < theirs.min * goal;
        agree = mine.count < 2 || theirs.count < 2 ? "one run only"
                : apart                            ? "yes"
                                                   : "no: the min–max ranges overlap";
    }
    s_format_ratio (measured, sizeof measured, ratio);
    fprintf (out, "| %s | %s | %s | %s |\n", what, measured, verdict, agree);
}

static void
s_targets_section (FILE *out, const bench_t *bench)
{
    int herald = s_find_system (bench, SYS_HERALD);
    if (herald < 0)
        return;
    int direct = s_find_system (bench, SYS_DIRECT), proxy = s_find_system (bench, SYS_PROXY);
    int redis = s_find_system (bench, SYS_REDIS), nats = s_find_system (bench, SYS_NATS);
    fprintf (out, "## Targets\n\nRatios of medians from this run; \"missed by\" is how far "
                  "below the target the ratio is; \"every run agrees\" when herald's slowest "
                  "run is still on the same side of the target as the other system's fastest, "
                  "and the other way round.\n\n"
                  "| target | measured | | every run agrees |\n|---|---:|---|---|\n");
    char what[96];
    for (int point = 0; point < bench->point_count; point++) {
        const point_t *at = &bench->points[point];
        if (at->mode != MODE_THROUGHPUT)
            continue;
        const char *plural = at->subscribers > 1 ? "s" : "";
        snprintf (what, sizeof what, "herald ≥ 1.0x zmq_proxy, %d subscriber%s", at->subscribers,
                  plural);
        s_target (out, bench, what, proxy, point, s_throughput, 1.0, false, false);
        if (at->subscribers == 1)
            s_target (out, bench, "herald ≥ 0.75x direct, 1 subscriber", direct, point,
                      s_throughput, 0.75, false, false);
        if (at->subscribers == 1 || at->subscribers == 4 || at->subscribers == 16) {
            snprintf (what, sizeof what, "herald ahead of Redis, %d subscriber%s", at->subscribers,
                      plural);
            s_target (out, bench, what, redis, point, s_throughput, 1.0, true, false);
            snprintf (what, sizeof what, "herald ahead of NATS, %d subscriber%s", at->subscribers,
                      plural);
            s_target (out, bench, what, nats, point, s_throughput, 1.0, true, false);
        }
    }
    s_target (out, bench, "herald p50 latency below zmq_proxy's (zmq_proxy p50 / herald p50)",
              proxy, s_find_point (bench, MODE_LATENCY, 0), s_p50, 1.0, true, true);
    fprintf (out, "\n");
}

static void
s_method_section (FILE *out, const bench_t *bench)
{
    int throughput = s_find_point (bench, MODE_THROUGHPUT, 0), last = throughput;
    for (int point = 0; point < bench->point_count; point++)
        if (bench->points[point].mode == MODE_THROUGHPUT)
            last = point;
    fprintf (out,
             "## How it was measured\n\n"
             "- TCP loopback, one machine. Every event is the topic `event` and 119 bytes: a zero "
             "byte, herald's 18-byte header (publisher id, sequence number) and 100 bytes of "
             "payload. The ZeroMQ systems send topic and event as one frame, herald's format; "
             "Redis `PUBLISH` and NATS publish carry the same 119 bytes on the channel/subject "
             "`event`.\n"
             "- direct: the publisher's PUB binds, the SUBs connect to it (no hub). zmq_proxy: "
             "`zmq_proxy (XSUB, XPUB)` in its own process. herald: `herald hub --hwm 10000000`. "
             "Redis: `redis-server` without persistence. NATS: `nats-server`. Every server is "
             "started afresh for each run.\n"
             "- Nothing may be dropped: the publisher's PUB has `ZMQ_XPUB_NODROP`; every ZeroMQ "
             "queue (publisher, hubs, subscribers) holds 10,000,000 messages; Redis has no output "
             "limit for pub/sub clients; NATS subscriptions have no pending limits and the server "
             "allows 1 GB pending per client. Each subscriber checks the sequence numbers.\n"
             "- One publisher thread sends as fast as it can (Redis: pipelined, at most 4,096 "
             "replies outstanding; NATS: buffered). The subscribers are one socket or connection "
             "each, read by one thread (NATS: libnats' shared delivery thread). Publisher and "
             "subscribers are in the bench's process, each side with its own ZeroMQ context (one "
             "I/O thread).\n"
             "- Before publishing, readiness is proven, never slept on: herald's publisher proves "
             "its path (`PROBE`) and waits until `WAIT` counts every subscriber, as `herald pub "
             "--wait-subscribers` does; direct and zmq_proxy repeat a warm-up message until every "
             "subscriber has one; Redis waits for every `SUBSCRIBE` confirmation and a `PING`; "
             "NATS flushes every connection.\n");
    if (throughput >= 0)
        fprintf (out,
                 "- Throughput per subscriber: events per subscriber divided by the time from "
                 "the first send to the last subscriber's last event. Each run delivers about "
                 "%llu events in all, %llu to each subscriber at the highest fan-out.\n",
                 (unsigned long long) (bench->points[throughput].messages
                                       * (uint64_t) bench->points[throughput].subscribers),
                 (unsigned long long) bench->points[last].messages);
    fprintf (out, "- Latency: the send time (`CLOCK_MONOTONIC`) travels in the payload; the first "
                  "events of each run warm the path up and are not counted.\n"
                  "- Hub CPU: user + system time of the server process (all threads) from "
                  "`/proc/PID/stat` over the publishing window, in 10 ms ticks. Peak RSS: `VmHWM` "
                  "from `/proc/PID/status`.\n"
                  "- Runs alternate: run 1 of every case and system, then run 2, and so on, so "
                  "that noise on the machine hits every system alike.\n\n");
}

void
report_markdown (const bench_t *bench, FILE *out)
{
    fprintf (out, "# herald benchmark\n\n");
    fprintf (out,
             "| | |\n|---|---|\n| date | %s |\n| machine | %s |\n| CPU | %s |\n"
             "| libraries | %s |\n",
             bench->date, bench->machine, bench->cpu, bench->libraries);
    for (int index = 0; index < bench->system_count; index++) {
        const system_t *system = &bench->systems[index];
        if (system->kind == SYS_REDIS || system->kind == SYS_NATS) {
            if (system->available)
                fprintf (out, "| %s | %s %s |\n", system->name, system->program, system->version);
            else
                fprintf (out, "| %s | not installed: %s |\n", system->name, system->missing);
        } else if (system->kind == SYS_HERALD)
            fprintf (out, "| %s | `%s hub` |\n", system->name, system->program);
    }
    fprintf (out, "| runs | %d per case and system, alternated; %.0f s in all |\n", bench->runs,
             bench->elapsed);
    fprintf (out,
             "| other load | %.1f%% of the CPUs used by other processes meanwhile, %.1f%% "
             "stolen by the hypervisor |\n",
             bench->others * 100, bench->steal * 100);
    fprintf (out, "| command | `%s` |\n\n", bench->command);
    if (bench->batch != 1)
        fprintf (out,
                 "**Experiment: %d events per message in throughput runs; herald's format is "
                 "1 event.**\n\n",
                 bench->batch);
    if (bench->quick)
        fprintf (out, "**Smoke run (`--quick`): counts too small for the numbers to mean "
                      "anything.**\n\n");
    fprintf (out, "![bench](bench.png)\n\n");
    s_targets_section (out, bench);
    s_throughput_section (out, bench);
    s_delivery_section (out, bench);
    s_latency_section (out, bench);
    s_cost_section (out, bench);
    s_ready_section (out, bench);
    s_method_section (out, bench);
    bool missing = false;
    for (int index = 0; index < bench->system_count; index++)
        missing |= !bench->systems[index].available;
    if (missing) {
        fprintf (out, "## Not installed\n\n");
        for (int index = 0; index < bench->system_count; index++)
            if (!bench->systems[index].available)
                fprintf (out, "- %s: %s\n", bench->systems[index].name,
                         bench->systems[index].missing);
        fprintf (out, "\n");
    }
    fprintf (out, "## Reproduce\n\n"
                  "```sh\n"
                  "apt-get install redis-server libhiredis-dev nats-server libnats-dev gnuplot-nox"
                  "   # optional: the alternatives and the chart\n"
                  "make bench                                   # writes docs/bench.md and "
                  "docs/bench.png\n"
                  "make bench ARGS=\"--runs 5 --subscribers 1,16\"   # build/bench/herald_bench "
                  "--help for more\n"
                  "```\n");
}

//  --------------------------------------------------------------------------
//  The chart

static void
s_value (FILE *out, double value)
{
    if (isnan (value))
        fprintf (out, " ?");
    else
        fprintf (out, " %g", value);
}

static int
s_run_gnuplot (const char *script, char *why, size_t why_size)
{
    char program[PATH_MAX] = "";
    const char *path = getenv ("PATH");
    char directories[4096];
    snprintf (directories, sizeof directories, "%s:/usr/bin", path ? path : "");
    for (char *save = NULL, *directory = strtok_r (directories, ":", &save); directory;
         directory = strtok_r (NULL, ":", &save)) {
        snprintf (program, sizeof program, "%s/gnuplot", directory);
        if (access (program, X_OK) == 0)
            break;
        program[0] = 0;
    }
    if (!program[0]) {
        snprintf (why, why_size, "gnuplot is not installed (apt-get install gnuplot-nox)");
        return -1;
    }
    //  Its warnings go to a log, shown only if it fails.
    char log_path[PATH_MAX + 8];
    snprintf (log_path, sizeof log_path, "%s.log", script);
    int log = open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log == -1) {
        snprintf (why, why_size, "cannot write %s: %s", log_path, strerror (errno));
        return -1;
    }
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (log, 1);
        dup2 (log, 2);
        execl (program, "gnuplot", script, (char *) NULL);
        _exit (127);
    }
    close (log);
    int status, rc = 0;
    if (pid == -1 || waitpid (pid, &status, 0) == -1) {
        snprintf (why, why_size, "cannot run gnuplot: %s", strerror (errno));
        rc = -1;
    } else if (!WIFEXITED (status) || WEXITSTATUS (status)) {
        snprintf (why, why_size, "gnuplot failed (its output is above)");
        FILE *output = fopen (log_path, "r");
        char line[512];
        while (output && fgets (line, sizeof line, output))
            fputs (line, stderr);
        if (output)
            fclose (output);
        rc = -1;
    }
    unlink (log_path);
    return rc;
}

//  The same colour for a system in every panel; herald's line is thicker.
static const char *
s_colour (const bench_t *bench, int index)
{
    static const char *by_kind[] = {"#7f7f7f", "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"};
    static const char *others[] = {"#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"};
    const system_t *system = &bench->systems[index];
    if (system->kind == SYS_HERALD && index != s_find_system (bench, SYS_HERALD))
        return others[index % 5];
    return by_kind[system->kind];
}

static int
s_width (const bench_t *bench, int index)
{
    return index == s_find_system (bench, SYS_HERALD) ? 3 : 2;
}

//  A panel with nothing to show says so instead of failing the chart.
static void
s_empty_panel (FILE *gp, const char *title)
{
    fprintf (gp,
             "set title '%s'\nunset logscale\nset xrange [0:1]\nset yrange [0:1]\n"
             "set label 1 'not measured' at graph 0.5, graph 0.5 center\nplot NaN notitle\n"
             "unset label 1\nset autoscale\n",
             title);
}

int
report_chart (const bench_t *bench, const char *directory, const char *png, char *why,
              size_t why_size)
{
    enum { THROUGHPUT, LATENCY, CPU, READY, SCRIPT, FILES };
    const char *names[FILES] = {"throughput.dat", "latency.dat", "cpu.dat", "ready.dat",
                                "chart.gp"};
    char path[FILES][PATH_MAX];
    FILE *files[FILES];
    bool have[FILES] = {false};
    for (int index = 0; index < FILES; index++) {
        snprintf (path[index], sizeof path[index], "%s/%s", directory, names[index]);
        if (!(files[index] = fopen (path[index], "w"))) {
            snprintf (why, why_size, "cannot write %s: %s", path[index], strerror (errno));
            while (index--)
                fclose (files[index]);
            return -1;
        }
    }
    //  Throughput (median, min, max) and hub CPU by fan-out: a column per
    //  system.
    for (int point = 0; point < bench->point_count; point++) {
        if (bench->points[point].mode != MODE_THROUGHPUT)
            continue;
        fprintf (files[THROUGHPUT], "%d", bench->points[point].subscribers);
        fprintf (files[CPU], "%d", bench->points[point].subscribers);
        for (int index = 0; index < bench->system_count; index++) {
            stats_t stats = s_stats (bench, index, point, s_throughput);
            s_value (files[THROUGHPUT], stats.median);
            s_value (files[THROUGHPUT], stats.min);
            s_value (files[THROUGHPUT], stats.max);
            double cpu = s_median (bench, index, point, s_cpu_per_million);
            s_value (files[CPU], cpu);
            have[THROUGHPUT] |= !isnan (stats.median);
            have[CPU] |= !isnan (cpu);
        }
        fprintf (files[THROUGHPUT], "\n");
        fprintf (files[CPU], "\n");
    }
    //  Latency and time to ready: a row per system.
    int latency = s_find_point (bench, MODE_LATENCY, 0);
    int ready10 = s_find_point (bench, MODE_READY, 10);
    int ready100 = s_find_point (bench, MODE_READY, 100);
    for (int index = 0; index < bench->system_count; index++) {
        if (!bench->systems[index].available)
            continue;
        double p50 = s_median (bench, index, latency, s_p50);
        fprintf (files[LATENCY], "\"%s\"", bench->systems[index].name);
        s_value (files[LATENCY], p50);
        s_value (files[LATENCY], s_median (bench, index, latency, s_p99));
        s_value (files[LATENCY], s_median (bench, index, latency, s_p999));
        fprintf (files[LATENCY], "\n");
        double ready = s_median (bench, index, ready10, s_ready_ms);
        fprintf (files[READY], "\"%s\"", bench->systems[index].name);
        s_value (files[READY], ready);
        s_value (files[READY], s_median (bench, index, ready100, s_ready_ms));
        fprintf (files[READY], "\n");
        have[LATENCY] |= !isnan (p50);
        have[READY] |= !isnan (ready);
    }
    FILE *gp = files[SCRIPT];
    fprintf (gp,
             "set terminal pngcairo size 1400,1000 font 'sans,10' noenhanced\n"
             "set output '%s'\nset datafile missing '?'\n"
             "set multiplot layout 2,2 title 'herald bench, %s: %s, %s; %d run%s per case, "
             "medians (bars: min-max)' font 'sans,12'\nset grid\n",
             png, bench->date, bench->machine, bench->cpu, bench->runs, bench->runs > 1 ? "s" : "");
    //  Throughput per subscriber, log-log.
    const char *title = "Throughput per subscriber (events/s, 100-byte payload)";
    if (have[THROUGHPUT]) {
        fprintf (gp,
                 "set title '%s'\nset logscale x 2\nset logscale y 10\nset key top right\n"
                 "set xlabel 'subscribers'\nset ylabel 'events/s per subscriber'\n"
                 "set format y '%%.0s%%c'\nplot ",
                 title);
        int plotted = 0;
        for (int index = 0; index < bench->system_count; index++)
            if (bench->systems[index].available)
                fprintf (gp,
                         "%s'%s' using 1:%d:%d:%d with yerrorlines lw %d lc rgb '%s' title '%s'",
                         plotted++ ? ", " : "", path[THROUGHPUT], 2 + 3 * index, 3 + 3 * index,
                         4 + 3 * index, s_width (bench, index), s_colour (bench, index),
                         bench->systems[index].name);
        fprintf (gp, "\nset format y '%%g'\n");
    } else
        s_empty_panel (gp, title);
    //  Latency percentiles, a cluster per system.
    char latency_title[96];
    snprintf (latency_title, sizeof latency_title,
              "One-way latency at %d events/s, 1 subscriber (microseconds)", bench->rate);
    if (have[LATENCY])
        fprintf (gp,
                 "set title '%s'\nunset logscale x\nset logscale y 10\nset xlabel ''\n"
                 "set ylabel 'microseconds'\nset format y '%%.0f'\nset style data histogram\n"
                 "set style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
                 "set boxwidth 0.9\nset key top left\n"
                 "plot '%s' using 2:xtic(1) title 'p50', '' using 3 title 'p99', "
                 "'' using 4 title 'p99.9'\n",
                 latency_title, path[LATENCY]);
    else
        s_empty_panel (gp, latency_title);
    //  Hub CPU per event published, by fan-out.
    title = "Hub CPU per event published (microseconds)";
    if (have[CPU]) {
        fprintf (gp,
                 "set title '%s'\nset style data lines\nset logscale x 2\nset logscale y 10\n"
                 "set key top left\nset xlabel 'subscribers'\n"
                 "set ylabel 'CPU microseconds per event'\nset format y '%%g'\nplot ",
                 title);
        int plotted = 0;
        for (int index = 0; index < bench->system_count; index++)
            if (bench->systems[index].available && bench->systems[index].kind != SYS_DIRECT)
                fprintf (gp, "%s'%s' using 1:%d with linespoints lw %d lc rgb '%s' title '%s'",
                         plotted++ ? ", " : "", path[CPU], 2 + index, s_width (bench, index),
                         s_colour (bench, index), bench->systems[index].name);
        fprintf (gp, "\n");
    } else
        s_empty_panel (gp, title);
    //  Time to ready, a cluster per system.
    title = "Time to ready (milliseconds)";
    if (have[READY])
        fprintf (gp,
                 "set title '%s'\nunset logscale\nset yrange [0:*]\nset xlabel ''\nset ylabel "
                 "'milliseconds'\n"
                 "set style data histogram\nset style histogram clustered gap 1\n"
                 "set style fill solid 0.8 border -1\nset key top left\n"
                 "plot '%s' using 2:xtic(1) title '10 subscribers', '' using 3 title "
                 "'100 subscribers'\n",
                 title, path[READY]);
    else
        s_empty_panel (gp, title);
    fprintf (gp, "unset multiplot\n");
    bool written = true;
    for (int index = 0; index < FILES; index++)
        written &= fclose (files[index]) == 0;
    int rc = -1;
    if (written)
        rc = s_run_gnuplot (path[SCRIPT], why, why_size);
    else
        snprintf (why, why_size, "cannot write the chart's data in %s", directory);
    for (int index = 0; index < FILES; index++)
        unlink (path[index]);
    return rc;
}
