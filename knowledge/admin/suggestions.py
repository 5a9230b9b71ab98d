"""The review queue: what the bot learned from conversations, most impactful first, to approve or reject."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from chat.ids import parse_id
from knowledge.admin.filters import DefaultedListFilter
from knowledge.learning.review import (
    SuggestionError,
    suggestion_approve,
    suggestion_edit,
    suggestion_personal_data,
    suggestion_questions,
    suggestion_reject,
    suggestion_revert,
)
from knowledge.learning.selectors import suggestion_transcripts
from knowledge.models import Article, TrainingSuggestion

# The buttons of the change form (templates/admin/knowledge/trainingsuggestion/change_form.html).
_DECISIONS = ("_approve", "_save_approve", "_reject", "_revert")


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
        return "\n".join(suggestion_questions(suggestion=suggestion))

    def save_model(self, request, obj, form, change):
        """ "Save draft": the edits go through the service, which records them."""
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
        pk = parse_id(object_id)  # "abc" in the URL: admin's own "doesn't exist" redirect, not a 500
        suggestion = TrainingSuggestion.objects.select_related("target_article").filter(pk=pk).first() if pk else None
        if suggestion is None:
            return {}
        transcripts, conversation_count = suggestion_transcripts(suggestion=suggestion)
        return {
            "suggestion": suggestion,
            "transcripts": transcripts,
            "conversation_count": conversation_count,
            "events": suggestion.events.select_related("actor"),
            "applied_article": Article.objects.filter(pk=suggestion.applied_change.get("article_id")).first(),
            "personal_data": suggestion_personal_data(suggestion=suggestion),
        }

    def _decide(self, request, object_id, decision: str):
        """Approve, save & approve, reject or revert; None lets the form show its errors."""
        suggestion = self.get_object(request, object_id)
        if suggestion is None or not self.has_change_permission(request, suggestion):
            raise PermissionDenied
        try:
            if decision == "_approve":
                suggestion_approve(suggestion=suggestion, reviewer=request.user)
                done = "Approved"
            elif decision == "_save_approve":
                form = self.get_form(request, suggestion)(request.POST, instance=suggestion)
                if not form.is_valid():
                    return None
                suggestion_approve(
                    suggestion=suggestion,
                    reviewer=request.user,
                    edited_title=form.cleaned_data.get("title"),
                    edited_body=form.cleaned_data.get("body"),
                    edited_questions=form.cleaned_questions() or None,
                )
                done = "Saved your edits and approved"
            elif decision == "_reject":
                reason = request.POST.get("review_reason", "")
                suggestion_reject(suggestion=suggestion, reviewer=request.user, reason=reason)
                done = "Rejected"
            else:
                suggestion_revert(suggestion=suggestion, reviewer=request.user)
                done = "Reverted"
        except SuggestionError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)
        if decision in ("_approve", "_save_approve"):
            tail = " The bot uses it from the next message, once it is embedded (a few seconds)."
        else:
            tail = ""
        self.message_user(request, f"{done} “{suggestion.title}”.{tail}", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:knowledge_trainingsuggestion_changelist"))

    @admin.action(description="Approve the selected suggestions as proposed (not new articles)")
    def approve_selected(self, request, queryset):
        approved = 0
        pending = queryset.filter(status=TrainingSuggestion.Status.PENDING)
        # A new article is text every visitor may read: each one is reviewed on its own page, never in bulk.
        articles = pending.filter(kind=TrainingSuggestion.Kind.NEW_ARTICLE).count()
        if articles:
            self.message_user(
                request,
                f"Skipped {articles} new article(s): open each one, read it beside its transcript, approve it there.",
                messages.WARNING,
            )
        for suggestion in pending.exclude(kind=TrainingSuggestion.Kind.NEW_ARTICLE):
            try:
                suggestion_approve(suggestion=suggestion, reviewer=request.user)
                approved += 1
            except SuggestionError as error:
                self.message_user(request, f"“{suggestion.title}”: {error}", messages.WARNING)
        if approved:
            self.message_user(request, f"Approved {approved} suggestion(s); the bot uses them in a moment.")

    @admin.action(description="Reject the selected suggestions…")
    def reject_selected(self, request, queryset):
        """Asks for one reason first (an intermediate page), then rejects every pending one."""
        pending = queryset.filter(status=TrainingSuggestion.Status.PENDING)
        if "apply" in request.POST:
            reason = request.POST.get("reason", "")
            rejected = 0
            for suggestion in pending:
                try:
                    suggestion_reject(suggestion=suggestion, reviewer=request.user, reason=reason)
                    rejected += 1
                except SuggestionError as error:  # decided by someone else meanwhile
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
