from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm

from agents.models import Team
from chat.ids import parse_id
from handoff.models import Handoff, HandoffEvent, SatisfactionRating
from handoff.services import HandoffError, handoff_resolve, handoff_return_to_queue, handoff_transfer


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
        rule_id = parse_id(value)
        if rule_id is None:
            return []
        name = Handoff.objects.filter(trigger__rule_id=rule_id).values_list("trigger__rule_name", flat=True)
        return [(value, name.first() or f"Rule {value}")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        rule_id = parse_id(value)
        if rule_id is None:
            return queryset.none()
        return queryset.filter(trigger__rule_id=rule_id)


class HandoffActionForm(ActionForm):
    """The team a "Transfer to team" action sends the selected conversations to."""

    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"), required=False, label="Team")


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    """Handoffs are read here; they change only through the lifecycle's services (the actions), so
    the conversation, the visitor's widget, the inboxes and the event log stay in step. Setting a
    status by hand would move none of them."""

    list_display = ["conversation", "status", "source", "reason", "team", "agent", "priority", "requested_at"]
    list_filter = ["status", "source", "team", "verdict", TriggerRuleFilter]
    search_fields = ["reason", "conversation__customer__name", "conversation__customer__email"]
    date_hierarchy = "requested_at"
    inlines = [HandoffEventInline]
    action_form = HandoffActionForm
    actions = ["resolve", "return_to_queue", "transfer_to_team"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("conversation__customer", "team", "agent__user")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # a handoff starts from a conversation (the visitor, a rule, an agent), never here

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # its events, reports and ratings hang off it

    def _each(self, request, queryset, verb: str, change) -> None:
        """Apply `change` to each selected open handoff; say how many changed and why others did not."""
        done = 0
        for handoff in queryset.filter(status__in=Handoff.OPEN_STATUSES).select_related("conversation"):
            try:
                change(handoff)
                done += 1
            except HandoffError as error:
                self.message_user(request, str(error), messages.WARNING)
        skipped = queryset.exclude(status__in=Handoff.OPEN_STATUSES).count()
        if skipped:
            self.message_user(request, f"{skipped} already over, left as they were.", messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} conversation{'s' if done != 1 else ''}.", messages.SUCCESS)

    @admin.action(description="Resolve (the visitor is told and asked to rate)")
    def resolve(self, request, queryset):
        self._each(
            request,
            queryset,
            "Resolved",
            lambda h: handoff_resolve(conversation=h.conversation, actor=request.user, reason="Resolved in admin"),
        )

    @admin.action(description="Return to the queue")
    def return_to_queue(self, request, queryset):
        self._each(
            request,
            queryset,
            "Returned to the queue",
            lambda h: handoff_return_to_queue(handoff=h, actor=request.user, reason="Returned to the queue in admin"),
        )

    @admin.action(description="Transfer to the team chosen above")
    def transfer_to_team(self, request, queryset):
        team = Team.objects.filter(pk=request.POST.get("team") or None).first()
        if team is None:
            self.message_user(request, "Choose the team to transfer to first.", messages.ERROR)
            return
        self._each(
            request,
            queryset,
            f"Transferred to {team.name}:",
            lambda h: handoff_transfer(handoff=h, to_team=team, actor=request.user, note="Transferred in admin"),
        )


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(admin.ModelAdmin):
    list_display = ["conversation", "subject", "agent", "score", "comment", "created_at"]
    list_filter = ["subject", "score", "agent"]
    readonly_fields = ["conversation", "handoff", "subject", "agent", "score", "comment", "created_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False
