"""The weekly review: about 30 of the week's bot conversations to read and mark "on brand" or "needs work"."""

import datetime as dt

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from chat.ids import parse_id
from chat.models import Message
from knowledge.admin.filters import DefaultedListFilter
from knowledge.learning.selectors import conversation_transcripts, weekly_review_progress, weekly_review_weeks
from knowledge.learning.weekly import week_start_of, weekly_review_mark, weekly_review_sample
from knowledge.models import WeeklyReviewItem


class WeekFilter(DefaultedListFilter):
    """The current week unless another is chosen: the reviewer's list for this week."""

    title = "week"
    parameter_name = "week"

    def lookups(self, request, model_admin):
        weeks = sorted({week_start_of(timezone.localdate()), *weekly_review_weeks()}, reverse=True)
        return [(week.isoformat(), f"Week of {week:%d %b %Y}") for week in weeks]

    def default_value(self) -> str:
        return self.lookup_choices[0][0]

    def queryset(self, request, queryset):
        return queryset.filter(week_start=_selected_week(request))


def _selected_week(request) -> dt.date:
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
        first_question = (
            Message.objects.filter(conversation=OuterRef("conversation_id"), sender=Message.Sender.VISITOR)
            .order_by("seq")
            .values("text")[:1]
        )
        return super().get_queryset(request).annotate(first_question_text=Subquery(first_question))

    @admin.display(description="conversation", ordering="conversation_id")
    def conversation_link(self, item: WeeklyReviewItem) -> str:
        url = reverse("admin:knowledge_weeklyreviewitem_change", args=[item.pk])
        return format_html('<a href="{}">Read conversation {}</a>', url, item.conversation_id)

    @admin.display(description="first question")
    def first_question(self, item: WeeklyReviewItem) -> str:
        text = item.first_question_text or ""
        return text if len(text) <= 90 else text[:89] + "…"

    def save_model(self, request, obj, form, change):
        weekly_review_mark(item=obj, reviewer=request.user, verdict=obj.verdict, note=obj.note)

    def get_urls(self):
        return [
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="knowledge_weeklyreviewitem_generate",
            ),
            *super().get_urls(),
        ]

    def generate_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        week = week_start_of(timezone.localdate())
        items = weekly_review_sample(week_start=week)
        self.message_user(request, f"The sample for the week of {week:%d %b %Y} has {len(items)} conversation(s).")
        return HttpResponseRedirect(reverse("admin:knowledge_weeklyreviewitem_changelist") + f"?week={week}")

    def changelist_view(self, request, extra_context=None):
        progress = weekly_review_progress(week_start=_selected_week(request))
        return super().changelist_view(request, extra_context={**(extra_context or {}), "progress": progress})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pk = parse_id(object_id)  # "abc" in the URL: admin's own "doesn't exist" redirect, not a 500
        item = WeeklyReviewItem.objects.filter(pk=pk).first() if pk else None
        transcripts = conversation_transcripts(conversation_ids=[item.conversation_id]) if item else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "transcripts": transcripts})
