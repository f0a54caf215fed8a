"""Delivery through a real SMTP server (aiosmtpd on loopback): plain, STARTTLS, implicit TLS, login; retries
and a clear error when the server is unreachable or refuses; the outbox when no SMTP host is configured."""

from __future__ import annotations

import email
from email import policy

import pytest

from service.report import DeliveryError, build_report, deliver
from service.report.profiles import ReportProfile
from tests.report.conftest import PASSWORD, USER, configured
from tests.report.fakes import NOW, TAXONOMY, XSS_TITLE, FakeLibrary


def _report(ledger, settings, **kwargs):
    return build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, now=NOW, **kwargs)


def _profile(settings):
    return ReportProfile(recipients=list(settings.recipients))


def _received(sink):
    (envelope,) = sink.messages
    return envelope, email.message_from_bytes(envelope.content, policy=policy.default)


def check_message(msg):
    """The structure every report has: mixed[alternative[plain, related[html, png]], csv]."""
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, related = alternative.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png" and image.get_content_disposition() == "inline"
    cid = image["Content-ID"].strip("<>")
    html = html_part.get_content()
    assert f'src="cid:{cid}"' in html  # the HTML shows the inline chart
    png = image.get_content()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000

    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_filename().endswith(".csv")
    csv_bytes = attachment.get_payload(decode=True)
    assert csv_bytes.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    return plain.get_content(), html, png, csv_bytes.decode("utf-8-sig")


def test_plain_smtp_delivers_a_complete_report(ledger, settings, smtp_server):
    sink, port = smtp_server("plain")
    settings = configured(settings, **{"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"})
    report = _report(ledger, settings)
    result = deliver(report, settings, _profile(settings), ledger)

    assert result.status == "sent" and result.attempts == 1
    envelope, msg = _received(sink)
    assert envelope.mail_from == "dualscout@example.jp"
    assert envelope.rcpt_tos == ["scout@example.jp", "analyst@example.jp"]
    assert "分析担当" in str(msg["To"])  # the display name survives its RFC 2047 encoding
    assert msg["Subject"] == "[dualscout] Weekly report 2026-W47: 11 new matches for 3 needs"
    text, html, _png, csv_text = check_message(msg)

    # Japanese survives in every part.
    for part in (text, html, csv_text):
        assert "ダイヤモンドNVセンターを用いた室温動作の高感度量子磁気センサ" in part
        assert "東京工業大学" in part
    assert "小型無人機搭載型の量子センサによる磁気異常検知技術" in html
    assert "室温で1 pT/√Hzの磁場感度を実証した。" in text  # one evidence sentence, cut at 。
    assert "センサヘッドは50 g" not in text
    # Crawled text is escaped in the HTML and appears verbatim in the plain text.
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "javascript:" not in html
    assert XSS_TITLE in text
    # The CSV holds every new match, not only the top five per need.
    assert len(csv_text.strip().splitlines()) == 1 + 11
    # The outbox keeps what was sent, and the ledger moves the mark.
    assert result.eml_path.read_bytes().count(b"Content-ID") == 1
    assert ledger.last_sent_report()[0] == "2026-W47"


def test_starttls_with_login(ledger, settings, smtp_server, trust):
    sink, port = smtp_server("starttls", certificate=trust, auth=True)
    settings = configured(
        settings, **{"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "starttls", "smtp_user": USER,
                "smtp_password": PASSWORD}  # fmt: skip
    )
    result = deliver(_report(ledger, settings), settings, _profile(settings), ledger)
    assert result.status == "sent"
    envelope, msg = _received(sink)
    check_message(msg)


