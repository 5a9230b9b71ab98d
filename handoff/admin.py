from django.contrib import admin

from handoff.models import Handoff, HandoffEvent, SatisfactionRating


class HandoffEventInline(admin.TabularInline):
    model = HandoffEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "from_status", "to_status", "reason", "actor", "agent", "team", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TriggerRuleFilter(admin.SimpleListFilter):
    """The handoffs one rule decided (the report's per-trigger numbers link here)."""

    title = "trigger rule"
    parameter_name = "trigger_rule"

    def lookups(self, request, model_admin):
        # Only the chosen rule (listing every rule would read every handoff's JSON on each page).
        value = self.value()
        if not value or not value.isdigit():
            return []
        name = Handoff.objects.filter(trigger__rule_id=int(value)).values_list("trigger__rule_name", flat=True)
        return [(value, name.first() or f"Rule {value}")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(trigger__rule_id=int(value))


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    list_display = ["conversation", "status", "source", "reason", "team", "agent", "priority", "requested_at"]
    list_filter = ["status", "source", "team", "verdict", TriggerRuleFilter]
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
