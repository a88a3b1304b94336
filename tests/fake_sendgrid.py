"""Fakes of what the report talks to, for its tests: a SendGrid v3 server on 127.0.0.1 and the
marts the report reads, built by hand with the docs/spec.md section 3 types (no dbt).

The server is driven by the real `sendgrid` client (SENDGRID_HOST points at it). It records
every request and answers from a script: each entry a status, headers, a body and an optional
delay before answering; when the script is empty it accepts (202) with an X-Message-Id.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb


@dataclass
class Reply:
    status: int = 202
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0  # seconds before answering: past the client's timeout, a timeout


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.monotonic()

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class FakeSendGrid:
    def __init__(self):
        self.requests: list[RecordedRequest] = []
        self.script: deque[Reply] = deque()
        self.accepted = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True  # a handler still sleeping past a timeout is not waited for
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reply(self, *replies: Reply) -> None:
        self.script.extend(replies)

    def start(self) -> FakeSendGrid:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self) -> Reply:
        with self._lock:
            if self.script:
                return self.script.popleft()
            self.accepted += 1
            return Reply(202, {"X-Message-Id": f"fake-message-{self.accepted}"})

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with fake._lock:
                    fake.requests.append(RecordedRequest(
                        "POST", self.path, dict(self.headers.items()), body, time.monotonic()))
                reply = fake._next()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (its timeout): nothing to answer

            def log_message(self, format, *args):  # keep test output clean
                pass

        return Handler


def sendgrid_errors(*messages: str) -> bytes:
    """A SendGrid error body."""
    return json.dumps({"errors": [{"message": message, "field": None, "help": None}
                                  for message in messages]}).encode()


# --- the marts -----------------------------------------------------------------------------

MARTS_DDL = """
CREATE SCHEMA IF NOT EXISTS marts;
CREATE TABLE marts.fct_reminders (
    message_id VARCHAR PRIMARY KEY, campaign_id VARCHAR, user_id VARCHAR, order_form_id VARCHAR,
    sent_at TIMESTAMP, delivered_at TIMESTAMP, read_at TIMESTAMP, failed BOOLEAN,
    first_clicked_at TIMESTAMP, click_count BIGINT, checkout_items VARCHAR
);
CREATE TABLE marts.fct_conversions (
    conversion_id VARCHAR PRIMARY KEY, order_form_id VARCHAR, user_id VARCHAR, message_id VARCHAR,
    campaign_id VARCHAR, attribution_type VARCHAR, delivered_at TIMESTAMP, read_at TIMESTAMP,
    clicked_at TIMESTAMP, order_created_at TIMESTAMP, order_date DATE, order_total DECIMAL(18, 2),
    currency VARCHAR, checkout_items VARCHAR, order_items VARCHAR
);
CREATE TABLE marts.mart_daily_campaign_metrics (
    metric_date DATE, campaign_id VARCHAR,
    messages_sent BIGINT, messages_delivered BIGINT, messages_failed BIGINT, messages_read BIGINT,
    unique_clicks BIGINT, total_clicks BIGINT,
    assisted_conversions BIGINT, click_through_conversions BIGINT, total_conversions BIGINT,
    assisted_conversion_value DECIMAL(18, 2), click_through_conversion_value DECIMAL(18, 2),
    total_conversion_value DECIMAL(18, 2), currency VARCHAR
);
CREATE TABLE marts.fct_clicks (
    click_id VARCHAR PRIMARY KEY, click_kind VARCHAR, message_id VARCHAR, campaign_id VARCHAR,
    user_id VARCHAR, clicked_at TIMESTAMP, click_date DATE
);
CREATE TABLE marts.dim_campaigns (
    campaign_id VARCHAR PRIMARY KEY, name VARCHAR, language VARCHAR, message_type VARCHAR,
    currency VARCHAR, status VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP
);
"""

ITEMS = '[{"id":"1234","name":"Camiseta Azul","quantity":2,"price":49.9}]'


def create_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(MARTS_DDL)


def ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def add_reminder(con, message_id: str, *, user_id: str = "u1", campaign_id: str = "cmp_cart_es",
                 sent_at: str = "2024-06-25 11:50:00", delivered_at: str | None = None,
                 read_at: str | None = None, first_clicked_at: str | None = None,
                 click_count: int = 0) -> None:
    con.execute("INSERT INTO marts.fct_reminders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [message_id, campaign_id, user_id, "ede846222cd44046ba6c638442c3505a", ts(sent_at),
                 ts(delivered_at), ts(read_at), False, ts(first_clicked_at), click_count, ITEMS])


def add_conversion(con, conversion_id: str, *, order_form_id: str, order_created_at: str,
                   order_date: str, user_id: str = "u1", message_id: str = "wamid.1",
                   attribution_type: str = "assisted", delivered_at: str | None = "2024-06-25 11:58:05.514",
                   read_at: str | None = None, clicked_at: str | None = None,
                   order_total: str = "99.80", currency: str = "BRL", checkout_items: str = ITEMS,
                   order_items: str = ITEMS, campaign_id: str = "cmp_cart_es") -> None:
    con.execute("INSERT INTO marts.fct_conversions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [conversion_id, order_form_id, user_id, message_id, campaign_id, attribution_type,
                 ts(delivered_at), ts(read_at), ts(clicked_at), ts(order_created_at),
                 date.fromisoformat(order_date), order_total, currency, checkout_items, order_items])


COUNT_COLUMNS = ("messages_sent", "messages_delivered", "messages_failed", "messages_read",
                 "unique_clicks", "total_clicks", "assisted_conversions",
                 "click_through_conversions", "total_conversions")
VALUE_COLUMNS = ("assisted_conversion_value", "click_through_conversion_value", "total_conversion_value")


def add_daily_metrics(con, metric_date: str, campaign_id: str = "cmp_cart_es",
                      currency: str | None = "BRL", **figures) -> None:
    """One metrics row; figures not given are 0."""
    unknown = set(figures) - set(COUNT_COLUMNS) - set(VALUE_COLUMNS)
    assert not unknown, unknown
    values = [figures.get(name, 0) for name in COUNT_COLUMNS] + [str(figures.get(name, 0))
                                                                 for name in VALUE_COLUMNS]
    con.execute("INSERT INTO marts.mart_daily_campaign_metrics VALUES (?, ?, "
                + ", ".join("?" for _ in values) + ", ?)",
                [date.fromisoformat(metric_date), campaign_id, *values, currency])


def add_click(con, click_id: str, *, user_id: str, clicked_at: str, click_date: str | None = None,
              message_id: str = "wamid.1", campaign_id: str = "cmp_cart_es", click_kind: str = "link") -> None:
    con.execute("INSERT INTO marts.fct_clicks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [click_id, click_kind, message_id, campaign_id, user_id, ts(clicked_at),
                 date.fromisoformat(click_date or clicked_at[:10])])


def add_campaign(con, campaign_id: str, name: str, *, currency: str = "BRL", status: str = "active",
                 language: str = "es", message_type: str = "cart_reminder") -> None:
    con.execute("INSERT INTO marts.dim_campaigns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [campaign_id, name, language, message_type, currency, status,
                 ts("2024-06-01 10:00:00"), ts("2024-06-20 09:00:00")])


def small_marts(con) -> None:
    """Two conversions on 2024-06-25 (BRL) and one on 2024-06-26 (USD), with their metrics; user
    u1 clicks on both days, so 2024-06-25 to 2024-06-26 has 3 distinct clickers while the daily
    unique_clicks add up to 4."""
    create_marts(con)
    add_campaign(con, "cmp_cart_es", "Carrito abandonado")
    add_campaign(con, "cmp_cart_us", "Abandoned cart US", currency="USD", status="paused", language="en")
    add_click(con, "c1", user_id="u1", clicked_at="2024-06-25 12:10:00")
    add_click(con, "wamid.in.1", user_id="u1", clicked_at="2024-06-25 12:11:00", click_kind="button")
    add_click(con, "c2", user_id="u2", message_id="wamid.2", clicked_at="2024-06-25 13:00:00")
    add_click(con, "c3", user_id="u4", message_id="wamid.4", clicked_at="2024-06-25 16:00:00")
    add_click(con, "c4", user_id="u1", clicked_at="2024-06-26 09:00:00")
    add_reminder(con, "wamid.1", first_clicked_at="2024-06-25 12:10:00", click_count=1)
    add_reminder(con, "wamid.2", user_id="u2")
    add_conversion(con, "g1", order_form_id="a" * 32, message_id="wamid.1", attribution_type="click_through",
                   clicked_at="2024-06-25 12:10:00", order_created_at="2024-06-25 14:03:11.123",
                   order_date="2024-06-25", order_total="109.80")
    add_conversion(con, "g2", order_form_id="b" * 32, user_id="u2", message_id="wamid.2",
                   order_created_at="2024-06-25 15:00:00", order_date="2024-06-25", order_total="20.00",
                   order_items='[{"id":"5","name":"Café <b>&</b>","quantity":1,"price":20.0}]')
    add_conversion(con, "g3", order_form_id="c" * 32, user_id="u3", message_id="wamid.3",
                   order_created_at="2024-06-26 10:00:00", order_date="2024-06-26", order_total="7.50",
                   currency="USD", campaign_id="cmp_cart_us")
    add_daily_metrics(con, "2024-06-25", messages_sent=10, messages_delivered=9, messages_failed=1,
                      messages_read=7, unique_clicks=3, total_clicks=4, assisted_conversions=1,
                      click_through_conversions=1, total_conversions=2, assisted_conversion_value="20.00",
                      click_through_conversion_value="109.80", total_conversion_value="129.80")
    add_daily_metrics(con, "2024-06-26", messages_sent=5, messages_delivered=5, messages_read=2,
                      unique_clicks=1, total_clicks=1)
    add_daily_metrics(con, "2024-06-26", campaign_id="cmp_cart_us", currency="USD", messages_sent=2,
                      messages_delivered=2, assisted_conversions=1, total_conversions=1,
                      assisted_conversion_value="7.50", total_conversion_value="7.50")
