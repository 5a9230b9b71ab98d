from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html

from knowledge import conf, services
from knowledge.models import Source


class SourceForm(forms.ModelForm):
    """SourceAdmin's form (its fields come from the admin's fieldsets)."""

    def clean_file(self):
        """Refused before anything reads it: ingestion reads a document whole (once 150 MB)."""
        upload = self.cleaned_data.get("file")
        limit = conf.get("UPLOAD_MAX_BYTES")
        if upload and getattr(upload, "size", 0) > limit:
            raise forms.ValidationError(
                f"This file is {upload.size / 1_048_576:.1f} MB; uploads are limited to {limit / 1_048_576:.0f} MB. "
                "Split it, or upload its text as Markdown."
            )
        return upload


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    form = SourceForm
    list_display = ["name", "kind", "status", "progress", "article_count", "updated_at"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "url"]
    readonly_fields = ["status", "progress_done", "progress_total", "last_error", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "kind"]}),
        ("Website crawl", {"fields": ["url", "page_limit"]}),
        ("FAQ (CSV/JSON) or document (Markdown, HTML, PDF, text)", {"fields": ["file"]}),
        (
            "Last run",
            {"fields": ["status", "progress_done", "progress_total", "last_error", "created_at", "updated_at"]},
        ),
    ]
    actions = ["run_ingestion", "reembed"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(num_articles=Count("articles"))

    def changelist_view(self, request, extra_context=None):
        running = Source.objects.filter(status__in=[Source.Status.QUEUED, Source.Status.RUNNING]).exists()
        return super().changelist_view(request, extra_context={**(extra_context or {}), "ingestion_running": running})

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"  # a help centre typed without a scheme is on https today
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="articles", ordering="num_articles")
    def article_count(self, source: Source) -> int:
        return source.num_articles

    @admin.display(description="progress")
    def progress(self, source: Source) -> str:
        if source.status == Source.Status.FAILED:
            return format_html('<span title="{}">failed</span>', source.last_error)
        if not source.progress_total:
            return "-"
        percent = round(100 * source.progress_done / source.progress_total)
        return format_html(
            '<progress max="{}" value="{}" title="{}%"></progress> {}/{}',
            source.progress_total,
            source.progress_done,
            percent,
            source.progress_done,
            source.progress_total,
        )

    @admin.action(description="Run ingestion (import, crawl or read the file, then embed)")
    def run_ingestion(self, request, queryset):
        self._queue(request, queryset, services.source_request_ingestion, "ingestion")

    @admin.action(description="Re-embed all articles of the selected sources")
    def reembed(self, request, queryset):
        self._queue(request, queryset, services.source_request_reembedding, "re-embedding")

    def _queue(self, request, queryset, service, what: str) -> None:
        queued = 0
        for source in queryset:
            try:
                service(source=source)
                queued += 1
            except services.KnowledgeError as error:
                self.message_user(request, str(error), messages.WARNING)
        if queued:
            self.message_user(request, f"Queued {what} for {queued} source(s); progress shows in the list.")
