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

import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

NAN = float("nan")
COUNTS = ("subscribers", "messages", "run", "complete", "sent", "expected", "delivered",
          "disorder", "latency_samples")


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


# The metrics, from one sample at its point.
def throughput(row):
    return row["throughput"]


def hub_cpu_per_million(row):
    return divide(row["hub_cpu"] * 1e6, row["sent"]) if row["sent"] else NAN


def hub_peak_mb(row):
    return row["hub_peak_kb"] / 1024.0


def kb_per_subscriber(row):
    return (row["hub_ready_kb"] - row["hub_base_kb"]) / row["subscribers"]


def ready_ms(row):
    start = row["hub_start_ms"]
    return (0 if math.isnan(start) else start) + row["clients_ms"]


def column(name):
    return lambda row: row[name]


# Formats, as the report has always shown them.
def rate(value):
    if value >= 1e6:
        return "%.2fM" % (value / 1e6)
    if value >= 1e4:
        return "%.0fk" % (value / 1e3)
    if value >= 1e3:
        return "%.1fk" % (value / 1e3)
    return "%.0f" % value


def plain(value):
    return "%.0f" % value if value >= 100 else "%.1f" % value if value >= 10 else "%.2f" % value


def ratio(value):
    return "—" if math.isnan(value) else "%.2fx" % value


def plural(count):
    return "s" if count > 1 else ""


class Stats:
    """Median, min and max of a metric over the runs that delivered everything."""

    def __init__(self, values):
        values = sorted(value for value in values if not math.isnan(value))
        self.count = len(values)
        self.median = self.min = self.max = NAN
        if values:
            middle = len(values) // 2
            self.min, self.max = values[0], values[-1]
            self.median = (values[middle] if len(values) % 2
                           else (values[middle - 1] + values[middle]) / 2)


