from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html

from chat.models import Message
from knowledge import services
from knowledge.models import Article, ArticleClassifier, ExampleQuestion, Source, TrainingSuggestion, WeeklyReviewItem


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


# --- Human in the loop: the review queue and the weekly review ------------------------------------


class DefaultedListFilter(admin.SimpleListFilter):
    """A list filter whose "no choice" means a default choice (not "All"), shown as selected."""

    def default_value(self) -> str:
        raise NotImplementedError

    def choices(self, changelist):
        current = self.value() or self.default_value()
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


class SuggestionStatusFilter(DefaultedListFilter):
    """Opens on the review queue (pending); the other statuses and "All" are one click away."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*TrainingSuggestion.Status.choices, ("all", "All")]

    def default_value(self) -> str:
        return TrainingSuggestion.Status.PENDING

    def queryset(self, request, queryset):
        value = self.value() or TrainingSuggestion.Status.PENDING
        return queryset if value == "all" else queryset.filter(status=value)


class TrainingSuggestionForm(forms.ModelForm):
    questions = forms.CharField(
        label="Example questions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="One per line: how visitors ask it. The bot matches new messages against these.",
    )
    review_reason = forms.CharField(
        label="Reason (if you reject)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text="Optional. Kept with the decision; repeats of a rejected suggestion are added to it.",
    )

    class Meta:
        model = TrainingSuggestion
        fields = ["title", "body"]
        widgets = {"title": forms.TextInput(attrs={"size": 80}), "body": forms.Textarea(attrs={"rows": 10, "cols": 80})}
        labels = {"body": "Answer (the article's text)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from knowledge.suggestions import suggestion_questions

        # Decided suggestions are read-only: their forms have neither field.
        if self.instance.pk and "questions" in self.fields:
            self.fields["questions"].initial = "\n".join(suggestion_questions(suggestion=self.instance))

    def cleaned_questions(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("questions", "").splitlines() if line.strip()]


@admin.register(TrainingSuggestion)
class TrainingSuggestionAdmin(admin.ModelAdmin):
    """The review queue: what the bot learned from conversations, most impactful first."""

    form = TrainingSuggestionForm
    change_form_template = "admin/knowledge/trainingsuggestion/change_form.html"
    list_display = ["title", "kind", "impact_display", "confidence_display", "target_article", "status", "created_at"]
    list_filter = [SuggestionStatusFilter, "kind"]
    list_select_related = ["target_article"]
    search_fields = ["title", "question", "body"]
    ordering = ["-impact", "-confidence", "created_at"]
    actions = ["approve_selected", "reject_selected"]
    readonly_fields = [
        "kind", "status", "target_article", "impact_display", "confidence_display", "reviewer", "reviewed_at",
        "review_reason", "reverted_by", "reverted_at", "created_at", "updated_at",
    ]  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False  # suggestions come from conversations

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the history of who decided what is the point; reject instead

    def _editable(self, obj) -> list[str]:
        if obj is not None and obj.kind == TrainingSuggestion.Kind.EXAMPLE_QUESTION:
            return ["questions"]
        if obj is not None and obj.kind == TrainingSuggestion.Kind.ANSWER_REVISION:
            return ["body"]
        return ["title", "questions", "body"]

    def get_fields(self, request, obj=None):
        if obj is None or obj.status == TrainingSuggestion.Status.PENDING:
            return [*self._editable(obj), "review_reason", "kind", "target_article", "impact_display"]
        return [*self._editable(obj), *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None or obj.status == TrainingSuggestion.Status.PENDING:
            return [name for name in self.readonly_fields if name != "review_reason"]
        return [*self._editable(obj), *self.readonly_fields]

    @admin.display(description="impact", ordering="impact")
    def impact_display(self, suggestion: TrainingSuggestion) -> str:
        return f"{suggestion.impact} conversation{'s' if suggestion.impact != 1 else ''}"

    @admin.display(description="confidence", ordering="confidence")
    def confidence_display(self, suggestion: TrainingSuggestion) -> str:
        return f"{suggestion.confidence:.0%}"

    @admin.display(description="Example questions")
    def questions(self, suggestion: TrainingSuggestion) -> str:
        from knowledge.suggestions import suggestion_questions

        return "\n".join(suggestion_questions(suggestion=suggestion))

    def save_model(self, request, obj, form, change):
        """ "Save draft": the edits go through the service, which records them."""
        from knowledge.suggestions import suggestion_edit

        suggestion_edit(
            suggestion=obj,
            editor=request.user,
            title=form.cleaned_data.get("title"),
            body=form.cleaned_data.get("body"),
            questions=form.cleaned_questions() or None,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        decision = (
            next((name for name in _DECISIONS if name in request.POST), None) if request.method == "POST" else None
        )
        if decision is not None:
            response = self._decide(request, object_id, decision)
            if response is not None:
                return response
        return super().change_view(
            request, object_id, form_url, {**self._review_context(object_id), **(extra_context or {})}
        )

    def _review_context(self, object_id) -> dict:
        from knowledge.suggestion_selectors import suggestion_transcripts

        suggestion = TrainingSuggestion.objects.select_related("target_article").filter(pk=object_id).first()
        if suggestion is None:
            return {}
        transcripts, conversation_count = suggestion_transcripts(suggestion=suggestion)
        return {
            "suggestion": suggestion,
            "transcripts": transcripts,
            "conversation_count": conversation_count,
            "events": suggestion.events.select_related("actor"),
            "applied_article": Article.objects.filter(pk=suggestion.applied_change.get("article_id")).first(),
        }

    def _decide(self, request, object_id, decision: str):
        """Approve, save & approve, reject or revert; None lets the form show its errors."""
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseRedirect
        from django.urls import reverse

        from knowledge import suggestions

        suggestion = self.get_object(request, object_id)
        if suggestion is None or not self.has_change_permission(request, suggestion):
            raise PermissionDenied
        try:
            if decision == "_approve":
                suggestions.suggestion_approve(suggestion=suggestion, reviewer=request.user)
                done = "Approved"
            elif decision == "_save_approve":
                form = self.get_form(request, suggestion)(request.POST, instance=suggestion)
                if not form.is_valid():
                    return None
                suggestions.suggestion_approve(
                    suggestion=suggestion,
                    reviewer=request.user,
                    edited_title=form.cleaned_data.get("title"),
                    edited_body=form.cleaned_data.get("body"),
                    edited_questions=form.cleaned_questions() or None,
                )
                done = "Saved your edits and approved"
            elif decision == "_reject":
                reason = request.POST.get("review_reason", "")
                suggestions.suggestion_reject(suggestion=suggestion, reviewer=request.user, reason=reason)
                done = "Rejected"
            else:
                suggestions.suggestion_revert(suggestion=suggestion, reviewer=request.user)
                done = "Reverted"
        except suggestions.SuggestionError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)
        if decision in ("_approve", "_save_approve"):
            tail = " The bot uses it from the next message, once it is embedded (a few seconds)."
        else:
            tail = ""
        self.message_user(request, f"{done} “{suggestion.title}”.{tail}", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:knowledge_trainingsuggestion_changelist"))

    @admin.action(description="Approve the selected suggestions as proposed")
    def approve_selected(self, request, queryset):
        from knowledge import suggestions

        approved = 0
        for suggestion in queryset.filter(status=TrainingSuggestion.Status.PENDING):
            try:
                suggestions.suggestion_approve(suggestion=suggestion, reviewer=request.user)
                approved += 1
            except suggestions.SuggestionError as error:
                self.message_user(request, f"“{suggestion.title}”: {error}", messages.WARNING)
        if approved:
            self.message_user(request, f"Approved {approved} suggestion(s); the bot uses them in a moment.")

    @admin.action(description="Reject the selected suggestions…")
    def reject_selected(self, request, queryset):
        """Asks for one reason first (an intermediate page), then rejects every pending one."""
        from django.contrib.admin import helpers
        from django.template.response import TemplateResponse

        from knowledge import suggestions

        pending = queryset.filter(status=TrainingSuggestion.Status.PENDING)
        if "apply" in request.POST:
            reason = request.POST.get("reason", "")
            rejected = 0
            for suggestion in pending:
                try:
                    suggestions.suggestion_reject(suggestion=suggestion, reviewer=request.user, reason=reason)
                    rejected += 1
                except suggestions.SuggestionError as error:  # decided by someone else meanwhile
                    self.message_user(request, str(error), messages.WARNING)
            self.message_user(request, f"Rejected {rejected} suggestion(s).")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject suggestions",
            "opts": self.model._meta,
            "suggestions": pending,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/knowledge/trainingsuggestion/reject_selected.html", context)


_DECISIONS = ("_approve", "_save_approve", "_reject", "_revert")


class WeekFilter(DefaultedListFilter):
    """The current week unless another is chosen: the reviewer's list for this week."""

    title = "week"
    parameter_name = "week"

    def lookups(self, request, model_admin):
        from knowledge.suggestion_selectors import weekly_review_weeks
        from knowledge.suggestions import week_start_of

        weeks = sorted({week_start_of(timezone.localdate()), *weekly_review_weeks()}, reverse=True)
        return [(week.isoformat(), f"Week of {week:%d %b %Y}") for week in weeks]

    def default_value(self) -> str:
        return self.lookup_choices[0][0]

    def queryset(self, request, queryset):
        return queryset.filter(week_start=_selected_week(request))


