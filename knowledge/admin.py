from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html

from knowledge import services
from knowledge.models import Article, ArticleClassifier, ExampleQuestion, Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
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


class ExampleQuestionInline(admin.TabularInline):
    model = ExampleQuestion
    fields = ["text"]
    extra = 3


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "source", "url", "published", "question_count", "embedded_at"]
    list_editable = ["published"]
    list_filter = ["published", "source"]
    list_select_related = ["source"]
    search_fields = ["title", "body", "url"]
    readonly_fields = ["content_hash", "embedded_at", "created_at", "updated_at"]
    fields = ["title", "body", "url", "tags", "published", "source", "external_key", *readonly_fields]
    inlines = [ExampleQuestionInline]
    actions = ["publish", "unpublish", "reembed"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(num_questions=Count("example_questions"))

    @admin.display(description="example questions", ordering="num_questions")
    def question_count(self, article: Article) -> int:
        return article.num_questions

    def save_related(self, request, form, formsets, change):
        # After the inlines: the example questions are part of what gets embedded.
        super().save_related(request, form, formsets, change)
        if services.article_request_embedding(article=form.instance):
            self.message_user(request, "The article will be re-embedded in a moment.")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "published" in form.changed_data:
            services.classifier_request_training()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.classifier_request_training()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.classifier_request_training()

    @admin.action(description="Publish")
    def publish(self, request, queryset):
        count = services.articles_set_published(article_ids=list(queryset.values_list("pk", flat=True)), published=True)
        self.message_user(request, f"Published {count} article(s).")

    @admin.action(description="Unpublish (the bot stops using them)")
    def unpublish(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        count = services.articles_set_published(article_ids=ids, published=False)
        self.message_user(request, f"Unpublished {count} article(s).")

    @admin.action(description="Re-embed")
    def reembed(self, request, queryset):
        from django.db import transaction

        from knowledge import tasks

        ids = list(queryset.values_list("pk", flat=True))
        transaction.on_commit(lambda: [tasks.embed_article.delay(article_id) for article_id in ids])
        Article.objects.filter(pk__in=ids).update(embedded_at=None)
        self.message_user(request, f"Queued re-embedding of {len(ids)} article(s).")


@admin.register(ArticleClassifier)
class ArticleClassifierAdmin(admin.ModelAdmin):
    list_display = ["created_at", "article_count", "example_count", "training_ms"]
    fields = ["created_at", "fingerprint", "article_count", "example_count", "training_ms"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
