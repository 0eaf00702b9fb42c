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
The fixed text is in templates beside this script: report.md.in (bench.md)
and chart.gp.in (the gnuplot script). Python 3's standard library only."""

import collections
import csv
import json
import math
import os
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile

# The throughput targets: what, the other system's kind, the goal, whether herald must be
# strictly above it, and at which fan-outs (None: all).
TARGETS = (("herald ≥ 1.0x zmq_proxy, %s", "zmq_proxy", 1.0, False, None),
           ("herald ≥ 0.75x direct, %s", "direct", 0.75, False, (1,)),
           ("herald ahead of Redis, %s", "redis", 1.0, True, (1, 4, 16)),
           ("herald ahead of NATS, %s", "nats", 1.0, True, (1, 4, 16)))

# The federation's target: its throughput per subscriber against the single hub's.
FEDERATION_GOAL = 0.9

# The hub's cost, a table each: the template's name for it, the metric, and whether it starts
# at 16 subscribers when measured (with a few the first connection's own cost dominates).
COSTS = (("cpu", "cpu_per_million", False), ("rss", "peak_mb", False),
         ("memory", "kb_per_subscriber", True))

# The chart's colours, a system's the same in every panel.
COLOURS = {"direct": "#7f7f7f", "zmq_proxy": "#1f77b4", "herald": "#d62728", "redis": "#2ca02c",
           "nats": "#ff7f0e", "federation": "#800000"}
ALSO_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")  # --also's herald hubs
# The systems that send ZeroMQ's frames, the only ones the plain case measures.
ZEROMQ = ("direct", "zmq_proxy", "herald")

HERE = os.path.dirname(os.path.abspath(__file__))  # where the templates are
NAN = float("nan")
# The table case's operations, as bench.csv names their columns (table_<name>_p50_us,
# _p99_us, _max_us, _samples), and as the report names them.
TABLE_OPS = (("clock", "two clock reads, nothing between"),
             ("fill", "subscribe, filling the table"),
             ("subscribe", "subscribe, a new prefix for a connection"),
             ("unsubscribe", "unsubscribe"),
             ("count_hit", "count, a topic that matches"),
             ("count_miss", "count, a topic that matches nothing"),
             ("drop", "drop a connection and all its prefixes"))
# The table case's other figures: as the report names them, the metric.
TABLE_FIGURES = (("memory per subscription (bytes)", "table_bytes_per_subscription"),
                 ("filling the table, all its subscribes (ms)", "table_fill_ms"))
COUNTS = ("subscribers", "messages", "run", "complete", "sent", "expected", "delivered",
          "disorder", "latency_samples", "count_samples") + tuple(
              "table_%s_samples" % name for name, _ in TABLE_OPS)
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
    # subscriptions: messages is subscriptions per subscriber
    "bytes_per_subscription": lambda row: ((row["hub_subscribed_kb"] - row["hub_ready_kb"]) * 1024
                                           / (row["subscribers"] * row["messages"])),
}

# The subscriptions table: a row per figure, herald's hub and zmq_proxy only.
SUBSCRIPTIONS = (("taken, counted (ms)", "counted_ms"),
                 ("taken, delivering (ms)", "delivering_ms"),
                 ("memory per subscription (bytes)", "bytes_per_subscription"),
                 ("COUNT round trip, p50 (µs)", "count_p50_us"),
                 ("COUNT round trip, p99 (µs)", "count_p99_us"),
                 ("released after the connections close (ms)", "released_ms"))


# Formats, as the report has always shown them.
def rate(value):
    for floor, scale, form in ((1e6, 1e6, "%.2fM"), (1e4, 1e3, "%.0fk"), (1e3, 1e3, "%.1fk")):
        if value >= floor:
            return form % (value / scale)
    return "%.0f" % value


def plain(value):
    return "%.0f" % value if value >= 100 else "%.1f" % value if value >= 10 else "%.2f" % value


def micro(value):  # the table's operations: tens of nanoseconds show
    return "%.3f" % value if value < 1 else plain(value)


def thousands(value):
    return "—" if math.isnan(value) else "{:,.0f}".format(value)


def ratio(value): return "—" if math.isnan(value) else "%.2fx" % value
def plural(count): return "s" if count > 1 else ""
def line(*cells): return "| " + " | ".join(str(cell) for cell in cells) + " |"  # a table row
def quote(text): return "'%s'" % str(text).replace("'", "''")  # a gnuplot string


