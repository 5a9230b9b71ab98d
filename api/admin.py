"""Managers create and revoke API tokens in admin. A new token is shown once, in the page's message."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from api.models import ApiToken
from api.tokens import api_token_issue, api_tokens_revoke


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiToken.Scope.READ],
        help_text="The token acts as its user (an agent's sees their teams' conversations) within these scopes.",
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scopes", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ["name", "user", "masked", "scopes", "created_at", "last_used_at", "state"]
    list_filter = ["revoked_at", "scopes"]
    search_fields = ["name", "user__username", "prefix"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A token is never edited: revoke it and create another (its secret cannot be shown again).
        if obj is not None:
            return [
                "user",
                "name",
                "masked",
                "scopes",
                "expires_at",
                "created_by",
                "created_at",
                "last_used_at",
                "revoked_at",
            ]
        return []

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) if obj is not None else ["user", "name", "scopes", "expires_at"]

    @admin.display(description="token")
    def masked(self, token: ApiToken) -> str:
        return f"{token.prefix}…"

    @admin.display(description="state")
    def state(self, token: ApiToken) -> str:
        if token.revoked_at:
            return format_html('<span style="color:#a33">revoked {}</span>', f"{token.revoked_at:%Y-%m-%d %H:%M}")
        return "active"

    def save_model(self, request, obj, form, change):
        if change:
            return
        obj.created_by = request.user
        secret = api_token_issue(token=obj)
        messages.warning(
            request,
            format_html(
                "Copy the token now, it will not be shown again: <code style='user-select:all'>{}</code>", secret
            ),
        )

    @admin.action(description="Revoke (requests with these tokens are refused at once)")
    def revoke(self, request, queryset):
        count = api_tokens_revoke(tokens=queryset)
        self.message_user(request, f"Revoked {count} token(s).")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)