def _selected_week(request):
    import datetime as dt

    from knowledge.suggestions import week_start_of

    try:
        return week_start_of(dt.date.fromisoformat(request.GET["week"]))
    except (KeyError, ValueError):
        return week_start_of(timezone.localdate())


class WeeklyReviewChangeListForm(forms.ModelForm):
    class Meta:
        model = WeeklyReviewItem
        fields = ["verdict", "note"]
        widgets = {"note": forms.TextInput(attrs={"size": 40, "placeholder": "What should change?"})}


@admin.register(WeeklyReviewItem)
class WeeklyReviewItemAdmin(admin.ModelAdmin):
    """About 30 of the week's bot conversations to read and mark "on brand" or "needs work"."""

    change_list_template = "admin/knowledge/weeklyreviewitem/change_list.html"
    change_form_template = "admin/knowledge/weeklyreviewitem/change_form.html"
    list_display = ["conversation_link", "stratum", "first_question", "verdict", "note", "reviewer", "reviewed_at"]
    list_display_links = None
    list_editable = ["verdict", "note"]
    list_filter = [WeekFilter, "stratum", "verdict"]
    list_select_related = ["reviewer"]
    list_per_page = 100
    fields = ["verdict", "note", "stratum", "week_start", "reviewer", "reviewed_at"]
    readonly_fields = ["stratum", "week_start", "reviewer", "reviewed_at"]

    def has_add_permission(self, request) -> bool:
        return False  # the sample is drawn by "Generate this week's sample"

    def get_changelist_form(self, request, **kwargs):
        return WeeklyReviewChangeListForm

    def get_queryset(self, request):
        from django.db.models import OuterRef, Subquery

        first_question = (
            Message.objects.filter(conversation=OuterRef("conversation_id"), sender=Message.Sender.VISITOR)
            .order_by("seq")
            .values("text")[:1]
        )
        return super().get_queryset(request).annotate(first_question_text=Subquery(first_question))

    @admin.display(description="conversation", ordering="conversation_id")
    def conversation_link(self, item: WeeklyReviewItem) -> str:
        from django.urls import reverse

        url = reverse("admin:knowledge_weeklyreviewitem_change", args=[item.pk])
        return format_html('<a href="{}">Read conversation {}</a>', url, item.conversation_id)

    @admin.display(description="first question")
    def first_question(self, item: WeeklyReviewItem) -> str:
        text = item.first_question_text or ""
        return text if len(text) <= 90 else text[:89] + "…"

    def save_model(self, request, obj, form, change):
        from knowledge.suggestions import weekly_review_mark

        weekly_review_mark(item=obj, reviewer=request.user, verdict=obj.verdict, note=obj.note)

    def get_urls(self):
        from django.urls import path

        return [
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="knowledge_weeklyreviewitem_generate",
            ),
            *super().get_urls(),
        ]

    def generate_view(self, request):
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseNotAllowed, HttpResponseRedirect
        from django.urls import reverse

        from knowledge.suggestions import week_start_of, weekly_review_sample

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        week = week_start_of(timezone.localdate())
        items = weekly_review_sample(week_start=week)
        self.message_user(request, f"The sample for the week of {week:%d %b %Y} has {len(items)} conversation(s).")
        return HttpResponseRedirect(reverse("admin:knowledge_weeklyreviewitem_changelist") + f"?week={week}")

    def changelist_view(self, request, extra_context=None):
        from knowledge.suggestion_selectors import weekly_review_progress

        progress = weekly_review_progress(week_start=_selected_week(request))
        return super().changelist_view(request, extra_context={**(extra_context or {}), "progress": progress})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from knowledge.suggestion_selectors import conversation_transcripts

        item = WeeklyReviewItem.objects.filter(pk=object_id).first()
        transcripts = conversation_transcripts(conversation_ids=[item.conversation_id]) if item else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "transcripts": transcripts})