def test_implicit_tls(ledger, settings, smtp_server, trust):
    sink, port = smtp_server("ssl", certificate=trust)
    settings = configured(settings, **{"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "ssl"})
    assert deliver(_report(ledger, settings), settings, _profile(settings), ledger).status == "sent"
    _received(sink)


def test_wrong_password_is_not_retried_and_never_shown(ledger, settings, smtp_server, trust):
    sink, port = smtp_server("starttls", certificate=trust, auth=True)
    settings = configured(
        settings, **{"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_user": USER, "smtp_password": "wrong-Pa55"}
    )
    slept: list[float] = []
    with pytest.raises(DeliveryError, match="refused the login") as failure:
        deliver(_report(ledger, settings), settings, _profile(settings), ledger, sleep=slept.append)
    assert failure.value.result.attempts == 1 and slept == []
    assert "wrong-Pa55" not in str(failure.value) and "wrong-Pa55" not in repr(settings)
    assert sink.messages == []


def test_an_untrusted_certificate_is_refused(ledger, settings, smtp_server, certificate):
    # No `trust` fixture: the default context verifies, so a self-signed certificate fails (no silent downgrade).
    _sink, port = smtp_server("starttls", certificate=certificate)
    settings = configured(settings, **{"smtp_host": "127.0.0.1", "smtp_port": port, "send_retries": 0})
    with pytest.raises(DeliveryError, match="TLS failed"):
        deliver(_report(ledger, settings), settings, _profile(settings), ledger)


def test_unreachable_server_is_retried_then_reported(ledger, settings):
    from tests.ports import free_port

    settings = configured(
        settings, **{"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_security": "none", "send_retries": 2}
    )
    slept: list[float] = []
    with pytest.raises(DeliveryError) as failure:
        deliver(_report(ledger, settings), settings, _profile(settings), ledger, backoff=0.5, sleep=slept.append)
    result = failure.value.result
    assert result.status == "failed" and result.attempts == 3
    assert slept == [0.5, 1.0]  # exponential backoff between the attempts
    assert "after 3 attempts" in str(failure.value) and "connection was refused" in str(failure.value)
    assert result.eml_path.exists() and str(result.eml_path) in str(failure.value)  # kept in the outbox
    assert email.message_from_bytes(result.eml_path.read_bytes(), policy=policy.default)["Subject"]
    assert ledger.last_sent_report()[0] == "2026-W46"  # a failed send does not move the mark
    assert ledger.reports(1)[0].status == "failed"


def test_a_refusing_server_is_retried_then_reported(ledger, settings, smtp_server):
    sink, port = smtp_server("plain")
    sink.refuse = True
    settings = configured(settings, **{"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"})
    with pytest.raises(DeliveryError, match="554 5.7.1 Message rejected by policy"):
        deliver(_report(ledger, settings), settings, _profile(settings), ledger, backoff=0.0)
    assert sink.attempts == 3


def test_without_smtp_the_report_is_written_to_the_outbox(ledger, settings):
    report = _report(ledger, settings)
    result = deliver(report, settings, _profile(settings), ledger)
    assert result.status == "written"
    assert {p.suffix for p in settings.outbox_dir.iterdir()} == {".eml", ".html", ".csv"}
    check_message(email.message_from_bytes(result.eml_path.read_bytes(), policy=policy.default))
    html = result.html_path.read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html and "cid:" not in html  # stand-alone in a browser
    # Writing to the outbox is the delivery when no SMTP host is configured: the next report starts here.
    assert ledger.last_sent_report()[0] == "2026-W47"
    later = build_report(ledger, FakeLibrary(), settings=settings, taxonomy=TAXONOMY, chart=False)
    assert later.is_empty and len(later.quiet_needs) == 5


def test_a_preview_leaves_the_mark(ledger, settings):
    result = deliver(_report(ledger, settings), settings, _profile(settings), ledger, send=False)
    assert result.status == "preview" and result.eml_path.exists()
    assert ledger.last_sent_report()[0] == "2026-W46"


def test_a_bad_recipient_is_a_clear_error(ledger, settings):
    with pytest.raises(ValueError, match="not an e-mail address"):
        deliver(_report(ledger, settings), settings, ReportProfile(recipients=["scout-at-example"]), ledger)


def test_a_refused_recipient_is_reported_and_the_others_get_the_mail(ledger, settings, smtp_server):
    sink, port = smtp_server("plain")
    sink.refuse_rcpt = {"analyst@example.jp"}
    settings = configured(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    result = deliver(_report(ledger, settings), settings, _profile(settings), ledger)
    assert result.status == "sent" and result.recipients == ["scout@example.jp"]
    assert result.messages == ["analyst@example.jp was refused: 550 5.1.1 No such mailbox"]
    assert [e.rcpt_tos for e in sink.messages] == [["scout@example.jp"]]
    assert ledger.reports(1)[0].recipients == ["scout@example.jp"]
