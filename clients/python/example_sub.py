#!/usr/bin/python3
"""example_sub.py - read events from a herald hub with herald.py.

Subscribes to --topic (and TERMINATE), proves that the hub has counted it,
prints "NAME is ready now to read", then "NAME got message: PAYLOAD" for
each message, as herald sub does, until TERMINATE ("NAME is terminating!")
or --max-messages.

Exit codes: 0 done with no gap; 64 usage; 65 done, but a gap was seen in a
publisher's sequence (events lost); 69 not counted in time, or nothing
heard for --idle-timeout; 130 on Ctrl-C."""

import argparse
import logging
import os
import sys

import herald


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(64, f"{self.prog}: {message}\n")


def show(message: herald.Message) -> str:
    """The payload as text: padding zero bytes dropped, other bytes that are
    not UTF-8 escaped; TERMINATE without a payload as its topic."""
    payload = message.payload.rstrip(b"\x00")
    if message.terminate and not payload:
        payload = message.topic
    return payload.decode("utf-8", "backslashreplace")


def main() -> int:
    parser = Parser(description="Read events from a herald hub.")
    parser.add_argument("--backend", default=herald.BACKEND, help="the hub's endpoint for subscribers (default %(default)s)")
    parser.add_argument("--control", default=herald.CONTROL, help="the hub's control endpoint (default %(default)s)")
    parser.add_argument("--topic", action="append", help="a topic (a prefix) to subscribe to; may be repeated (default event)")
    parser.add_argument("--name", default=f"sub-{os.getpid()}", help="the name in the story (default sub-PID)")
    parser.add_argument("--max-messages", type=int, default=0, metavar="N", help="leave after N messages; 0: read until TERMINATE (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="S", help="seconds to wait to be counted; 0: no limit (default %(default)s)")
    parser.add_argument("--idle-timeout", type=float, default=60.0, metavar="S", help="give up after S seconds without a message; 0: never (default %(default)s)")
    parser.add_argument("--verbose", action="store_true", help="also print each message's layout, publisher and sequence on stderr")
    args = parser.parse_args()
    if args.max_messages < 0 or args.timeout < 0 or args.idle_timeout < 0:
        parser.error("numbers cannot be negative")
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(levelname).1s sub: %(message)s", datefmt="%H:%M:%S")
    log = logging.getLogger("sub")

    subscriber = herald.Subscriber(args.topic or ["event"], args.backend, args.control,
                                   timeout=args.timeout or None, name=args.name)
    try:
        subscriber.ready(args.timeout or None)
        print(f"{args.name} is ready now to read", flush=True)
        read = 0
        while True:
            message = subscriber.receive(args.idle_timeout or None)
            read += 1
            if args.verbose:
                where = "" if message.publisher is None else \
                    f" publisher {message.publisher:016x} sequence {message.sequence}"
                log.info("%s: %s on %r%s", args.name, message.layout, message.topic, where)
            print(f"{args.name} got message: {show(message)}", flush=True)
            if message.terminate or (args.max_messages and read >= args.max_messages):
                if not message.terminate:
                    print(f"{args.name} has enough reading!", flush=True)
                print(f"{args.name} is terminating!", flush=True)
                break
    except herald.HeraldError as error:
        log.error("%s", error)
        return 69
    except KeyboardInterrupt:
        return 130
    finally:
        subscriber.close()
    log.info("%s read %d messages, lost %d", args.name, subscriber.received, subscriber.lost)
    return 65 if subscriber.gaps else 0


if __name__ == "__main__":
    sys.exit(main())