class Report:
    def __init__(self, meta, samples):
        self.meta = meta
        self.samples = samples
        self.systems = meta["systems"]
        self.points = meta["points"]
        self.runs = meta["runs"]
        self.lines = []

    def out(self, text=""):
        self.lines.append(text)

    # Looking things up
    def find_system(self, kind):
        """The first system of a kind: --also variants of herald come after herald."""
        return next((system for system in self.systems if system["kind"] == kind), None)

    def find_point(self, mode, subscribers=None):
        return next((point for point in self.points if point["mode"] == mode
                     and subscribers in (None, point["subscribers"])), None)

    def points_of(self, mode):
        return [point for point in self.points if point["mode"] == mode]

    def rows(self, system, point):
        if system is None or point is None:
            return []
        return self.samples.get((system["name"], point["mode"], point["subscribers"]), [])

    def stats(self, system, point, metric):
        return Stats(metric(row) for row in self.rows(system, point) if row["complete"])

    def median(self, system, point, metric):
        return self.stats(system, point, metric).median

    def missing(self, system, point):
        """Why a system has no value at a point: not installed, failed, or none."""
        if not system["available"]:
            return "not installed"
        for row in self.rows(system, point):
            if not row["complete"]:
                lost = row["expected"] and row["delivered"] < row["expected"]
                return "lost events" if lost else "failed"
        return "—"

    def cell(self, system, point, metric, form):
        """'median (min–max)', or why there is none."""
        stats = self.stats(system, point, metric)
        if stats.count == 0:
            return self.missing(system, point)
        text = form(stats.median)
        if stats.count > 1:
            text += " (%s–%s)" % (form(stats.min), form(stats.max))
        if stats.count < self.runs:  # a run that lost events or failed is left out
            text += " [%d of %d runs]" % (stats.count, self.runs)
        return text

    # Tables whose columns are the systems
    def columns(self, hubs_only):
        return [system for system in self.systems
                if not hubs_only or system["kind"] != "direct"]

    def table_head(self, first, hubs_only):
        systems = self.columns(hubs_only)
        self.out("| %s |%s" % (first, "".join(" %s |" % s["name"] for s in systems)))
        self.out("|---|" + "---:|" * len(systems))

    def table_row(self, label, point, metric, form, hubs_only):
        cells = (self.cell(system, point, metric, form) for system in self.columns(hubs_only))
        self.out("| %s |%s" % (label, "".join(" %s |" % cell for cell in cells)))

    # Sections
    def head(self):
        meta = self.meta
        self.out("# herald benchmark\n\n| | |\n|---|---|")
        for label, key in (("date", "date"), ("machine", "machine"), ("CPU", "cpu"),
                           ("libraries", "libraries")):
            self.out("| %s | %s |" % (label, meta[key]))
        for system in self.systems:
            if system["kind"] in ("redis", "nats"):
                if system["available"]:
                    self.out("| %s | %s %s |" % (system["name"], system["program"],
                                                 system["version"]))
                else:
                    self.out("| %s | not installed: %s |" % (system["name"], system["missing"]))
            elif system["kind"] == "herald":
                self.out("| %s | `%s hub` |" % (system["name"], system["program"]))
        self.out("| runs | %d per case and system, alternated; %.0f s in all |"
                 % (self.runs, meta["elapsed"]))
        self.out("| other load | %.1f%% of the CPUs used by other processes meanwhile, %.1f%% "
                 "stolen by the hypervisor |" % (meta["others"] * 100, meta["steal"] * 100))
        self.out("| command | `%s` |\n" % meta["command"])
        if meta["batch"] != 1:
            self.out("**Experiment: %d events per message in throughput runs; herald's format "
                     "is 1 event.**\n" % meta["batch"])
        if meta["quick"]:
            self.out("**Smoke run (`--quick`): counts too small for the numbers to mean "
                     "anything.**\n")
        self.out("![bench](bench.png)\n")

    def target(self, what, other, point, metric, goal, strictly, lower_is_better):
        """A ratio target: met, or missed by how much, from the medians; and whether
        the runs agree, that is whether herald's min-max and the other system's
        (scaled by the goal) do not overlap. Throughput: herald / other must reach
        goal; latency (lower is better): other / herald."""
        mine = self.stats(self.find_system("herald"), point, metric)
        theirs = self.stats(other, point, metric)
        measured = (divide(theirs.median, mine.median) if lower_is_better
                    else divide(mine.median, theirs.median))
        agree = ""
        if math.isnan(measured):
            verdict = "not measured"
        else:
            met = measured > goal if strictly else measured >= goal
            verdict = "met" if met else "**missed by %.0f%%**" % ((goal - measured) / goal * 100)
            if lower_is_better:
                apart = mine.max < theirs.min / goal or mine.min > theirs.max / goal
            else:
                apart = mine.min > theirs.max * goal or mine.max < theirs.min * goal
            agree = ("one run only" if mine.count < 2 or theirs.count < 2
                     else "yes" if apart else "no: the min–max ranges overlap")
        self.out("| %s | %s | %s | %s |" % (what, ratio(measured), verdict, agree))

    def targets(self):
        if not self.find_system("herald"):
            return
        direct, proxy = self.find_system("direct"), self.find_system("zmq_proxy")
        redis, nats = self.find_system("redis"), self.find_system("nats")
        self.out("## Targets\n\nRatios of medians from this run; \"missed by\" is how far "
                 "below the target the ratio is; \"every run agrees\" when herald's slowest "
                 "run is still on the same side of the target as the other system's fastest, "
                 "and the other way round.\n\n"
                 "| target | measured | | every run agrees |\n|---|---:|---|---|")
        for point in self.points_of("throughput"):
            count = point["subscribers"]
            at = "%d subscriber%s" % (count, plural(count))
            self.target("herald ≥ 1.0x zmq_proxy, " + at, proxy, point, throughput, 1.0,
                        False, False)
            if count == 1:
                self.target("herald ≥ 0.75x direct, 1 subscriber", direct, point, throughput,
                            0.75, False, False)
            if count in (1, 4, 16):
                self.target("herald ahead of Redis, " + at, redis, point, throughput, 1.0,
                            True, False)
                self.target("herald ahead of NATS, " + at, nats, point, throughput, 1.0,
                            True, False)
        self.target("herald p50 latency below zmq_proxy's (zmq_proxy p50 / herald p50)", proxy,
                    self.find_point("latency"), column("p50_us"), 1.0, True, True)
        self.out()

    def throughput(self):
        points = self.points_of("throughput")
        if not points:
            return
        herald = self.find_system("herald")
        others = [system for system in self.systems if herald and system is not herald]
        self.out("## Throughput per subscriber\n\nEvents per second that each subscriber "
                 "received, the publisher sending as fast as it can; median of %d runs "
                 "(min–max).\n" % self.runs)
        titles = [s["name"] for s in self.systems]
        titles += [("%s/herald" if s["kind"] == "herald" else "herald/%s") % s["name"]
                   for s in others]
        self.out("| subscribers |" + "".join(" %s |" % title for title in titles))
        self.out("|---|" + "---:|" * len(titles))
        for point in points:
            cells = [self.cell(system, point, throughput, rate) for system in self.systems]
            mine = self.median(herald, point, throughput)
            for system in others:
                theirs = self.median(system, point, throughput)
                cells.append(ratio(divide(theirs, mine) if system["kind"] == "herald"
                                   else divide(mine, theirs)))
            self.out("| %d |%s" % (point["subscribers"], "".join(" %s |" % c for c in cells)))
        self.out()

    def delivery(self):
        self.out("### Delivered / sent\n\nEvery event that every subscriber was sent, over "
                 "all runs; any loss, reordering or failed run is shown here.\n")
        self.table_head("case", False)
        for point in self.points:
            if point["mode"] == "ready":
                continue
            cells = []
            for system in self.systems:
                if not system["available"]:
                    cells.append("not installed")
                    continue
                rows = self.rows(system, point)
                expected = sum(row["expected"] for row in rows)
                delivered = sum(row["delivered"] for row in rows)
                disorder = sum(row["disorder"] for row in rows)
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
                cells.append(text)
            count = point["subscribers"]
            self.out("| %s, %d subscriber%s |%s" % (point["mode"], count, plural(count),
                                                   "".join(" %s |" % c for c in cells)))
        self.out()

    def latency(self):
        point = self.find_point("latency")
        if not point:
            return
        herald = self.find_system("herald")
        self.out("## Latency\n\nOne-way latency in microseconds, publisher paced at %d "
                 "events/s, 1 subscriber, %d samples per run; median of %d runs (min–max).\n"
                 % (self.meta["rate"], point["messages"], self.runs))
        self.table_head("", False)
        for label, name in (("p50", "p50_us"), ("p99", "p99_us"), ("p99.9", "p999_us")):
            self.table_row(label, point, column(name), plain, False)
        if herald:
            mine = self.median(herald, point, column("p50_us"))
            cells = (ratio(divide(mine, self.median(system, point, column("p50_us"))))
                     for system in self.systems)
            self.out("| herald p50 / this p50 |" + "".join(" %s |" % c for c in cells))
        self.out()

    def cost(self):
        points = self.points_of("throughput")
        if not points:
            return
        self.out("## What the hub costs, and how it grows\n\nThe server process only (hub, "
                 "zmq_proxy, redis-server, nats-server); direct has none. Median of %d runs "
                 "(min–max).\n\nHub CPU seconds (user + system, all threads) per million "
                 "events published, while the throughput runs published:\n" % self.runs)
        self.table_head("subscribers", True)
        for point in points:
            self.table_row(point["subscribers"], point, hub_cpu_per_million, plain, True)
        self.out("\nHub peak RSS (VmHWM), MB, at the end of the run (it includes what queued "
                 "while the publisher was ahead):\n")
        self.table_head("subscribers", True)
        for point in points:
            self.table_row(point["subscribers"], point, hub_peak_mb, plain, True)
        self.out("\nHub memory per connected subscriber, kB: RSS with every subscriber "
                 "connected and ready, less RSS before the first, divided by their number:\n")
        self.table_head("subscribers", True)
        # With a few subscribers the first connection's own cost dominates: from
        # 16 on, when measured.
        least = 16 if any(point["subscribers"] >= 16 for point in points) else 0
        for point in points:
            if point["subscribers"] >= least:
                self.table_row(point["subscribers"], point, kb_per_subscriber, plain, True)
        self.out()

    def ready(self):
        points = self.points_of("ready")
        if not points:
            return
        self.out("## Time to ready\n\nMilliseconds from starting the server until it accepts "
                 "connections, plus from starting the clients until every subscriber is "
                 "counted (herald: `WAIT`; Redis: `SUBSCRIBE` confirmed; NATS: flushed; "
                 "direct, zmq_proxy: a warm-up message seen) and the publisher's path is "
                 "proven (herald: `PROBE`). Median of %d runs (min–max).\n" % self.runs)
        self.table_head("subscribers", False)
        for point in points:
            self.table_row(point["subscribers"], point, ready_ms, plain, False)
        self.table_row("of which server start", points[0], column("hub_start_ms"), plain, False)
        self.out()

    def method(self):
        points = self.points_of("throughput")
        self.out(
            "## How it was measured\n\n"
            "- TCP loopback, one machine. Every event is the topic `event` and 119 bytes: a "
            "zero byte, herald's 18-byte header (publisher id, sequence number) and 100 bytes "
            "of payload. The ZeroMQ systems send topic and event as one frame, herald's "
            "format; Redis `PUBLISH` and NATS publish carry the same 119 bytes on the "
            "channel/subject `event`.\n"
            "- direct: the publisher's PUB binds, the SUBs connect to it (no hub). zmq_proxy: "
            "`zmq_proxy (XSUB, XPUB)` in its own process. herald: `herald hub --hwm 10000000`. "
            "Redis: `redis-server` without persistence. NATS: `nats-server`. Every server is "
            "started afresh for each run.\n"
            "- Nothing may be dropped: the publisher's PUB has `ZMQ_XPUB_NODROP`; every "
            "ZeroMQ queue (publisher, hubs, subscribers) holds 10,000,000 messages; Redis has "
            "no output limit for pub/sub clients; NATS subscriptions have no pending limits "
            "and the server allows 1 GB pending per client. Each subscriber checks the "
            "sequence numbers.\n"
            "- One publisher thread sends as fast as it can (Redis: pipelined, at most 4,096 "
            "replies outstanding; NATS: buffered). The subscribers are one socket or "
            "connection each, read by one thread (NATS: libnats' shared delivery thread). "
            "Publisher and subscribers are in the bench's process, each side with its own "
            "ZeroMQ context (one I/O thread).\n"
            "- Before publishing, readiness is proven, never slept on: herald's publisher "
            "proves its path (`PROBE`) and waits until `WAIT` counts every subscriber, as "
            "`herald pub --wait-subscribers` does; direct and zmq_proxy repeat a warm-up "
            "message until every subscriber has one; Redis waits for every `SUBSCRIBE` "
            "confirmation and a `PING`; NATS flushes every connection.")
        if points:
            self.out("- Throughput per subscriber: events per subscriber divided by the time "
                     "from the first send to the last subscriber's last event. Each run "
                     "delivers about %d events in all, %d to each subscriber at the highest "
                     "fan-out." % (points[0]["messages"] * points[0]["subscribers"],
                                   points[-1]["messages"]))
        self.out(
            "- Latency: the send time (`CLOCK_MONOTONIC`) travels in the payload; the first "
            "events of each run warm the path up and are not counted.\n"
            "- Hub CPU: user + system time of the server process (all threads) from "
            "`/proc/PID/stat` over the publishing window, in 10 ms ticks. Peak RSS: `VmHWM` "
            "from `/proc/PID/status`.\n"
            "- Runs alternate: run 1 of every case and system, then run 2, and so on, so that "
            "noise on the machine hits every system alike.\n")

    def tail(self):
        missing = [system for system in self.systems if not system["available"]]
        if missing:
            self.out("## Not installed\n")
            for system in missing:
                self.out("- %s: %s" % (system["name"], system["missing"]))
            self.out()
        self.out("## Reproduce\n\n```sh\n"
                 "apt-get install redis-server libhiredis-dev nats-server libnats-dev "
                 "gnuplot-nox   # optional: the alternatives and the chart\n"
                 "make bench                                   # writes docs/bench.csv and "
                 ".json, then bench.md and .png\n"
                 "make bench ARGS=\"--runs 5 --subscribers 1,16\"   # build/bench/herald_bench "
                 "--help for more\n"
                 "python3 bench/render.py docs                 # this report again from "
                 "docs/bench.csv and docs/bench.json\n```")

    def markdown(self):
        for section in (self.head, self.targets, self.throughput, self.delivery, self.latency,
                        self.cost, self.ready, self.method, self.tail):
            section()
        return "\n".join(self.lines) + "\n"

    # The chart
    def colour(self, system):
        """The same colour for a system in every panel."""
        by_kind = {"direct": "#7f7f7f", "zmq_proxy": "#1f77b4", "herald": "#d62728",
                   "redis": "#2ca02c", "nats": "#ff7f0e"}
        others = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
        if system["kind"] == "herald" and system is not self.find_system("herald"):
            return others[self.systems.index(system) % 5]
        return by_kind[system["kind"]]

    def width(self, system):
        """herald's line is thicker."""
        return 3 if system is self.find_system("herald") else 2

    def chart(self, directory, png):
        """Draw png with gnuplot; its data and script go to directory. Returns None,
        or why there is no chart."""
        def value(number):
            return " ?" if math.isnan(number) else " %g" % number

        def quote(text):
            return "'%s'" % str(text).replace("'", "''")

        def empty(title):  # a panel with nothing to show says so
            return ("set title %s\nunset logscale\nset xrange [0:1]\nset yrange [0:1]\n"
                    "set label 1 'not measured' at graph 0.5, graph 0.5 center\n"
                    "plot NaN notitle\nunset label 1\nset autoscale\n" % quote(title))

        gnuplot = shutil.which("gnuplot")
        if not gnuplot:
            return "gnuplot is not installed (apt-get install gnuplot-nox)"
        paths = {name: os.path.join(directory, name + ".dat")
                 for name in ("throughput", "latency", "cpu", "ready")}
        data = {name: [] for name in paths}
        have = dict.fromkeys(paths, False)
        available = [system for system in self.systems if system["available"]]
        # Throughput (median, min, max) and hub CPU by fan-out: a column per system.
        for point in self.points_of("throughput"):
            line, cpu = "%d" % point["subscribers"], "%d" % point["subscribers"]
            for system in self.systems:
                stats = self.stats(system, point, throughput)
                line += value(stats.median) + value(stats.min) + value(stats.max)
                median = self.median(system, point, hub_cpu_per_million)
                cpu += value(median)
                have["throughput"] |= not math.isnan(stats.median)
                have["cpu"] |= not math.isnan(median)
            data["throughput"].append(line)
            data["cpu"].append(cpu)
        # Latency and time to ready: a row per system.
        latency = self.find_point("latency")
        ready10, ready100 = self.find_point("ready", 10), self.find_point("ready", 100)
        for system in available:
            name = '"%s"' % system["name"]
            p50 = self.median(system, latency, column("p50_us"))
            data["latency"].append(name + value(p50)
                                   + value(self.median(system, latency, column("p99_us")))
                                   + value(self.median(system, latency, column("p999_us"))))
            ready = self.median(system, ready10, ready_ms)
            data["ready"].append(name + value(ready)
                                 + value(self.median(system, ready100, ready_ms)))
            have["latency"] |= not math.isnan(p50)
            have["ready"] |= not math.isnan(ready)
        for name, path in paths.items():
            with open(path, "w", encoding="utf-8") as file:
                file.write("".join(line + "\n" for line in data[name]))

        meta = self.meta
        script = ["set terminal pngcairo size 1400,1000 font 'sans,10' noenhanced",
                  "set output %s\nset datafile missing '?'" % quote(png),
                  "set multiplot layout 2,2 title %s font 'sans,12'\nset grid" % quote(
                      "herald bench, %s: %s, %s; %d run%s per case, medians (bars: min-max)"
                      % (meta["date"], meta["machine"], meta["cpu"], self.runs,
                         plural(self.runs)))]
        # Throughput per subscriber, log-log.
        title = "Throughput per subscriber (events/s, 100-byte payload)"
        if have["throughput"]:
            plots = ("%s using 1:%d:%d:%d with yerrorlines lw %d lc rgb '%s' title %s"
                     % (quote(paths["throughput"]), 2 + 3 * index, 3 + 3 * index,
                        4 + 3 * index, self.width(system), self.colour(system),
                        quote(system["name"]))
                     for index, system in enumerate(self.systems) if system["available"])
            script.append("set title %s\nset logscale x 2\nset logscale y 10\n"
                          "set key top right\nset xlabel 'subscribers'\n"
                          "set ylabel 'events/s per subscriber'\nset format y '%%.0s%%c'\n"
                          "plot %s\nset format y '%%g'" % (quote(title), ", ".join(plots)))
        else:
            script.append(empty(title))
        # Latency percentiles, a cluster per system.
        title = ("One-way latency at %d events/s, 1 subscriber (microseconds)"
                 % meta["rate"])
        if have["latency"]:
            script.append("set title %s\nunset logscale x\nset logscale y 10\nset xlabel ''\n"
                          "set ylabel 'microseconds'\nset format y '%%.0f'\n"
                          "set style data histogram\nset style histogram clustered gap 1\n"
                          "set style fill solid 0.8 border -1\nset boxwidth 0.9\n"
                          "set key top left\nplot %s using 2:xtic(1) title 'p50', '' using 3 "
                          "title 'p99', '' using 4 title 'p99.9'"
                          % (quote(title), quote(paths["latency"])))
        else:
            script.append(empty(title))
        # Hub CPU per event published, by fan-out.
        title = "Hub CPU per event published (microseconds)"
        if have["cpu"]:
            plots = ("%s using 1:%d with linespoints lw %d lc rgb '%s' title %s"
                     % (quote(paths["cpu"]), 2 + index, self.width(system),
                        self.colour(system), quote(system["name"]))
                     for index, system in enumerate(self.systems)
                     if system["available"] and system["kind"] != "direct")
            script.append("set title %s\nset style data lines\nset logscale x 2\n"
                          "set logscale y 10\nset key top left\nset xlabel 'subscribers'\n"
                          "set ylabel 'CPU microseconds per event'\nset format y '%%g'\n"
                          "plot %s" % (quote(title), ", ".join(plots)))
        else:
            script.append(empty(title))
        # Time to ready, a cluster per system.
        title = "Time to ready (milliseconds)"
        if have["ready"]:
            script.append("set title %s\nunset logscale\nset yrange [0:*]\nset xlabel ''\n"
                          "set ylabel 'milliseconds'\nset style data histogram\n"
                          "set style histogram clustered gap 1\n"
                          "set style fill solid 0.8 border -1\nset key top left\n"
                          "plot %s using 2:xtic(1) title '10 subscribers', '' using 3 title "
                          "'100 subscribers'" % (quote(title), quote(paths["ready"])))
        else:
            script.append(empty(title))
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
