"""Without SENDGRID_API_KEY the report is a standard .eml file in the outbox."""

import io
import zipfile
from email import message_from_bytes, policy

import duckdb
import pytest

from fake_sendgrid import add_conversion, add_daily_metrics
from orchestration.reporting.errors import ReportError
from orchestration.reporting.service import send_report
from orchestration.resources.mailer import MailerResource


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox"


def send(report_warehouse, outbox, tmp_path, start="2024-06-25", end="2024-06-26", force=False, **mailer):
    resource = MailerResource(**{"report_from": "reports@localhost", "outbox": str(outbox), **mailer})
    return send_report(report_warehouse, resource, start, end, "ops@shop.example,ceo@shop.example", force,
                       reports_dir=tmp_path / "reports")


def read_eml(path):
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def test_without_a_key_a_parseable_eml_lands_in_the_outbox(report_warehouse, outbox, tmp_path):

    outcome = send(report_warehouse, outbox, tmp_path)

    emls = list(outbox.glob("*.eml"))
    assert outcome.status == "sent" and outcome.backend == "outbox"
    assert [str(path) for path in emls] == [outcome.outbox_file]
    message = read_eml(emls[0])
    assert message["Subject"] == "WhatsApp campaign report 2024-06-25 to 2024-06-26"
    assert message["From"] == "reports@localhost"
    assert message["To"] == "ceo@shop.example, ops@shop.example"
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert "Total conversions" in text.get_content() and "129.80" in text.get_content()
    assert "Total conversions" in html.get_content() and "7.50" in html.get_content()
    related = message.get_body(preferencelist=("related",))
    image, = [part for part in related.iter_parts() if part.get_content_type() == "image/png"]
    assert image.get_content().startswith(b"\x89PNG")
    content_id = image["Content-ID"].strip("<>")
    assert f'src="cid:{content_id}"' in html.get_content()
    attachment, = message.iter_attachments()
    assert attachment.get_filename() == "conversions_2024-06-25_2024-06-26.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == outcome.csv_path.read_bytes()
    assert not list(outbox.glob(".*"))  # no temp file left


def test_values_from_the_data_are_html_escaped(report_warehouse, outbox, tmp_path):
    with report_warehouse.connect() as con:
        add_daily_metrics(con, "2024-06-26", campaign_id="cmp_x", currency="<script>", total_conversions=1,
                          total_conversion_value="1.00")

    outcome = send(report_warehouse, outbox, tmp_path)

    html = read_eml(outbox / outcome.outbox_file).get_body(preferencelist=("html",)).get_content()
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_the_outbox_report_is_written_once_unless_forced(report_warehouse, outbox, tmp_path):
    first = send(report_warehouse, outbox, tmp_path)
    again = send(report_warehouse, outbox, tmp_path)
    forced = send(report_warehouse, outbox, tmp_path, force=True)

    assert (first.status, again.status, forced.status) == ("sent", "already_sent", "sent")
    assert again.outbox_file == first.outbox_file
    assert len(list(outbox.glob("*.eml"))) == 2


def test_an_attachment_above_the_message_limit_is_zipped(report_warehouse, outbox, tmp_path):
    with report_warehouse.connect() as con:
        add_conversion(con, "bulk", order_form_id="0" * 32, order_date="2024-06-25",
                       order_created_at="2024-06-25 20:00:00")
        con.execute("""
            INSERT INTO marts.fct_conversions
            SELECT conversion.* REPLACE ('bulk' || n AS conversion_id,
                                        lpad(n::VARCHAR, 32, '0') AS order_form_id)
            FROM marts.fct_conversions AS conversion, range(1, 1500) AS numbers(n)
            WHERE conversion_id = 'bulk'
        """)

    outcome = send(report_warehouse, outbox, tmp_path, max_message_bytes=300_000)

    csv_bytes = outcome.csv_path.read_bytes()
    assert len(csv_bytes) > 300_000
    attachment, = read_eml(outbox / outcome.outbox_file).iter_attachments()
    assert attachment.get_filename() == "conversions_2024-06-25_2024-06-26.zip"
    archive = zipfile.ZipFile(io.BytesIO(attachment.get_payload(decode=True)))
    assert archive.read("conversions_2024-06-25_2024-06-26.csv") == csv_bytes


def test_a_report_too_large_even_zipped_is_refused_and_recorded(report_warehouse, outbox, tmp_path):
    with pytest.raises(ReportError, match=r"MB even with its CSV zipped, above the 0 MB .*shorter date range"):
        send(report_warehouse, outbox, tmp_path, max_message_bytes=1_000)

    assert not outbox.exists() or not list(outbox.iterdir())
    con = duckdb.connect(report_warehouse.database, read_only=True)
    assert con.execute("SELECT status, error LIKE '%even with its CSV zipped%' "
                       "FROM raw.report_deliveries").fetchall() == [("failed", True)]
    con.close()


def test_an_invalid_sender_is_refused_in_one_line(report_warehouse, outbox, tmp_path):
    with pytest.raises(ReportError, match=r"^invalid sender \(REPORT_FROM\) address 'reports@x\\r\\nBcc: y@z'"):
        send(report_warehouse, outbox, tmp_path, report_from="reports@x\r\nBcc: y@z")

    assert not (tmp_path / "reports").exists()  # refused before any work
