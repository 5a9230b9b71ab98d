from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from agents.selectors import user_is_manager
from handoff.models import Handoff, HandoffEvent, HandoffReport, SatisfactionRating
from handoff.reports import handoff_report


class HandoffEventInline(admin.TabularInline):
    model = HandoffEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "from_status", "to_status", "reason", "actor", "agent", "team", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = ["conversation", "status", "source", "reason", "team", "agent", "priority", "requested_at"]
    list_filter = ["status", "source", "team"]
    search_fields = ["reason", "conversation__customer__name", "conversation__customer__email"]
    date_hierarchy = "requested_at"
    readonly_fields = [
        "conversation", "source", "reason", "trigger", "summary", "context",
        "requested_at", "assigned_at", "first_agent_reply_at", "ended_at",
    ]  # fmt: skip
    inlines = [HandoffEventInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("conversation__customer", "team", "agent__user")


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(admin.ModelAdmin):
    list_display = ["conversation", "subject", "agent", "score", "comment", "created_at"]
    list_filter = ["subject", "score", "agent"]
    readonly_fields = ["conversation", "handoff", "subject", "agent", "score", "comment", "created_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(HandoffReport)
class HandoffReportAdmin(admin.ModelAdmin):
    """The report page: containment, waits, handling times, CSAT (bot vs person), reasons.

    It reads every team's handoffs, so it is for managers only (agents.selectors.user_is_manager),
    whatever model permissions a staff user holds; changelist_view is ours, so it checks itself.
    """

    def has_module_permission(self, request) -> bool:
        return user_is_manager(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return user_is_manager(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = max(1, min(int(request.GET.get("days", 30)), 365))
        except ValueError:
            days = 30
        context = {
            **self.admin_site.each_context(request),
            "title": f"Handoff report: last {days} days",
            "report": handoff_report(days=days),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/handoff/report.html", context)
