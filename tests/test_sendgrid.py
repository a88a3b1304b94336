"""Delivery through SendGrid: the real `sendgrid` client against a fake server on 127.0.0.1."""

import base64
import logging
import time

import duckdb
import pytest

from fake_sendgrid import FakeSendGrid, Reply, add_conversion, sendgrid_errors
from orchestration.reporting.errors import DeliveryError, ReportArgumentError
from orchestration.reporting.service import send_report
from orchestration.resources.mailer import MailerResource

API_KEY = "SG.test-key-AbCdEf0123.ShouldNeverBeSeen-987"


@pytest.fixture
def fake():
    server = FakeSendGrid().start()
    yield server
    server.stop()


def mailer(fake, tmp_path, **overrides):
    config = {"report_from": "reports@shop.example", "outbox": str(tmp_path / "outbox"),
              "sendgrid_api_key": API_KEY, "sendgrid_host": fake.url, "backoff_base_seconds": 0.01, "timeout_seconds": 2.0,
              "max_attempts": 4, **overrides}
    return MailerResource(**config)


def send(report_warehouse, fake, tmp_path, recipients="b@y.com, A@x.com", force=False, **overrides):
    return send_report(report_warehouse, mailer(fake, tmp_path, **overrides), "2024-06-25", "2024-06-26",
                       recipients, force, reports_dir=tmp_path / "reports", timezone="America/Sao_Paulo")


def deliveries(report_warehouse):
    con = duckdb.connect(report_warehouse.database, read_only=True)
    try:
        return con.execute("SELECT status, attempts, backend, recipients, sendgrid_message_id, error, forced "
                           "FROM raw.report_deliveries ORDER BY started_at").fetchall()
    finally:
        con.close()


