import io
import json

import pytest
from django.core.files.base import ContentFile

from knowledge.chunking import split_text
from knowledge.documents import document_from_bytes
from knowledge.importers import Columns, faq_entries_from_file, faq_import
from knowledge.ingestion import source_ingest
from knowledge.models import Article, Chunk, ExampleQuestion, Source
from knowledge.services import KnowledgeError, articles_embed

FAQ_CSV = b"""article,question,answer
Returns,How do I return an item?,Return unused items within 30 days for a full refund.
Returns,Can I send my order back?,Return unused items within 30 days for a full refund.
Shipping,How long does delivery take?,Standard delivery takes 2-4 working days.
"""


def _faq_source(name="faq.csv", data=FAQ_CSV) -> Source:
    source = Source.objects.create(name=name, kind=Source.Kind.FAQ)
    source.file.save(name, ContentFile(data), save=True)
    return source


@pytest.mark.django_db
def test_faq_csv_import_makes_one_article_per_distinct_article_with_its_questions():
    source = _faq_source()

    result = source_ingest(source_id=source.pk)

    assert (result.created, result.updated) == (2, 0)
    returns = Article.objects.get(source=source, external_key="Returns")
    assert returns.body == "Return unused items within 30 days for a full refund."
    assert sorted(returns.example_questions.values_list("text", flat=True)) == [
        "Can I send my order back?",
        "How do I return an item?",
    ]
    assert returns.embedded_at is not None
    assert returns.chunks.count() == 1
    assert not ExampleQuestion.objects.filter(embedding__isnull=True).exists()
    source.refresh_from_db()
    assert (source.status, source.progress_done, source.progress_total) == ("done", 2, 2)


@pytest.mark.django_db
def test_reimporting_the_same_faq_neither_duplicates_nor_re_embeds():
    source = _faq_source()
    source_ingest(source_id=source.pk)
    embedded_at = dict(Article.objects.values_list("pk", "embedded_at"))
    counts = (Article.objects.count(), ExampleQuestion.objects.count(), Chunk.objects.count())

    result = source_ingest(source_id=source.pk)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert (Article.objects.count(), ExampleQuestion.objects.count(), Chunk.objects.count()) == counts
    assert dict(Article.objects.values_list("pk", "embedded_at")) == embedded_at


@pytest.mark.django_db
def test_a_changed_answer_updates_the_article_in_place_and_re_embeds_it():
    source = _faq_source()
    source_ingest(source_id=source.pk)
    shipping = Article.objects.get(external_key="Shipping")
    source.file.save("faq.csv", ContentFile(FAQ_CSV.replace(b"2-4 working days", b"1-2 working days")), save=True)

    result = source_ingest(source_id=source.pk)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    shipping_after = Article.objects.get(pk=shipping.pk)
    assert "1-2 working days" in shipping_after.body
    assert shipping_after.embedded_at > shipping.embedded_at
    assert "1-2 working days" in shipping_after.chunks.get().text


@pytest.mark.django_db
def test_faq_json_import_accepts_question_lists_urls_and_tags():
    data = json.dumps(
        [
            {
                "article": "Gift cards",
                "answer": "Gift cards are valid for 2 years.",
                "questions": ["Do gift cards expire?", "How long is a gift card valid?"],
                "url": "/help/gift-cards",
                "tags": "payments; gifts",
            }
        ]
    ).encode()
    source = Source.objects.create(name="faq.json", kind=Source.Kind.FAQ)

    faq_import(source=source, entries=faq_entries_from_file(name="faq.json", data=data))
    faq_import(source=source, entries=faq_entries_from_file(name="faq.json", data=data))

    article = Article.objects.get()
    assert (article.title, article.url, article.tags) == ("Gift cards", "/help/gift-cards", ["payments", "gifts"])
    assert article.example_questions.count() == 2


def test_faq_columns_can_be_renamed_for_other_data_sets():
    data = b"instruction,intent,response\ncancel my order please,cancel_order,You can cancel from Orders.\n"

    entries = faq_entries_from_file(
        name="bitext.csv", data=data, columns=Columns(article="intent", question="instruction", answer="response")
    )

    assert [(e.key, e.body, e.questions) for e in entries] == [
        ("cancel_order", "You can cancel from Orders.", ["cancel my order please"])
    ]


def test_an_faq_without_an_answer_column_is_rejected_with_the_header_it_has():
    with pytest.raises(KnowledgeError, match="no 'answer' column"):
        faq_entries_from_file(name="faq.csv", data=b"article,question\nA,B\n")


@pytest.mark.django_db
def test_articles_the_faq_no_longer_has_are_unpublished_not_deleted():
    source = _faq_source()
    source_ingest(source_id=source.pk)
    source.file.save("faq.csv", ContentFile(b"article,question,answer\nShipping,When?,Soon.\n"), save=True)

    result = source_ingest(source_id=source.pk)

    assert result.unpublished == 1
    assert list(Article.objects.filter(published=False).values_list("external_key", flat=True)) == ["Returns"]


