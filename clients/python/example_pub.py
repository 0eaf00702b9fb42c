#!/usr/bin/python3
"""example_pub.py - publish events through a herald hub with herald.py.

Waits until the hub counts --wait-subscribers subscribers on --topic (after
proving its own path to the hub), publishes --events events
"THIS IS EVENT-1", "THIS IS EVENT-2", ..., then TERMINATE, and proves its
path again: exit 0 means that every event reached the hub.

Exit codes: 0 done; 64 usage; 65 the connection to the hub dropped while
publishing (events may be lost); 69 the hub did not answer, the
subscribers did not come, or the hub refused something, in time; 130 on
Ctrl-C."""

import argparse
import logging
import sys
import time

import herald


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(64, f"{self.prog}: {message}\n")


def main() -> int:
    parser = Parser(description="Publish events through a herald hub.")
    parser.add_argument("--frontend", default=herald.FRONTEND, help="the hub's endpoint for publishers (default %(default)s)")
    parser.add_argument("--control", default=herald.CONTROL, help="the hub's control endpoint (default %(default)s)")
    parser.add_argument("--topic", default="event", help="the events' topic (default %(default)s)")
    parser.add_argument("--events", type=int, default=9, help="how many events to publish (default %(default)s)")
    parser.add_argument("--interval", type=int, default=100, metavar="MS", help="milliseconds between events (default %(default)s)")
    parser.add_argument("--wait-subscribers", type=int, default=0, metavar="N", help="before the first event, wait until the hub counts N subscribers (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S", help="seconds to wait for the hub and the subscribers; 0: no limit (default %(default)s)")
    parser.add_argument("--count", action=argparse.BooleanOptionalAction, default=True, help="before each event, ask the hub and print 'Publisher has N subscribers' (default yes)")
    parser.add_argument("--terminate", action=argparse.BooleanOptionalAction, default=True, help="publish TERMINATE after the last event (default yes)")
    args = parser.parse_args()
    if args.events < 0 or args.interval < 0 or args.wait_subscribers < 0 or args.timeout < 0:
        parser.error("numbers cannot be negative")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname).1s pub: %(message)s", datefmt="%H:%M:%S")
    log = logging.getLogger("pub")

    timeout = args.timeout or None
    publisher = herald.Publisher(args.frontend, args.control, timeout=timeout)
    try:
        if args.wait_subscribers:
            count = publisher.wait_subscribers(args.topic, args.wait_subscribers, timeout)
            log.info("the hub counts %d subscribers to %r", count, args.topic)
        else:
            publisher.prove(timeout)
        for k in range(1, args.events + 1):
            if args.count:
                print(f"Publisher has {publisher.count(args.topic)} subscribers", flush=True)
            publisher.publish(args.topic, f"THIS IS EVENT-{k}")
            if args.interval and k < args.events:
                time.sleep(args.interval / 1000)
        if args.terminate:
            publisher.terminate()
        publisher.close()  # proves the path again: every event reached the hub
    except herald.ConnectionLost as error:
        log.error("%s", error)
        return 65
    except herald.HeraldError as error:
        log.error("%s", error)
        publisher.close(prove=False)
        return 69
    except KeyboardInterrupt:
        publisher.close(prove=False)
        return 130
    log.info("published %d events%s as publisher %016x; all reached the hub",
             args.events, " and TERMINATE" if args.terminate else "", publisher.publisher_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
