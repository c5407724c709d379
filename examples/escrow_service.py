#!/usr/bin/python3
"""examples/escrow_service.py -- a small application service on escrowpay.

It logs in as an application login role (a role granted escrow_app, e.g.
`CREATE ROLE shop_backend LOGIN; GRANT escrow_app TO shop_backend;`) and
plays a shop's backend for a number of orders.  For each order it opens a
deal and drives it through the lifecycle (docs/lifecycle.md):

    open_deal -> issue_identity_code / confirm_identity -> reserve
    -> mark_shipped -> mark_delivered -> confirm_inspection (settled)

Beside that, it consumes the deal events the documented way
(docs/operations.md, "Listening to deal events"):

  - a second connection LISTENs on escrow_events; a notification is only a
    wake-up, its payload is never trusted;
  - it reads escrow.deal_events from a margin below the last id it
    processed, in id order, and skips the ids it has already processed:
    event ids are taken when the step runs, not when it commits, so a
    later-committing step may carry a smaller id than one already read.
    A consumer on its own waits in wait_and_read(timeout) for a wake-up or
    the timeout (a poll), then reads; here it reads between two deal steps
    (--step-delay seconds apart), whether woken or not;
  - when the connection is lost it reconnects, LISTENs first and then
    catches up from the table, so nothing is lost or processed twice.

Every event it processes is printed as one line

    event <id> deal <deal> <action> <from_stage> -> <to_stage> by <actor>

and a summary at the end.  scripts/examples-check.sh runs it against a throwaway
cluster (the `examples` kind of `make test`), terminates its listening
backend with pg_terminate_backend() mid-run, and checks that every event
of escrow.deal_events was printed exactly once.

Usage (libpq environment: PGHOST, PGPORT, PGDATABASE, PGUSER):

    examples/escrow_service.py [--deals N] [--step-delay SECONDS] [--user ROLE]

Needs python3-psycopg (Debian; scripts/deps.sh installs it).
"""

import argparse
import os
import select
import sys
import time

import psycopg

CHANNEL = "escrow_events"
# re-read this many ids below the last processed one: ids are taken when a
# step runs, a step that commits later may have a smaller id
ID_MARGIN = 1000


def log(msg):
    print(msg, flush=True)


