#!/usr/bin/env python3
"""render.py - herald's benchmark report, rendered from herald_bench's data.

    python3 bench/render.py DIR [OUT]

Reads DIR/bench.csv (a row per run: system, mode, subscribers, run, every
metric) and DIR/bench.json (date, machine, options, load, systems, points),
as herald_bench writes them, and writes OUT/bench.md and, through gnuplot,
OUT/bench.png; OUT is DIR unless given. Only runs that delivered every event
count towards the medians; the delivered/sent table shows every run. Exits
0 once bench.md is written (without gnuplot there is no chart, and it says
so), 1 if the data cannot be read or the report cannot be written.
Python 3's standard library only."""

import collections
import csv
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

# The report's last sections: how it was measured, how to do it again. A line that ends in \
# goes on, in Markdown, on the next.
TEXT = {
    "method": """## How it was measured

- TCP loopback, one machine. Every event is the topic `event` and 119 bytes: a zero byte, \
herald's 18-byte header (publisher id, sequence number) and 100 bytes of payload. The ZeroMQ \
systems send topic and event as one frame, herald's format; Redis `PUBLISH` and NATS publish \
carry the same 119 bytes on the channel/subject `event`.
- direct: the publisher's PUB binds, the SUBs connect to it (no hub). zmq_proxy: `zmq_proxy \
(XSUB, XPUB)` in its own process. herald: `herald hub --hwm 10000000`. Redis: `redis-server` \
without persistence. NATS: `nats-server`. Every server is started afresh for each run.
- Nothing may be dropped: the publisher's PUB has `ZMQ_XPUB_NODROP`; every ZeroMQ queue \
(publisher, hubs, subscribers) holds 10,000,000 messages; Redis has no output limit for pub/sub \
clients; NATS subscriptions have no pending limits and the server allows 1 GB pending per \
client. Each subscriber checks the sequence numbers.
- One publisher thread sends as fast as it can (Redis: pipelined, at most 4,096 replies \
outstanding; NATS: buffered). The subscribers are one socket or connection each, read by one \
thread (NATS: libnats' shared delivery thread). Publisher and subscribers are in the bench's \
process, each side with its own ZeroMQ context (one I/O thread).
- Before publishing, readiness is proven, never slept on: herald's publisher proves its path \
(`PROBE`) and waits until `WAIT` counts every subscriber, as `herald pub --wait-subscribers` \
does; direct and zmq_proxy repeat a warm-up message until every subscriber has one; Redis waits \
for every `SUBSCRIBE` confirmation and a `PING`; NATS flushes every connection.""",
    "method throughput": """\
- Throughput per subscriber: events per subscriber divided by the time from the first send to \
the last subscriber's last event. Each run delivers about %d events in all, %d to each \
subscriber at the highest fan-out.""",
    "method end": """\
- Latency: the send time (`CLOCK_MONOTONIC`) travels in the payload; the first events of each \
run warm the path up and are not counted.
- Hub CPU: user + system time of the server process (all threads) from `/proc/PID/stat` over \
the publishing window, in 10 ms ticks. Peak RSS: `VmHWM` from `/proc/PID/status`.
- Runs alternate: run 1 of every case and system, then run 2, and so on, so that noise on the \
machine hits every system alike.""",
    "reproduce": """## Reproduce

```sh
apt-get install redis-server libhiredis-dev nats-server libnats-dev gnuplot-nox   \
# optional: the alternatives and the chart
make bench                                   # writes docs/bench.csv and .json, then bench.md \
and .png
make bench ARGS="--runs 5 --subscribers 1,16"   # build/bench/herald_bench --help for more
python3 bench/render.py docs                 # this report again from docs/bench.csv and \
docs/bench.json
```""",
}

# The throughput targets: what, the other system's kind, the goal, whether herald must be
# strictly above it, and at which fan-outs (None: all).
TARGETS = (("herald ≥ 1.0x zmq_proxy, %s", "zmq_proxy", 1.0, False, None),
           ("herald ≥ 0.75x direct, %s", "direct", 0.75, False, (1,)),
           ("herald ahead of Redis, %s", "redis", 1.0, True, (1, 4, 16)),
           ("herald ahead of NATS, %s", "nats", 1.0, True, (1, 4, 16)))

