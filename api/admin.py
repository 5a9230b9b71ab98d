"""Managers' admin for the API: tokens (a new one is shown once, in the page's message), webhook
endpoints and the delivery log."""

import json
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from api.email_channel.outbound import email_records_retry
from api.models import (
    ApiToken,
    EmailRecord,
    HubSpotIntegration,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from api.tokens import api_token_issue, api_tokens_revoke
from api.webhooks.delivery import webhook_endpoint_enable, webhook_redeliver
from api.webhooks.events import EVENTS
from chat.models import Conversation


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


# --- Webhooks ------------------------------------------------------------------------------------------------


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in EVENTS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every event. What each carries: the API schema's webhooks (/api/docs/).",
    )
    channels = forms.MultipleChoiceField(
        choices=Conversation.Channel.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Only conversations of these channels (a messaging bridge ticks API). None ticked: all.",
    )

    url = forms.URLField(
        max_length=500, assume_scheme="https", help_text=WebhookEndpoint._meta.get_field("url").help_text
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "channels", "personal_data", "active", "secret"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if urlsplit(url).scheme not in ("http", "https"):
            raise forms.ValidationError("Webhooks are sent to http(s) URLs.")
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "subscribed", "state", "consecutive_failures", "deliveries_link"]
    search_fields = ["name", "url"]
    readonly_fields = ["consecutive_failures", "disabled_at", "disabled_reason", "created_at", "updated_at"]
    actions = ["enable"]

    def get_fields(self, request, obj=None):
        return [*WebhookEndpointForm.Meta.fields, *self.readonly_fields]

    @admin.display(description="events")
    def subscribed(self, endpoint: WebhookEndpoint) -> str:
        events = ", ".join(endpoint.events) if endpoint.events else "all events"
        return f"{events} ({', '.join(endpoint.channels)} only)" if endpoint.channels else events

    @admin.display(description="state")
    def state(self, endpoint: WebhookEndpoint):
        if endpoint.active:
            return "active"
        return format_html('<strong style="color:#a33" title="{}">disabled</strong>', endpoint.disabled_reason)

    @admin.display(description="deliveries")
    def deliveries_link(self, endpoint: WebhookEndpoint):
        url = reverse("admin:api_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">log</a>', url)

    def changelist_view(self, request, extra_context=None):
        # The notice a disabled endpoint owes its managers: on the page where they can fix it.
        for endpoint in WebhookEndpoint.objects.filter(active=False).exclude(disabled_reason=""):
            messages.error(
                request,
                f"Webhook “{endpoint}” is off: {endpoint.disabled_reason}. Fix the receiver, "
                "then select it and choose “Enable again”.",
            )
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "active" in form.changed_data and obj.active:
            webhook_endpoint_enable(endpoint=obj)

    @admin.action(description="Enable again (reset the failure count)")
    def enable(self, request, queryset):
        for endpoint in queryset:
            webhook_endpoint_enable(endpoint=endpoint)
        self.message_user(request, f"Enabled {queryset.count()} endpoint(s).")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "created_at", "status_code", "latency_ms", "error", "manual"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at", "event_type", "endpoint", "status", "attempts", "last_status_code", "last_latency_ms",
        "next_attempt_at", "last_error",
    ]  # fmt: skip
    list_filter = ["status", "event_type", "endpoint"]
    list_select_related = ["endpoint"]
    date_hierarchy = "created_at"
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]
    readonly_fields = [
        "endpoint", "event_id", "event_type", "status", "attempts", "next_attempt_at", "last_status_code",
        "last_latency_ms", "last_error", "created_at", "delivered_at", "pretty_payload",
    ]  # fmt: skip
    fields = readonly_fields

    @admin.display(description="payload")
    def pretty_payload(self, delivery: WebhookDelivery):
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(delivery.payload, indent=2))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description="Redeliver now")
    def redeliver(self, request, queryset):
        count = webhook_redeliver(deliveries=queryset)
        self.message_user(request, f"Queued {count} delivery(ies) again; the log shows the outcome.")


# --- HubSpot ---------------------------------------------------------------------------------------------------


class HubSpotForm(forms.ModelForm):
    access_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=True),
        help_text=HubSpotIntegration._meta.get_field("access_token").help_text,
    )

    base_url = forms.URLField(assume_scheme="https", initial="https://api.hubapi.com")

    class Meta:
        model = HubSpotIntegration
        fields = ["enabled", "access_token", "portal_id", "base_url"]


@admin.register(HubSpotIntegration)
class HubSpotIntegrationAdmin(admin.ModelAdmin):
    """One row: enable it with a private app's token. Contacts sync on handoff, notes on resolution."""

    form = HubSpotForm
    list_display = ["__str__", "portal_id", "last_error", "last_error_at", "updated_at"]
    readonly_fields = ["last_error", "last_error_at", "updated_at"]

    def has_add_permission(self, request):
        return not HubSpotIntegration.objects.exists() and super().has_add_permission(request)


# --- Email -------------------------------------------------------------------------------------------------------


@admin.register(EmailRecord)
class EmailRecordAdmin(admin.ModelAdmin):
    """The email log: every reply emailed to a visitor and every email taken in, with what went wrong."""

    list_display = ["created_at", "direction", "address", "status", "attempts", "next_attempt_at", "error", "thread"]
    list_filter = ["direction", "status"]
    search_fields = ["address", "header_id", "thread__conversation__id"]
    list_select_related = ["thread"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    fields = readonly_fields = [
        "thread", "message", "direction", "address", "status", "attempts", "next_attempt_at", "error", "header_id",
        "created_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    @admin.action(description="Send again now")
    def send_again(self, request, queryset):
        count = email_records_retry(records=queryset)
        self.message_user(request, f"Trying {count} email(s) again; the log shows the outcome.")
