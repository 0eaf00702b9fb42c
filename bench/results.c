/*  results.c - herald_bench's results as data: every run's sample as a row
    of CSV, and what the samples need to be read (date, machine, options,
    load, the systems and the points) as JSON. bench/render.py turns them
    into docs/bench.md and docs/bench.png; see bench.h for the columns. */

#include "bench.h"
#include "text.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <string.h>

static const char *s_kind_names[] = {"direct", "zmq_proxy", "herald",
                                     "redis",  "nats",      "federation"};
static const char *s_mode_names[] = {"throughput", "plain",         "latency",
                                     "ready",      "subscriptions", "table"};
//  The table case's operations, as their columns are named:
//  table_<name>_p50_us, _p99_us, _max_us, _samples.
static const char *s_table_op_names[TABLE_OPS] = {
    "clock", "fill", "subscribe", "unsubscribe", "count_hit", "count_miss", "drop"};

const char *
results_mode_name (bench_mode_t mode)
{
    return s_mode_names[mode];
}

//  A number, or an empty cell when it was not measured.
static void
s_number (FILE *out, double value, bool known)
{
    if (known && !isnan (value))
        fprintf (out, ",%.10g", value);
    else
        fprintf (out, ",");
}

//  A text cell as CSV quotes it; line breaks become spaces.
static void
s_text (FILE *out, const char *text)
{
    fputc ('"', out);
    for (; *text; text++) {
        if (*text == '"')
            fputc ('"', out);
        fputc (*text == '\n' || *text == '\r' ? ' ' : *text, out);
    }
    fputc ('"', out);
}

void
results_csv (const bench_t *bench, FILE *out)
{
    fprintf (out, "system,mode,subscribers,messages,run,complete,sent,expected,delivered,disorder,"
                  "seconds,throughput,hub_cpu,hub_base_kb,hub_ready_kb,hub_peak_kb,p50_us,p99_us,"
                  "p999_us,latency_samples,hub_start_ms,clients_ms,counted_ms,delivering_ms,"
                  "hub_subscribed_kb,count_p50_us,count_p99_us,count_samples,released_ms,"
                  "table_fill_ms,table_fill_worst_at,table_bytes_per_subscription,table_counted");
    for (int op = 0; op < TABLE_OPS; op++)
        fprintf (out, ",table_%s_p50_us,table_%s_p99_us,table_%s_max_us,table_%s_samples",
                 s_table_op_names[op], s_table_op_names[op], s_table_op_names[op],
                 s_table_op_names[op]);
    fprintf (out, ",error\n");
    for (int system = 0; system < bench->system_count; system++)
        for (int point = 0; point < bench->point_count; point++)
            for (int run = 0; run < bench->runs; run++) {
                const sample_t *sample = &bench->samples[system][point][run];
                const point_t *what = &bench->points[point];
                if (!sample->ran)
                    continue;
                bool moved = what->mode == MODE_THROUGHPUT || what->mode == MODE_PLAIN
                             || what->mode == MODE_LATENCY;
                bool subscribed = what->mode == MODE_SUBSCRIPTIONS;
                bool tabled = what->mode == MODE_TABLE;
                s_text (out, bench->systems[system].name);
                fprintf (out,
                         ",%s,%d,%" PRIu64 ",%d,%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
                         s_mode_names[what->mode], what->subscribers, what->messages, run + 1,
                         sample->complete, sample->sent, sample->expected, sample->delivered,
                         sample->disorder);
                s_number (out, sample->seconds, moved);
                s_number (out, sample->throughput, moved && sample->complete);
                s_number (out, sample->hub_cpu, sample->hub_cpu >= 0);
                s_number (out, (double) sample->hub_base_kb, sample->hub_base_kb);
                s_number (out, (double) sample->hub_ready_kb, sample->hub_ready_kb);
                s_number (out, (double) sample->hub_peak_kb, sample->hub_peak_kb);
                s_number (out, sample->p50, sample->samples);
                s_number (out, sample->p99, sample->samples);
                s_number (out, sample->p999, sample->samples);
                fprintf (out, ",%zu", sample->samples);
                s_number (out, sample->hub_start_ms, true);
                s_number (out, sample->clients_ms, true);
                s_number (out, sample->counted_ms, subscribed);
                s_number (out, sample->delivering_ms, subscribed);
                s_number (out, (double) sample->hub_subscribed_kb, sample->hub_subscribed_kb);
                s_number (out, sample->count_p50, sample->count_samples);
                s_number (out, sample->count_p99, sample->count_samples);
                fprintf (out, ",%zu", sample->count_samples);
                s_number (out, sample->released_ms, subscribed);
                s_number (out, sample->table_fill_ms, tabled);
                s_number (out, sample->table_fill_worst_at, tabled);
                s_number (out, sample->table_bytes, tabled);
                s_number (out, sample->table_counted, tabled);
                for (int op = 0; op < TABLE_OPS; op++) {
                    const spread_t *spread = &sample->table_ops[op];
                    s_number (out, spread->p50, spread->samples);
                    s_number (out, spread->p99, spread->samples);
                    s_number (out, spread->max, spread->samples);
                    fprintf (out, ",%zu", spread->samples);
                }
                fputc (',', out);
                s_text (out, sample->error);
                fputc ('\n', out);
            }
}