# The hub's cost, a table each: what it shows, the metric, and whether it starts at 16
# subscribers when measured (with a few the first connection's own cost dominates).
COSTS = (("Hub CPU seconds (user + system, all threads) per million events published, while the "
          "throughput runs published:", "cpu_per_million", False),
         ("Hub peak RSS (VmHWM), MB, at the end of the run (it includes what queued while the "
          "publisher was ahead):", "peak_mb", False),
         ("Hub memory per connected subscriber, kB: RSS with every subscriber connected and "
          "ready, less RSS before the first, divided by their number:", "kb_per_subscriber",
          True))

# The chart's gnuplot script, a command a string, {names} filled in: a 2x2 multiplot of four
# panels, each from its data file; a panel with nothing to show says so instead.
CHART = ("set terminal pngcairo size 1400,1000 font 'sans,10' noenhanced", "set output {png}",
         "set datafile missing '?'", "set multiplot layout 2,2 title {title} font 'sans,12'",
         "set grid")
HISTOGRAM = ("set style data histogram", "set style histogram clustered gap 1",
             "set style fill solid 0.8 border -1")
PANELS = (
    ("throughput", "Throughput per subscriber (events/s, 100-byte payload)",
     ("set logscale x 2", "set logscale y 10", "set key top right", "set xlabel 'subscribers'",
      "set ylabel 'events/s per subscriber'", "set format y '%.0s%c'", "plot {plots}",
      "set format y '%g'")),
    ("latency", "One-way latency at {rate} events/s, 1 subscriber (microseconds)",
     ("unset logscale x", "set logscale y 10", "set xlabel ''", "set ylabel 'microseconds'",
      "set format y '%.0f'")
     + HISTOGRAM + ("set boxwidth 0.9", "set key top left", "plot {data} using 2:xtic(1) title "
                    "'p50', '' using 3 title 'p99', '' using 4 title 'p99.9'")),
    ("cpu", "Hub CPU per event published (microseconds)",
     ("set style data lines", "set logscale x 2", "set logscale y 10", "set key top left",
      "set xlabel 'subscribers'", "set ylabel 'CPU microseconds per event'", "set format y '%g'",
      "plot {plots}")),
    ("ready", "Time to ready (milliseconds)",
     ("unset logscale", "set yrange [0:*]", "set xlabel ''", "set ylabel 'milliseconds'")
     + HISTOGRAM + ("set key top left", "plot {data} using 2:xtic(1) title '10 subscribers', "
                    "'' using 3 title '100 subscribers'")))
EMPTY = ("unset logscale", "set xrange [0:1]", "set yrange [0:1]",
         "set label 1 'not measured' at graph 0.5, graph 0.5 center", "plot NaN notitle",
         "unset label 1", "set autoscale", "")
COLOURS = {"direct": "#7f7f7f", "zmq_proxy": "#1f77b4", "herald": "#d62728", "redis": "#2ca02c",
           "nats": "#ff7f0e"}
ALSO_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")  # --also's herald hubs

NAN = float("nan")
COUNTS = ("subscribers", "messages", "run", "complete", "sent", "expected", "delivered",
          "disorder", "latency_samples")
Stats = collections.namedtuple("Stats", "count median min max")


