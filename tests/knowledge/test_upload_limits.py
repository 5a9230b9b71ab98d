"""Issue 16 item 13 (part): manager uploads. No size limit (150 MB read whole), a PDF that took
212 s of CPU, an 8 KB PDF that became 2,903 chunks, raw library errors shown to managers."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from knowledge.documents import document_from_bytes
from knowledge.ingestion import source_ingest
from knowledge.models import Source
from knowledge.services import KnowledgeError
from tests.knowledge.test_ingestion import _pdf_bytes


def test_an_upload_over_the_limit_is_refused_in_the_form_with_its_size(client, manager, settings):
    settings.HANDOFF_UPLOAD_MAX_BYTES = 1024 * 1024
    client.force_login(manager)
    big = SimpleUploadedFile("manual.md", b"# Manual\n" + b"x" * (3 * 1024 * 1024))
    response = client.post(reverse("admin:knowledge_source_add"), {"name": "Manual", "kind": "file", "file": big})
    page = response.content.decode()
    assert response.status_code == 200 and "This file is 3.0 MB; uploads are limited to 1 MB" in page
    assert not Source.objects.exists()


def test_a_pdf_with_too_many_pages_is_refused_before_its_text_is_read(settings):
    import io

    from pypdf import PdfWriter

    settings.HANDOFF_PDF_MAX_PAGES = 5
    writer = PdfWriter()
    for _ in range(6):
        writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(KnowledgeError, match="6 pages, more than 5; split the PDF"):
        document_from_bytes(name="catalogue.pdf", data=buffer.getvalue())


def test_a_document_with_more_text_than_an_article_holds_is_refused(settings):
    settings.HANDOFF_DOCUMENT_MAX_CHARS = 1000
    with pytest.raises(KnowledgeError, match="more than the 1,000 one article may hold"):
        document_from_bytes(name="log.txt", data=b"word " * 400)
    assert document_from_bytes(name="terms.pdf", data=_pdf_bytes("Short terms.")).body == "Short terms."


@pytest.mark.parametrize("data", [b"%PDF-1.7\n garbage that is not a PDF", b"%PDF-1.4\n1 0 obj << /Type /Catalog"])
def test_a_damaged_pdf_gets_a_message_a_manager_can_act_on(data):
    with pytest.raises(KnowledgeError, match=r"this PDF could not be read .* export it again"):
        document_from_bytes(name="broken.pdf", data=data)


@pytest.mark.django_db
def test_admin_shows_our_message_not_the_librarys(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    source = Source.objects.create(
        name="Broken", kind=Source.Kind.FILE, file=SimpleUploadedFile("broken.pdf", b"%PDF-1.7\n nonsense")
    )
    with pytest.raises(KnowledgeError):
        source_ingest(source_id=source.pk)
    source.refresh_from_db()
    assert source.status == Source.Status.FAILED
    assert source.last_error.startswith("Broken: this PDF could not be read")


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_ingestion_runs_beside_the_admin_request_not_inside_it(client, manager, settings, tmp_path):
    import time

    settings.MEDIA_ROOT = tmp_path
    settings.KNOWLEDGE_INGEST_IN_THREAD = True  # what REDIS_URL unset means outside the test suite
    source = Source.objects.create(
        name="Broken", kind=Source.Kind.FILE, file=SimpleUploadedFile("broken.pdf", b"%PDF-1.7\n nonsense")
    )
    client.force_login(manager)
    response = client.post(
        reverse("admin:knowledge_source_changelist"), {"action": "run_ingestion", "_selected_action": [source.pk]}
    )
    assert response.status_code == 302  # eagerly, the PDF's error was this request's 500
    deadline = time.monotonic() + 10
    while (status := Source.objects.get(pk=source.pk).status) != Source.Status.FAILED and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == Source.Status.FAILED
    assert "this PDF could not be read" in Source.objects.get(pk=source.pk).last_error