def sections(path):
    """A template's sections by name, each from the line that names it (<!-- name --> or
    #: name) to the next; a line that ends in a backslash goes on on the next."""
    with open(path, encoding="utf-8") as file:
        text = file.read().replace("\\\n", "")
    parts = re.split(r"^(?:<!--|#:) ([a-z ]+)(?: -->)?\n", text, flags=re.M)
    return {name: text.rstrip("\n") for name, text in zip(parts[1::2], parts[2::2])}


def fill(text, **values):
    """A template's section with values put in; a line that is only a placeholder with
    nothing to put there goes."""
    text = re.sub(r"^\$\{?(\w+)\}?\n", lambda match: "" if values[match[1]] == "" else match[0],
                  text, flags=re.M)
    return string.Template(text).substitute(values)


def table(first, titles, rows):
    """A Markdown table: a column per title, a row per (label, cells)."""
    return "\n".join([line(first, *titles), "|---|" + "---:|" * len(titles)]
                     + [line(label, *cells) for label, cells in rows])


class Report:
    """The report on one bench run: bench.md, a block of Markdown at a time, and the chart."""

    def __init__(self, meta, samples, text, gnuplot):
        self.meta, self.samples, self.text, self.gnuplot = meta, samples, text, gnuplot
        self.systems, self.points, self.runs = meta["systems"], meta["points"], meta["runs"]

    def fill(self, name, **values):
        """The report template's section name, filled in."""
        return fill(self.text[name], **values)

    # Looking things up
    def system(self, kind):
        """The first system of a kind: --also variants of herald come after herald."""
        return next((system for system in self.systems if system["kind"] == kind), None)

    @property
    def herald(self):
        return self.system("herald")

    @property
    def compared(self):
        """The systems the tables of every system show: all but the federation, which has a
        section of its own beside the single hub."""
        return [system for system in self.systems if system["kind"] != "federation"]

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
        if not rows:  # not measured at this point: Redis and NATS in the plain case
            return "—"
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
        """A target's row: what, then verdict()'s cells for herald against other."""
        return line(what, *self.verdict(self.herald, other, point, metric, goal, strictly,
                                        lower_is_better))

    def verdict(self, system, other, point, metric, goal, strictly, lower_is_better=False):
        """A ratio target's cells: the ratio of the medians; met, or missed by how much;
        and whether the runs agree, that is whether the system's min-max and the other
        system's (scaled by the goal) do not overlap. Throughput: system / other must reach
        goal; latency (lower is better): other / system."""
        mine, theirs = self.stats(system, point, metric), self.stats(other, point, metric)
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
        return ratio(measured), verdict, agree

    # The report's sections, in order: each a list of the template's sections, filled in
    def head(self):
        meta, systems = self.meta, []
        for system in self.systems:
            if system["kind"] in ("redis", "nats"):
                systems.append(line(system["name"], "%s %s" % (system["program"], system["version"])
                                    if system["available"] else "not installed: %s"
                                    % system["missing"]))
            elif system["kind"] == "herald":
                systems.append(line(system["name"], "`%s hub`" % system["program"]))
            elif system["kind"] == "federation":
                systems.append(line(system["name"], "`%s hub` twice: a root, and a leaf below it"
                                    % system["program"]))
        return ([self.fill("head", date=meta["date"], machine=meta["machine"], cpu=meta["cpu"],
                           libraries=meta["libraries"], systems="\n".join(systems),
                           runs="%d" % self.runs, elapsed="%.0f" % meta["elapsed"],
                           others="%.1f" % (meta["others"] * 100),
                           steal="%.1f" % (meta["steal"] * 100), command=meta["command"])]
                + ([self.fill("batch", batch="%d" % meta["batch"])] if meta["batch"] != 1 else [])
                + ([self.fill("quick")] if meta["quick"] else []) + [self.fill("chart")])

    def targets(self):
        if not self.herald:
            return []
        rows = []
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
        return [self.fill("targets", rows="\n".join(rows))]

    def rates(self, points, systems):
        """Events/s per subscriber, a row per point and a column per system, then each
        system against herald; another herald hub (--also) the other way round."""
        herald = self.herald
        others = [system for system in systems if herald and system is not herald]
        pairs = [(system, herald) if system["kind"] == "herald" else (herald, system)
                 for system in others]
        titles = [system["name"] for system in systems]
        titles += [("%s/herald" if system["kind"] == "herald" else "herald/%s") % system["name"]
                   for system in others]
        rows = [(point["subscribers"],
                 [self.cell(system, point, "throughput", rate) for system in systems]
                 + [self.ratio(one, other, point, "throughput") for one, other in pairs])
                for point in points]
        return table("subscribers", titles, rows)

    def throughput(self):
        points = self.points_of("throughput")
        if not points:
            return []
        return [self.fill("throughput", runs="%d" % self.runs,
                          table=self.rates(points, self.compared))]

    def plain(self):
        points = self.points_of("plain")
        if not points:
            return []
        systems = [system for system in self.systems if system["kind"] in ZEROMQ]
        hubs = [system for system in systems if system["kind"] != "direct"]
        return [self.fill("plain", runs="%d" % self.runs, table=self.rates(points, systems),
                          cpu=self.medians([(point["subscribers"], point, "cpu_per_million")
                                            for point in points], systems=hubs))]

    def delivery(self):
        rows = [("%s, %d subscriber%s" % (point["mode"], point["subscribers"],
                                          plural(point["subscribers"])),
                 [self.delivered(system, point) for system in self.systems])
                for point in self.points if point["mode"] in ("throughput", "plain", "latency")]
        return [self.fill("delivery", table=table("case", [system["name"]
                                                           for system in self.systems], rows))]

    def latency(self):
        point, herald = self.point("latency"), self.herald
        if not point:
            return []
        rows = self.medians([("p50", point, "p50_us"), ("p99", point, "p99_us"),
                             ("p99.9", point, "p999_us")], "", systems=self.compared)
        if herald:
            rows += "\n" + line("herald p50 / this p50",
                                 *(self.ratio(herald, system, point, "p50_us")
                                   for system in self.compared))
        return [self.fill("latency", rate="%d" % self.meta["rate"],
                          samples="%d" % point["messages"], runs="%d" % self.runs, table=rows)]

    def cost(self):
        points = self.points_of("throughput")
        if not points:
            return []
        hubs = [system for system in self.compared if system["kind"] != "direct"]
        least = 16 if any(point["subscribers"] >= 16 for point in points) else 0
        tables = {name: self.medians([(point["subscribers"], point, metric) for point in points
                                      if not from_least or point["subscribers"] >= least],
                                     systems=hubs)
                  for name, metric, from_least in COSTS}
        return [self.fill("cost", runs="%d" % self.runs, **tables)]

    def ready(self):
        points = self.points_of("ready")
        if not points:
            return []
        return [self.fill("ready", runs="%d" % self.runs, table=self.medians(
            [(point["subscribers"], point, "ready_ms") for point in points]
            + [("of which server start", points[0], "hub_start_ms")], systems=self.compared))]

    def federation(self):
        """The federation beside the single hub, from the same run: throughput per
        subscriber against the target, latency, and what the hubs cost."""
        federation, herald = self.system("federation"), self.herald
        points, latency = self.points_of("throughput"), self.point("latency")
        if not federation or not herald or not federation["available"]:
            return []
        pair = [herald, federation]
        titles = [system["name"] for system in pair] + ["federation/herald"]
        def rows(labelled, form=plain):
            return [(label, [self.cell(system, point, metric, form) for system in pair]
                     + [self.ratio(federation, herald, point, metric)])
                    for label, point, metric in labelled]
        throughput = table("subscribers", titles + ["≥ %.1fx" % FEDERATION_GOAL,
                                                    "every run agrees"],
                           [(point["subscribers"],
                             [self.cell(system, point, "throughput", rate) for system in pair]
                             + list(self.verdict(federation, herald, point, "throughput",
                                                 FEDERATION_GOAL, False)))
                            for point in points]) if points else ""
        delays = table("latency (µs)", titles, rows(
            [(label, latency, metric) for label, metric in (("p50", "p50_us"), ("p99", "p99_us"),
                                                            ("p99.9", "p999_us"))])
                       ) if latency else ""
        cpu = table("subscribers", titles, rows([(point["subscribers"], point, "cpu_per_million")
                                                 for point in points])) if points else ""
        cores = re.search(r"(\d+) cores", self.meta["cpu"])
        return [self.fill("federation", runs="%d" % self.runs, throughput=throughput,
                          latency=delays, cpu=cpu, cores=cores[1] if cores else "the")]

    def subscriptions(self):
        point = self.point("subscriptions")
        if not point:
            return []
        # The topic COUNT is asked about, named as bench/bench_subs.c names it: the middle
        # connection's middle topic, its index as wide as the last one's.
        each = point["messages"]
        topic = "sub/%d/%0*d" % (point["subscribers"] // 2, len("%d" % (each - 1)), each // 2)
        requests = self.stats(self.herald, point, "count_samples").median
        hubs = [system for system in self.systems if system["kind"] in ("zmq_proxy", "herald")]
        return [self.fill("subscriptions", subscribers="%d" % point["subscribers"],
                          each="{:,}".format(each),
                          total="{:,}".format(each * point["subscribers"]), runs="%d" % self.runs,
                          topic=topic, requests="—" if math.isnan(requests)
                          else "{:,}".format(int(requests)),
                          table=self.medians([(label, point, metric)
                                              for label, metric in SUBSCRIPTIONS], "",
                                             systems=hubs))]

    def subtable(self):
        point, herald = self.point("table"), self.herald
        if not point or not herald:
            return []
        def median(metric):
            return self.median(herald, point, metric)
        rows = [(label, [self.cell(herald, point, "table_%s_%s" % (name, metric), micro)
                         for metric in ("p50_us", "p99_us", "max_us")]
                 + [thousands(median("table_%s_samples" % name))])
                for name, label in TABLE_OPS]
        each, connections = point["messages"], point["subscribers"]
        worst, agree = self.worst(herald, point)
        return [self.fill("table", connections="{:,}".format(connections), each="%d" % each,
                          total="{:,}".format(connections * each), runs="%d" % self.runs,
                          operations=table("operation", ["p50 (µs)", "p99 (µs)", "slowest (µs)",
                                                         "per run"], rows),
                          figures=self.medians([(label, point, metric)
                                                for label, metric in TABLE_FIGURES], "",
                                               systems=[herald]),
                          worst=worst, agree=agree,
                          counted=thousands(median("table_counted")),
                          samples=thousands(median("table_subscribe_samples")),
                          drops=thousands(median("table_drop_samples")))]

    def worst(self, herald, point):
        """How many subscriptions the table held after the slowest subscribe of its fill, and
        whether the runs agree: the same in every run, or the range."""
        stats = self.stats(herald, point, "table_fill_worst_at")
        if stats.count < 2:
            return thousands(stats.median), ""
        if stats.min == stats.max:
            return thousands(stats.median), " in every run"
        return thousands(stats.median), " (median; %s–%s over the runs)" % (
            thousands(stats.min), thousands(stats.max))

    def method(self):
        points, throughput, subscriptions = self.points_of("throughput"), "", ""
        if points:
            throughput = self.fill("method throughput",
                                   events="%d" % (points[0]["messages"] * points[0]["subscribers"]),
                                   each="%d" % points[-1]["messages"])
        plain = self.fill("method plain") if self.point("plain") else ""
        if self.point("subscriptions"):
            subscriptions = self.fill("method subscriptions")
        tabled = self.fill("method table") if self.point("table") and self.herald else ""
        return [self.fill("method", throughput=throughput, plain=plain,
                          subscriptions=subscriptions, table=tabled)]

    def tail(self):
        missing = "\n".join("- %s: %s" % (system["name"], system["missing"])
                             for system in self.systems if not system["available"])
        return ([self.fill("not installed", systems=missing)] if missing else []) + [
            self.fill("reproduce")]

    def markdown(self):
        """bench.md: the sections, a blank line apart."""
        return "\n\n".join(block for section in (
            self.head, self.targets, self.throughput, self.plain, self.delivery, self.latency,
            self.federation, self.cost, self.ready, self.subscriptions, self.subtable, self.method, self.tail)
            for block in section()) + "\n"

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
            if system in self.compared:  # the federation is not measured there
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
        script = [fill(self.gnuplot["start"], png=quote(png), title=quote(heading))]
        for name in data:
            panel = fill(self.gnuplot[name], rate="%d" % meta["rate"], data=quote(paths[name]),
                         plots=plots.get(name, ""))
            if not have[name]:  # its title, and "not measured"
                panel = panel.split("\n")[0] + "\n" + self.gnuplot["not measured"] + "\n"
            script.append(panel)
        script.append(self.gnuplot["end"])
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
        report = Report(*load(directory), *(sections(os.path.join(HERE, name))
                                            for name in ("report.md.in", "chart.gp.in")))
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