def load(directory):
    """The metadata, and the samples by (system, mode, subscribers)."""
    with open(os.path.join(directory, "bench.json"), encoding="utf-8") as file:
        meta = json.load(file)
    samples = {}
    with open(os.path.join(directory, "bench.csv"), encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            for name, value in row.items():
                if name in COUNTS:
                    row[name] = int(value)
                elif name not in ("system", "mode", "error"):
                    row[name] = float(value) if value != "" else NAN
            samples.setdefault((row["system"], row["mode"], row["subscribers"]), []).append(row)
    return meta, samples


def divide(a, b):
    """a / b as C divides doubles: NaN in, NaN out; x / 0 is infinite."""
    if math.isnan(a) or math.isnan(b) or (a == 0 and b == 0):
        return NAN
    if b == 0:
        return math.copysign(math.inf, a)
    return a / b


# The metrics that are not a column of bench.csv, from one sample at its point.
DERIVED = {
    "cpu_per_million": lambda row: (divide(row["hub_cpu"] * 1e6, row["sent"]) if row["sent"]
                                    else NAN),
    "peak_mb": lambda row: row["hub_peak_kb"] / 1024.0,
    "kb_per_subscriber": lambda row: ((row["hub_ready_kb"] - row["hub_base_kb"])
                                      / row["subscribers"]),
    "ready_ms": lambda row: ((0 if math.isnan(row["hub_start_ms"]) else row["hub_start_ms"])
                             + row["clients_ms"]),
}


# Formats, as the report has always shown them.
def rate(value):
    for floor, scale, form in ((1e6, 1e6, "%.2fM"), (1e4, 1e3, "%.0fk"), (1e3, 1e3, "%.1fk")):
        if value >= floor:
            return form % (value / scale)
    return "%.0f" % value


def plain(value):
    return "%.0f" % value if value >= 100 else "%.1f" % value if value >= 10 else "%.2f" % value


def ratio(value): return "—" if math.isnan(value) else "%.2fx" % value
def plural(count): return "s" if count > 1 else ""
def line(*cells): return "| " + " | ".join(str(cell) for cell in cells) + " |"  # a table row
def quote(text): return "'%s'" % str(text).replace("'", "''")  # a gnuplot string


def table(first, titles, rows):
    """A Markdown table: a column per title, a row per (label, cells)."""
    return "\n".join([line(first, *titles), "|---|" + "---:|" * len(titles)]
                     + [line(label, *cells) for label, cells in rows])


class Report:
    """The report on one bench run: bench.md, a block of Markdown at a time, and the chart."""

    def __init__(self, meta, samples):
        self.meta, self.samples = meta, samples
        self.systems, self.points, self.runs = meta["systems"], meta["points"], meta["runs"]

    # Looking things up
    def system(self, kind):
        """The first system of a kind: --also variants of herald come after herald."""
        return next((system for system in self.systems if system["kind"] == kind), None)

    @property
    def herald(self):
        return self.system("herald")

    def points_of(self, mode, count=None):
        """The points of a mode, at count subscribers if given."""
        return [point for point in self.points
                if point["mode"] == mode and count in (None, point["subscribers"])]

    def point(self, mode, count=None):
        return next(iter(self.points_of(mode, count)), None)

    def rows(self, system, point):
        if system is None or point is None:
            return []
        return self.samples.get((system["name"], point["mode"], point["subscribers"]), [])

    def stats(self, system, point, metric):
        """A metric's Stats over the runs that delivered everything."""
        value = DERIVED.get(metric) or (lambda row: row[metric])
        values = sorted(number for number in (value(row) for row in self.rows(system, point)
                                              if row["complete"]) if not math.isnan(number))
        if not values:
            return Stats(0, NAN, NAN, NAN)
        return Stats(len(values), statistics.median(values), values[0], values[-1])

    def median(self, system, point, metric):
        return self.stats(system, point, metric).median

    def ratio(self, one, other, point, metric):
        """The ratio of two systems' medians, formatted."""
        return ratio(divide(self.median(one, point, metric), self.median(other, point, metric)))

    # Cells and tables
    def cell(self, system, point, metric, form=plain):
        """'median (min–max)', or why there is none: not installed, failed, or none."""
        stats = self.stats(system, point, metric)
        if stats.count == 0:
            if not system["available"]:
                return "not installed"
            for row in self.rows(system, point):
                if not row["complete"]:
                    lost = row["expected"] and row["delivered"] < row["expected"]
                    return "lost events" if lost else "failed"
            return "—"
        text = form(stats.median)
        if stats.count > 1:
            text += " (%s–%s)" % (form(stats.min), form(stats.max))
        if stats.count < self.runs:  # a run that lost events or failed is left out
            text += " [%d of %d runs]" % (stats.count, self.runs)
        return text

    def delivered(self, system, point):
        """Delivered/sent over every run, and in bold what went wrong."""
        if not system["available"]:
            return "not installed"
        rows = self.rows(system, point)
        expected, delivered, disorder = (sum(row[name] for row in rows)
                                         for name in ("expected", "delivered", "disorder"))
        failed = sum(1 for row in rows if not row["complete"])
        text = "%d/%d" % (delivered, expected)
        if failed or expected != delivered or disorder:
            if expected > delivered:
                text += ", lost %d" % (expected - delivered)
            if disorder:
                text += ", %d out of order" % disorder
            if failed:
                text += ", %d run%s failed" % (failed, plural(failed))
            text = "**%s**" % text
        return text

    def medians(self, rows, first="subscribers", systems=None):
        """A table of median cells, a column per system, a row per (label, point, metric)."""
        systems = self.systems if systems is None else systems
        return table(first, [system["name"] for system in systems],
                     [(label, [self.cell(system, point, metric) for system in systems])
                      for label, point, metric in rows])

    def target(self, what, other, point, metric, goal, strictly, lower_is_better=False):
        """A ratio target: met, or missed by how much, from the medians; and whether
        the runs agree, that is whether herald's min-max and the other system's
        (scaled by the goal) do not overlap. Throughput: herald / other must reach
        goal; latency (lower is better): other / herald."""
        mine, theirs = self.stats(self.herald, point, metric), self.stats(other, point, metric)
        measured = (divide(theirs.median, mine.median) if lower_is_better
                    else divide(mine.median, theirs.median))
        verdict, agree = "not measured", ""
        if not math.isnan(measured):
            met = measured > goal if strictly else measured >= goal
            verdict = "met" if met else "**missed by %.0f%%**" % ((goal - measured) / goal * 100)
            if lower_is_better:
                apart = mine.max < theirs.min / goal or mine.min > theirs.max / goal
            else:
                apart = mine.min > theirs.max * goal or mine.max < theirs.min * goal
            agree = ("one run only" if mine.count < 2 or theirs.count < 2
                     else "yes" if apart else "no: the min–max ranges overlap")
        return line(what, ratio(measured), verdict, agree)

    # The report's sections, in order: each a list of blocks
    def head(self):
        meta = self.meta
        rows = [("date", meta["date"]), ("machine", meta["machine"]), ("CPU", meta["cpu"]),
                ("libraries", meta["libraries"])]
        for system in self.systems:
            if system["kind"] in ("redis", "nats"):
                rows.append((system["name"], "%s %s" % (system["program"], system["version"])
                             if system["available"] else "not installed: %s" % system["missing"]))
            elif system["kind"] == "herald":
                rows.append((system["name"], "`%s hub`" % system["program"]))
        rows += [("runs", "%d per case and system, alternated; %.0f s in all"
                  % (self.runs, meta["elapsed"])),
                 ("other load", "%.1f%% of the CPUs used by other processes meanwhile, %.1f%% "
                  "stolen by the hypervisor" % (meta["others"] * 100, meta["steal"] * 100)),
                 ("command", "`%s`" % meta["command"])]
        blocks = ["# herald benchmark\n\n| | |\n|---|---|\n"
                  + "\n".join(line(*row) for row in rows)]
        if meta["batch"] != 1:
            blocks.append("**Experiment: %d events per message in throughput runs; herald's "
                          "format is 1 event.**" % meta["batch"])
        if meta["quick"]:
            blocks.append("**Smoke run (`--quick`): counts too small for the numbers to mean "
                          "anything.**")
        return blocks + ["![bench](bench.png)"]

    def targets(self):
        if not self.herald:
            return []
        rows = ["## Targets\n\nRatios of medians from this run; \"missed by\" is how far below "
                "the target the ratio is; \"every run agrees\" when herald's slowest run is still "
                "on the same side of the target as the other system's fastest, and the other way "
                "round.\n\n| target | measured | | every run agrees |\n|---|---:|---|---|"]
        for point in self.points_of("throughput"):
            count = point["subscribers"]
            for what, kind, goal, strictly, counts in TARGETS:
                if counts is None or count in counts:
                    rows.append(self.target(what % ("%d subscriber%s" % (count, plural(count))),
                                            self.system(kind), point, "throughput", goal,
                                            strictly))
        rows.append(self.target("herald p50 latency below zmq_proxy's (zmq_proxy p50 / herald "
                                "p50)", self.system("zmq_proxy"), self.point("latency"),
                                "p50_us", 1.0, True, True))
        return ["\n".join(rows)]

    def throughput(self):
        points, herald = self.points_of("throughput"), self.herald
        if not points:
            return []
        # Each system against herald; another herald hub (--also) is the other way round.
        others = [system for system in self.systems if herald and system is not herald]
        pairs = [(system, herald) if system["kind"] == "herald" else (herald, system)
                 for system in others]
        titles = [system["name"] for system in self.systems]
        titles += [("%s/herald" if system["kind"] == "herald" else "herald/%s") % system["name"]
                   for system in others]
        rows = [(point["subscribers"],
                 [self.cell(system, point, "throughput", rate) for system in self.systems]
                 + [self.ratio(one, other, point, "throughput") for one, other in pairs])
                for point in points]
        return ["## Throughput per subscriber\n\nEvents per second that each subscriber received, "
                "the publisher sending as fast as it can; median of %d runs (min–max)."
                % self.runs, table("subscribers", titles, rows)]

    def delivery(self):
        rows = [("%s, %d subscriber%s" % (point["mode"], point["subscribers"],
                                          plural(point["subscribers"])),
                 [self.delivered(system, point) for system in self.systems])
                for point in self.points if point["mode"] != "ready"]
        return ["### Delivered / sent\n\nEvery event that every subscriber was sent, over all "
                "runs; any loss, reordering or failed run is shown here.",
                table("case", [system["name"] for system in self.systems], rows)]

    def latency(self):
        point, herald = self.point("latency"), self.herald
        if not point:
            return []
        rows = self.medians([("p50", point, "p50_us"), ("p99", point, "p99_us"),
                             ("p99.9", point, "p999_us")], "")
        if herald:
            rows += "\n" + line("herald p50 / this p50",
                                 *(self.ratio(herald, system, point, "p50_us")
                                   for system in self.systems))
        return ["## Latency\n\nOne-way latency in microseconds, publisher paced at %d events/s, 1 "
                "subscriber, %d samples per run; median of %d runs (min–max)."
                % (self.meta["rate"], point["messages"], self.runs), rows]

    def cost(self):
        points = self.points_of("throughput")
        if not points:
            return []
        hubs = [system for system in self.systems if system["kind"] != "direct"]
        least = 16 if any(point["subscribers"] >= 16 for point in points) else 0
        blocks = ["## What the hub costs, and how it grows\n\nThe server process only (hub, "
                  "zmq_proxy, redis-server, nats-server); direct has none. Median of %d runs "
                  "(min–max)." % self.runs]
        for text, metric, from_least in COSTS:
            blocks += [text, self.medians([(point["subscribers"], point, metric)
                                           for point in points
                                           if not from_least or point["subscribers"] >= least],
                                          systems=hubs)]
        return blocks

    def ready(self):
        points = self.points_of("ready")
        if not points:
            return []
        return ["## Time to ready\n\nMilliseconds from starting the server until it accepts "
                "connections, plus from starting the clients until every subscriber is counted "
                "(herald: `WAIT`; Redis: `SUBSCRIBE` confirmed; NATS: flushed; direct, zmq_proxy: "
                "a warm-up message seen) and the publisher's path is proven (herald: `PROBE`). "
                "Median of %d runs (min–max)." % self.runs,
                self.medians([(point["subscribers"], point, "ready_ms") for point in points]
                             + [("of which server start", points[0], "hub_start_ms")])]

    def method(self):
        points = self.points_of("throughput")
        items = [TEXT["method"], TEXT["method end"]]
        if points:
            items.insert(1, TEXT["method throughput"] % (
                points[0]["messages"] * points[0]["subscribers"], points[-1]["messages"]))
        return ["\n".join(items)]

    def tail(self):
        missing = [system for system in self.systems if not system["available"]]
        items = "\n".join("- %s: %s" % (system["name"], system["missing"]) for system in missing)
        return (["## Not installed", items] if missing else []) + [TEXT["reproduce"]]

    def markdown(self):
        """bench.md: the sections' blocks, a blank line apart."""
        return "\n\n".join(block for section in (
            self.head, self.targets, self.throughput, self.delivery, self.latency, self.cost,
            self.ready, self.method, self.tail) for block in section()) + "\n"

    # The chart
    def plots(self, path, style, columns, hubs_only=False):
        """A plot per available system (hubs only: not direct) from the data file at path,
        the same colour for a system in every panel; columns(index) are the index-th
        system's columns."""
        def colour(system):
            if system["kind"] == "herald" and system is not self.herald:
                return ALSO_COLOURS[self.systems.index(system) % 5]
            return COLOURS[system["kind"]]
        return ", ".join("%s using %s with %s lw %d lc rgb '%s' title %s"
                         % (quote(path), columns(index), style,
                            3 if system is self.herald else 2,  # herald's line is thicker
                            colour(system), quote(system["name"]))
                         for index, system in enumerate(self.systems) if system["available"]
                         and not (hubs_only and system["kind"] == "direct"))

    def chart(self, directory, png):
        """Draw png with gnuplot, its data files in directory: None, or why there is no chart."""
        gnuplot = shutil.which("gnuplot")
        if not gnuplot:
            return "gnuplot is not installed (apt-get install gnuplot-nox)"
        # The data files: throughput (median, min, max) and hub CPU, a row per fan-out and
        # columns per system; latency percentiles and time to ready (10, 100 subscribers),
        # a row per system.
        data = {"throughput": [], "latency": [], "cpu": [], "ready": []}
        for point in self.points_of("throughput"):
            fanout = "%d" % point["subscribers"]
            data["throughput"].append((fanout, [value for system in self.systems for value
                                                in self.stats(system, point, "throughput")[1:]]))
            data["cpu"].append((fanout, [self.median(system, point, "cpu_per_million")
                                         for system in self.systems]))
        latency, ready = self.point("latency"), [self.point("ready", count) for count in (10, 100)]
        for system in (system for system in self.systems if system["available"]):
            name = '"%s"' % system["name"]
            data["latency"].append((name, [self.median(system, latency, metric)
                                           for metric in ("p50_us", "p99_us", "p999_us")]))
            data["ready"].append((name, [self.median(system, point, "ready_ms")
                                         for point in ready]))
        paths = {name: os.path.join(directory, name + ".dat") for name in data}
        for name, rows in data.items():
            with open(paths[name], "w", encoding="utf-8") as file:
                file.write("".join(first + "".join(" ?" if math.isnan(value) else " %g" % value
                                                   for value in values) + "\n"
                                   for first, values in rows))
        # A panel has something to show once it has a median (latency: a p50; time to
        # ready: one with 10 subscribers).
        have = {name: any(not math.isnan(value) for _, values in data[name]
                          for value in values[:1 if name in ("latency", "ready") else None])
                for name in data}
        plots = {"throughput": self.plots(paths["throughput"], "yerrorlines", lambda index:
                                          "1:%d:%d:%d" % (2 + 3 * index, 3 + 3 * index,
                                                          4 + 3 * index)),
                 "cpu": self.plots(paths["cpu"], "linespoints", lambda index: "1:%d" % (2 + index),
                                   hubs_only=True)}
        meta = self.meta
        heading = ("herald bench, %s: %s, %s; %d run%s per case, medians (bars: min-max)"
                   % (meta["date"], meta["machine"], meta["cpu"], self.runs, plural(self.runs)))
        script = [command.format(png=quote(png), title=quote(heading)) for command in CHART]
        for name, title, commands in PANELS:
            script += ["set title " + quote(title.format(rate="%d" % meta["rate"]))] + [
                command.format(data=quote(paths[name]), plots=plots.get(name))
                for command in (commands if have[name] else EMPTY)]
        script.append("unset multiplot")
        result = subprocess.run([gnuplot], input="\n".join(script) + "\n", text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if result.returncode:
            sys.stderr.write(result.stdout)  # its warnings, only when it fails
            return "gnuplot failed (its output is above)"
        return None


def main(argv):
    if len(argv) not in (2, 3) or argv[1].startswith("-"):
        sys.stderr.write("usage: render.py DIR [OUT]\n%s\n" % __doc__)
        return 1 if len(argv) < 2 or argv[1] not in ("-h", "--help") else 0
    directory = argv[1]
    out = argv[2] if len(argv) == 3 else directory
    try:
        report = Report(*load(directory))
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "bench.md")
        with open(path, "w", encoding="utf-8") as file:
            file.write(report.markdown())
    except (OSError, ValueError, KeyError) as error:
        sys.stderr.write("render.py: cannot render %s: %s\n" % (directory, error))
        return 1
    with tempfile.TemporaryDirectory(prefix="herald-render-") as scratch:
        why = report.chart(scratch, os.path.join(out, "bench.png"))
    if why:
        sys.stderr.write("render.py: no chart: %s; %s has the tables\n" % (why, path))
    sys.stderr.write("render.py: wrote %s\n" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
