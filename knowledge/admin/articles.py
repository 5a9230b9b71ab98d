from django.contrib import admin
from django.db.models import Count

from knowledge import services
from knowledge.models import Article, ArticleClassifier, ExampleQuestion


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
        ids = list(queryset.values_list("pk", flat=True))
        services.articles_request_reembedding(article_ids=ids)
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
