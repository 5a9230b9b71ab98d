from django.contrib import admin

from agents.hours import team_hours_text
from agents.models import Agent, BusinessHours, CannedResponse, Holiday, InternalNote, Team


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "hours", "agent_count"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [BusinessHoursInline, HolidayInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "skills"]}),
        ("Hours", {"fields": ["time_zone", "out_of_hours_message"]}),
    ]

    @admin.display(description="Business hours")
    def hours(self, team: Team) -> str:
        return team_hours_text(team=team)

    @admin.display(description="Agents")
    def agent_count(self, team: Team) -> int:
        return team.agents.count()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("business_hours")


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "status", "max_concurrent", "team_names", "last_seen_at"]
    list_editable = ["max_concurrent"]
    list_filter = ["status", "teams"]
    search_fields = ["display_name", "user__username", "user__first_name", "user__last_name"]
    filter_horizontal = ["teams"]
    autocomplete_fields = ["user"]
    readonly_fields = ["last_seen_at", "last_assigned_at"]

    @admin.display(description="Teams")
    def team_names(self, agent: Agent) -> str:
        return ", ".join(team.name for team in agent.teams.all())

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("teams")


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["title", "shortcut", "team"]
    list_filter = ["team"]
    search_fields = ["title", "shortcut", "text"]


@admin.register(InternalNote)
class InternalNoteAdmin(admin.ModelAdmin):
    list_display = ["conversation", "author", "created_at", "text"]
    readonly_fields = ["conversation", "author", "text", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False