def test_request_carries_recipients_sender_subject_bodies_and_the_csv(report_warehouse, fake, tmp_path):
    outcome = send(report_warehouse, fake, tmp_path)

    assert len(fake.requests) == 1
    request = fake.requests[0]
    assert request.path == "/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    body = request.json
    assert body["personalizations"] == [{"to": [{"email": "a@x.com"}, {"email": "b@y.com"}]}]
    assert body["from"] == {"email": "reports@shop.example"}
    assert body["subject"] == "WhatsApp campaign report 2024-06-25 to 2024-06-26"
    assert [part["type"] for part in body["content"]] == ["text/plain", "text/html"]
    text, html = (part["value"] for part in body["content"])
    assert "Messages sent" in text and "17" in text and "129.80" in text and "7.50" in text
    assert "Messages sent" in html and "129.80" in html and "USD" in html
    csv_part, = [part for part in body["attachments"] if part["disposition"] == "attachment"]
    assert csv_part["filename"] == "conversions_2024-06-25_2024-06-26.csv"
    assert csv_part["type"] == "text/csv"
    assert base64.b64decode(csv_part["content"]) == outcome.csv_path.read_bytes()
    chart, = [part for part in body["attachments"] if part["disposition"] == "inline"]
    assert chart["type"] == "image/png"
    assert base64.b64decode(chart["content"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert f'src="cid:{chart["content_id"]}"' in html

    assert outcome.status == "sent" and outcome.backend == "sendgrid"
    assert outcome.sendgrid_message_id == "fake-message-1"
    assert outcome.recipients == ("a@x.com", "b@y.com") and outcome.rows == 3
    assert deliveries(report_warehouse) == [("sent", 1, "sendgrid", "a@x.com,b@y.com", "fake-message-1", None, False)]


def test_too_many_requests_waits_for_retry_after_then_sends(report_warehouse, fake, tmp_path):
    fake.reply(Reply(429, {"Retry-After": "1"}, sendgrid_errors("too many requests")))

    outcome = send(report_warehouse, fake, tmp_path)

    assert len(fake.requests) == 2
    assert fake.requests[1].received_at - fake.requests[0].received_at >= 0.95  # not the 0.01s backoff
    assert outcome.status == "sent" and outcome.attempts == 2
    assert deliveries(report_warehouse)[0][:2] == ("sent", 2)


def test_server_errors_exhausted_fail_clearly_and_the_next_run_sends_once(report_warehouse, fake, tmp_path):
    fake.reply(Reply(500), Reply(503), Reply(502))

    with pytest.raises(DeliveryError) as failure:
        send(report_warehouse, fake, tmp_path, max_attempts=3)

    message = str(failure.value)
    assert message == "SendGrid failed 3 times, the last with 502 Bad Gateway; giving up"
    assert len(fake.requests) == 3
    assert deliveries(report_warehouse) == [("failed", 3, "sendgrid", "a@x.com,b@y.com", None, message, False)]

    outcome = send(report_warehouse, fake, tmp_path, max_attempts=3)

    assert outcome.status == "sent" and len(fake.requests) == 4
    assert [row[0] for row in deliveries(report_warehouse)] == ["failed", "sent"]


def test_unauthorized_fails_at_once_with_a_clear_message(report_warehouse, fake, tmp_path):
    fake.reply(Reply(401, {"Content-Type": "application/json"},
                     sendgrid_errors("The provided authorization grant is invalid, expired, or revoked")))

    with pytest.raises(DeliveryError) as failure:
        send(report_warehouse, fake, tmp_path)

    assert str(failure.value) == ("SendGrid rejected the request (401 Unauthorized): The provided "
                                  "authorization grant is invalid, expired, or revoked; check SENDGRID_API_KEY")
    assert len(fake.requests) == 1
    assert deliveries(report_warehouse)[0][:2] == ("failed", 1)


def test_bad_request_is_not_retried(report_warehouse, fake, tmp_path):
    fake.reply(Reply(400, {}, sendgrid_errors("The from address does not match a verified Sender Identity.")))

    with pytest.raises(DeliveryError, match=r"^SendGrid rejected the request \(400 Bad Request\): The from "):
        send(report_warehouse, fake, tmp_path)

    assert len(fake.requests) == 1


def test_timeouts_are_retried_then_fail_naming_the_timeout(report_warehouse, fake, tmp_path):
    fake.reply(Reply(202, delay=1.5), Reply(202, delay=1.5))

    started = time.monotonic()
    with pytest.raises(DeliveryError) as failure:
        send(report_warehouse, fake, tmp_path, timeout_seconds=0.3, max_attempts=2)

    assert time.monotonic() - started < 2.5  # two 0.3s timeouts, not two 1.5s waits
    assert str(failure.value) == (f"SendGrid failed 2 times, the last with no answer from {fake.url} "
                                  "within the 0.3s timeout; giving up")
    assert len(fake.requests) == 2


def test_a_timeout_then_an_answer_sends(report_warehouse, fake, tmp_path):
    fake.reply(Reply(202, delay=1.0))

    outcome = send(report_warehouse, fake, tmp_path, timeout_seconds=0.3)

    assert outcome.status == "sent" and outcome.attempts == 2 and len(fake.requests) == 2


def test_retry_after_beyond_the_budget_gives_up_without_waiting(report_warehouse, fake, tmp_path):
    fake.reply(Reply(429, {"Retry-After": "3600"}))

    started = time.monotonic()
    with pytest.raises(DeliveryError, match="would pass the 60s retry budget"):
        send(report_warehouse, fake, tmp_path, retry_budget_seconds=60)

    assert time.monotonic() - started < 5 and len(fake.requests) == 1


def test_the_same_report_is_not_sent_twice(report_warehouse, fake, tmp_path):
    first = send(report_warehouse, fake, tmp_path)
    again = send(report_warehouse, fake, tmp_path, recipients="a@x.com,b@y.com")

    assert len(fake.requests) == 1
    assert again.status == "already_sent"
    assert again.delivery_id == first.delivery_id and again.sendgrid_message_id == "fake-message-1"
    assert len(deliveries(report_warehouse)) == 1


def test_force_sends_the_same_report_again(report_warehouse, fake, tmp_path):
    send(report_warehouse, fake, tmp_path)
    forced = send(report_warehouse, fake, tmp_path, force=True)

    assert forced.status == "sent" and forced.sendgrid_message_id == "fake-message-2"
    assert len(fake.requests) == 2
    assert [(row[0], row[6]) for row in deliveries(report_warehouse)] == [("sent", False), ("sent", True)]


def test_new_content_or_other_recipients_are_a_new_report(report_warehouse, fake, tmp_path):
    send(report_warehouse, fake, tmp_path)
    with report_warehouse.connect() as con:
        add_conversion(con, "g9", order_form_id="d" * 32, order_created_at="2024-06-26 11:00:00",
                       order_date="2024-06-26")
    send(report_warehouse, fake, tmp_path)
    send(report_warehouse, fake, tmp_path, recipients="a@x.com")

    assert len(fake.requests) == 3


@pytest.mark.parametrize(("recipients", "named"), [
    ("a@x.com\r\nBcc: evil@y.com", r"'a@x.com\r\nBcc: evil@y.com'"),
    ("a@x.com b@y.com", "a@x.com b@y.com"),
    ("Boss <boss@x.com>", "Boss <boss@x.com>"),
    ("a@x.com,not-an-address", "not-an-address"),
    ("", "no recipients"),
])
def test_bad_recipient_is_refused_before_anything_is_sent(report_warehouse, fake, tmp_path, recipients, named):
    with pytest.raises(ReportArgumentError) as failure:
        send(report_warehouse, fake, tmp_path, recipients=recipients)

    message = str(failure.value)
    assert named in message and "\n" not in message and "\r" not in message
    assert fake.requests == []


def test_the_api_key_never_shows_in_logs_errors_or_the_ledger(report_warehouse, fake, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # the HTTP client logs request headers at debug level
    errors = []
    send(report_warehouse, fake, tmp_path)
    # A proxy that echoes the request's headers back in its error body.
    fake.reply(Reply(503, {"X-Echo": f"Bearer {API_KEY}"}, sendgrid_errors(f"Authorization: Bearer {API_KEY}")),
               Reply(401, {}, sendgrid_errors(f"bad key {API_KEY}")))
    with pytest.raises(DeliveryError) as failure:
        send(report_warehouse, fake, tmp_path, force=True)
    errors.append(failure.value)
    fake.reply(Reply(202, delay=1.0), Reply(202, delay=1.0))
    with pytest.raises(DeliveryError) as failure:
        send(report_warehouse, fake, tmp_path, force=True, timeout_seconds=0.2, max_attempts=2)
    errors.append(failure.value)

    assert any("HEADERS" in record.getMessage() for record in caplog.records)  # the client did log
    assert "[redacted]" in str(errors[0])
    seen = [record.getMessage() for record in caplog.records] + [caplog.text]
    seen += [str(error) for error in errors] + [repr(error) for error in errors]
    seen += [repr(error.__cause__) + repr(error.__context__) for error in errors]
    seen += [str(row) for row in deliveries(report_warehouse)]
    out, err = capfd.readouterr()
    seen += [out, err]
    for text in seen:
        assert API_KEY not in text
        assert "ShouldNeverBeSeen" not in text