static void
s_json_field (FILE *out, const char *name, const char *value, const char *after)
{
    fprintf (out, "\"%s\": ", name);
    text_json_string (out, value, strlen (value));
    fputs (after, out);
}

void
results_meta (const bench_t *bench, FILE *out)
{
    fputs ("{\n  ", out);
    s_json_field (out, "date", bench->date, ",\n  ");
    s_json_field (out, "machine", bench->machine, ",\n  ");
    s_json_field (out, "cpu", bench->cpu, ",\n  ");
    s_json_field (out, "libraries", bench->libraries, ",\n  ");
    s_json_field (out, "command", bench->command, ",\n");
    fprintf (out,
             "  \"runs\": %d,\n  \"quick\": %s,\n  \"rate\": %d,\n  \"batch\": %d,\n"
             "  \"elapsed\": %.3f,\n  \"others\": %.4f,\n  \"steal\": %.4f,\n"
             "  \"systems\": [\n",
             bench->runs, bench->quick ? "true" : "false", bench->rate, bench->batch,
             bench->elapsed, bench->others, bench->steal);
    for (int index = 0; index < bench->system_count; index++) {
        const system_t *system = &bench->systems[index];
        fputs ("    {", out);
        s_json_field (out, "name", system->name, ", ");
        s_json_field (out, "kind", s_kind_names[system->kind], ", ");
        s_json_field (out, "program", system->program, ", ");
        s_json_field (out, "version", system->version, ", ");
        fprintf (out, "\"available\": %s, ", system->available ? "true" : "false");
        s_json_field (out, "missing", system->missing,
                      index + 1 < bench->system_count ? "},\n" : "}\n");
    }
    fputs ("  ],\n  \"points\": [\n", out);
    for (int index = 0; index < bench->point_count; index++) {
        const point_t *point = &bench->points[index];
        fprintf (out, "    {\"mode\": \"%s\", \"subscribers\": %d, \"messages\": %" PRIu64 "}%s\n",
                 s_mode_names[point->mode], point->subscribers, point->messages,
                 index + 1 < bench->point_count ? "," : "");
    }
    fputs ("  ]\n}\n", out);
}

//  Write one file through writer; 0, or -1 after saying why.
static int
s_write (const bench_t *bench, const char *directory, const char *name,
         void (*writer) (const bench_t *, FILE *))
{
    char path[PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", directory, name);
    FILE *file = fopen (path, "w");
    if (!file) {
        fprintf (stderr, "herald_bench: cannot write %s: %s\n", path, strerror (errno));
        return -1;
    }
    writer (bench, file);
    if (fclose (file)) {
        fprintf (stderr, "herald_bench: cannot write %s: %s\n", path, strerror (errno));
        return -1;
    }
    fprintf (stderr, "herald_bench: wrote %s\n", path);
    return 0;
}

int
results_write (const bench_t *bench, const char *directory)
{
    if (s_write (bench, directory, RESULTS_SAMPLES, results_csv)
        || s_write (bench, directory, RESULTS_META, results_meta))
        return -1;
    return 0;
}

bool
results_all_delivered (const bench_t *bench)
{
    for (int system = 0; system < bench->system_count; system++)
        for (int point = 0; point < bench->point_count; point++)
            for (int run = 0; run < bench->runs; run++) {
                const sample_t *sample = &bench->samples[system][point][run];
                if (sample->ran && (!sample->complete || sample->disorder))
                    return false;
            }
    return true;
}