class EventConsumer:
    """Reads escrow.deal_events: LISTEN as a wake-up, the table as the message."""

    def __init__(self, conninfo):
        self.conninfo = conninfo
        self.conn = None
        self.last_id = 0            # the largest id processed
        self.seen = set()           # ids processed within the margin
        self.woken = False
        self.reconnects = 0
        self.processed = 0

    def _on_notify(self, notify):
        # whatever the payload (anyone may NOTIFY): only a reason to look
        self.woken = True

    def connect(self):
        self.conn = psycopg.connect(self.conninfo, autocommit=True,
                                    application_name="escrow-service-events")
        self.conn.add_notify_handler(self._on_notify)
        # LISTEN first, then catch up: an event committed in between is
        # both notified and read, never missed
        self.conn.execute("LISTEN " + CHANNEL)
        self.catch_up()

    def catch_up(self):
        rows = self.conn.execute(
            """SELECT id, deal, action, from_stage, to_stage, actor
                 FROM escrow.deal_events
                WHERE id > %s
                ORDER BY id""", (self.last_id - ID_MARGIN,)).fetchall()
        for (eid, deal, action, from_stage, to_stage, actor) in rows:
            if eid in self.seen:
                continue            # processed already
            self.handle(eid, deal, action, from_stage, to_stage, actor)
            self.seen.add(eid)
            self.last_id = max(self.last_id, eid)
        # forget what is below the margin: it is never read again
        self.seen = {i for i in self.seen if i > self.last_id - ID_MARGIN}

    def handle(self, eid, deal, action, from_stage, to_stage, actor):
        # the application's work for an event goes here (mail the buyer,
        # update the order page, ...)
        self.processed += 1
        log(f"event {eid} deal {deal} {action} {from_stage or '-'} -> {to_stage} by {actor}")

    def wait_and_read(self, timeout):
        """Wait up to timeout seconds for a wake-up, then read the table.
        Survives a lost connection: reconnect, LISTEN, catch up."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.conn is None or self.conn.closed:
                    self.connect()
                left = deadline - time.monotonic()
                if not self.woken and left > 0:
                    select.select([self.conn.fileno()], [], [], left)
                # a query receives the pending notifications (and finds a
                # dead connection); then read, woken or not
                self.woken = False
                self.conn.execute("SELECT 1")
                self.catch_up()
                return
            except psycopg.OperationalError as e:
                log(f"events: connection lost ({str(e).strip().splitlines()[0]}); reconnecting")
                self.reconnects += 1
                try:
                    if self.conn is not None:
                        self.conn.close()
                except psycopg.Error:
                    pass
                self.conn = None
                time.sleep(0.2)


class Shop:
    """The application's calls: one deal driven through its lifecycle."""

    def __init__(self, conninfo, step_delay, after_step):
        self.conn = psycopg.connect(conninfo, autocommit=True,
                                    application_name="escrow-service")
        self.step_delay = step_delay
        self.after_step = after_step

    def one(self, sql, *args):
        return self.conn.execute(sql, args).fetchone()[0]

    def setup(self, tag):
        """A buyer with money and a merchant, registered as parties."""
        buyer_acct = self.one("SELECT escrow.open_account(%s, 'USD')", f"buyer-{tag}")
        shop_acct = self.one("SELECT escrow.open_account(%s, 'USD')", f"shop-{tag}")
        self.one("SELECT escrow.deposit(%s, 1000000, %s)", buyer_acct, f"topup-{tag}")
        self.one("SELECT escrow.register_member(%s, 'Buyer', 'buyer@example.com', %s)",
                 f"M-{tag}", buyer_acct)
        self.one("SELECT escrow.register_merchant(%s, 'Shop', 'orders@shop.example', %s)",
                 f"S-{tag}", shop_acct)
        return f"M-{tag}", f"S-{tag}"

    def step(self, sql, *args):
        v = self.one(sql, *args)
        time.sleep(self.step_delay)
        self.after_step(0)
        return v

    def order(self, buyer, merchant, amount, key):
        deal = self.step("SELECT escrow.open_deal(%s, %s, %s, idempotency_key => %s)",
                         buyer, merchant, amount, key)
        # the code goes to the buyer's contact; the buyer types it in
        code = self.step("SELECT escrow.issue_identity_code(%s)", deal)
        if not self.step("SELECT escrow.confirm_identity(%s, %s)", deal, code):
            raise RuntimeError(f"deal {deal}: identity code refused")
        self.step("SELECT escrow.reserve(%s, %s)", deal, buyer)
        self.step("SELECT escrow.mark_shipped(%s, 'CJ Logistics', %s, %s)",
                  deal, f"TRK-{deal}", merchant)
        self.step("SELECT escrow.mark_delivered(%s, %s)", deal, merchant)
        self.step("SELECT escrow.confirm_inspection(%s, %s)", deal, buyer)
        stage = self.one("SELECT stage::text FROM escrow.deals WHERE id = %s", deal)
        log(f"deal {deal} {stage}")
        return deal


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deals", type=int, default=3)
    ap.add_argument("--step-delay", type=float, default=0.0,
                    help="seconds between two deal steps")
    ap.add_argument("--user", default=os.environ.get("PGUSER", "shop_backend"))
    ap.add_argument("--tag", default=str(os.getpid()),
                    help="suffix of the parties' numbers and the idempotency keys")
    a = ap.parse_args()
    conninfo = psycopg.conninfo.make_conninfo(user=a.user)

    events = EventConsumer(conninfo)
    events.wait_and_read(0)
    # between two steps, the service reads the events that have come
    shop = Shop(conninfo, a.step_delay, events.wait_and_read)
    buyer, merchant = shop.setup(a.tag)
    for i in range(a.deals):
        shop.order(buyer, merchant, 1000 + i, f"order-{a.tag}-{i}")
    # every step has committed: one more read takes the last events
    events.wait_and_read(0)
    log(f"summary: {a.deals} deals, {events.processed} events processed, "
        f"{events.reconnects} reconnects")


if __name__ == "__main__":
    try:
        main()
    except psycopg.Error as e:
        diag = getattr(e, "diag", None)
        state = getattr(e, "sqlstate", None)
        print(f"escrow_service: {state or ''} {e}".strip(), file=sys.stderr)
        if diag is not None and diag.message_detail:
            print(f"DETAIL: {diag.message_detail}", file=sys.stderr)
        sys.exit(1)