@pytest.mark.django_db
def test_a_broken_faq_marks_the_source_failed_with_the_reason():
    source = _faq_source(data=b"foo,bar\n1,2\n")

    with pytest.raises(KnowledgeError):
        source_ingest(source_id=source.pk)

    source.refresh_from_db()
    assert source.status == Source.Status.FAILED
    assert "neither a 'question' nor an 'article' column" in source.last_error


# --- Uploaded files -------------------------------------------------------------------------------


def _pdf_bytes(text: str) -> bytes:
    """A one-page PDF with a real text layer, built with pypdf's object model."""
    from pypdf import PdfWriter
    from pypdf.generic import ContentStream, DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=612, height=792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(ContentStream(stream, writer))
    writer.add_metadata({"/Title": "Warranty terms"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "title", "expected_text"),
    [
        ("care-guide.md", b"# Caring for your tent\n\nDry it before storing.\n", "Caring for your tent", "Dry it"),
        ("opening_hours.txt", b"We open at 9am every day.", "Opening hours", "9am every day"),
        (
            "returns.html",
            b"<html><head><title>Returns | Shop</title></head><body><nav><a href='/'>Home</a> <a href='/cart'>Cart</a>"
            b"</nav><main><h1>Returns policy</h1><p>You can return any unused item within 30 days of delivery for "
            b"a full refund to your original payment method.</p></main><footer>Copyright Northwind</footer></body>"
            b"</html>",
            "Returns policy",
            "within 30 days of delivery",
        ),
    ],
)
def test_uploaded_text_files_become_documents_with_a_title(name, data, title, expected_text):
    document = document_from_bytes(name=name, data=data)

    assert document.title == title
    assert expected_text in document.body


def test_html_extraction_drops_navigation_and_footer():
    html = (
        b"<html><body><nav><a href='/'>Home</a> <a href='/cart'>Shopping cart</a></nav><article><h1>Warranty</h1>"
        b"<p>Every tent has a lifetime warranty on seams and zips, and other gear two years.</p></article>"
        b"<footer>Copyright Northwind Outfitters</footer></body></html>"
    )

    body = document_from_bytes(name="warranty.html", data=html).body

    assert "lifetime warranty" in body
    assert "Shopping cart" not in body
    assert "Copyright" not in body


def test_pdf_text_layer_is_extracted_with_the_metadata_title():
    document = document_from_bytes(name="terms.pdf", data=_pdf_bytes("Tents have a lifetime warranty on zips."))

    assert document.title == "Warranty terms"
    assert "lifetime warranty on zips" in document.body


def test_unsupported_files_are_rejected_naming_the_supported_types():
    with pytest.raises(KnowledgeError, match=r"\.pdf"):
        document_from_bytes(name="catalogue.docx", data=b"PK...")


@pytest.mark.django_db
def test_uploading_a_file_source_creates_one_embedded_article_and_reupload_updates_it():
    source = Source.objects.create(name="Care guide", kind=Source.Kind.FILE)
    source.file.save("care.md", ContentFile(b"# Tent care\n\nDry your tent before storing it.\n"), save=True)
    source_ingest(source_id=source.pk)
    # The storage renames the second care.md (care_<random>.md); it is still the same document.
    source.file.save("care.md", ContentFile(b"# Tent care\n\nAir your tent after every trip.\n"), save=True)

    source_ingest(source_id=source.pk)

    article = Article.objects.get(source=source)
    assert article.title == "Tent care"
    assert "Air your tent" in article.body
    assert article.chunks.exists()


# --- Chunking -------------------------------------------------------------------------------------


def test_chunking_keeps_passages_under_the_size_and_overlapping(settings):
    settings.HANDOFF_CHUNK_SIZE = 200
    settings.HANDOFF_CHUNK_OVERLAP = 40
    text = " ".join(f"Sentence number {i} is about tents and boots." for i in range(40))

    chunks = split_text(text=text)

    assert len(chunks) > 5
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert chunks[0].split()[-1] in chunks[1]  # the overlap carries context across the cut
    assert set(" ".join(chunks).split()) == set(text.split())


def test_markdown_chunking_cuts_before_headings(settings):
    settings.HANDOFF_CHUNK_SIZE = 120
    settings.HANDOFF_CHUNK_OVERLAP = 0
    text = "# Returns\n\n" + "Return within 30 days. " * 4 + "\n\n## Refunds\n\n" + "Refunds take 5 days. " * 4

    chunks = split_text(text=text, markdown=True)

    assert any(chunk.startswith("## Refunds") for chunk in chunks)


@pytest.mark.django_db
def test_long_articles_are_embedded_as_several_chunks(settings):
    settings.HANDOFF_CHUNK_SIZE = 200
    article = Article.objects.create(title="Long", body="\n\n".join(f"Paragraph {i}. " * 8 for i in range(6)))

    articles_embed(articles=[article])

    assert article.chunks.count() >= 6
    assert list(article.chunks.values_list("index", flat=True)) == list(range(article.chunks.count()))
