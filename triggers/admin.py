"""Admin for support managers: trigger rules (ordered, toggled, tested) and the firing log."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from chat.models import Conversation, Customer
from triggers.builder import condition_menu
from triggers.models import TriggerFiring, TriggerRule
from triggers.replay import replay_job_read, replay_job_start, replay_summary, rule_replay
from triggers.rule_testing import triggers_test_conversation, triggers_test_message


class PrettyJSONField(forms.JSONField):
    """Shows the stored JSON indented, so a rule's conditions read like the example in the help, and
    says where JSON that does not parse goes wrong."""

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            try:
                json.loads(value)
            except json.JSONDecodeError as error:
                raise forms.ValidationError(
                    f"This is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}."
                ) from None
        return super().to_python(value)

    def prepare_value(self, value):
        if isinstance(value, str) or value is None:
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


class TriggerRuleForm(forms.ModelForm):
    conditions = PrettyJSONField(
        widget=forms.Textarea(attrs={"rows": 18, "cols": 100, "style": "font-family: monospace"}),
        help_text=TriggerRule._meta.get_field("conditions").help_text,
    )
    tags = PrettyJSONField(required=False, widget=forms.TextInput(attrs={"size": 60}), initial=list)

    class Meta:
        model = TriggerRule
        fields = [
            "name", "description", "order", "enabled", "match", "conditions",
            "handoff", "when_answerable", "team", "priority", "reason_label", "tags", "notify_team", "visitor_message",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Optional in a post (a form or script from before the choice existed keeps the old behaviour).
        self.fields["when_answerable"].required = False

    class Media:
        js = ("triggers/rule_builder.js",)

    def clean_tags(self):
        return self.cleaned_data.get("tags") or []

    def _post_clean(self):
        # A field that did not parse keeps its own message only: the model's check would otherwise
        # add a second, contradictory one about the value it never received.
        unparsed = {name: list(errors) for name, errors in self._errors.items()} if self._errors else {}
        super()._post_clean()
        for name, errors in unparsed.items():
            if name in self._errors:
                self._errors[name] = self.error_class(errors)

    def clean_when_answerable(self):
        return self.cleaned_data.get("when_answerable") or TriggerRule.WhenAnswerable.HANDOFF


@admin.register(TriggerRule)
class TriggerRuleAdmin(admin.ModelAdmin):
    form = TriggerRuleForm
    list_display = ["name", "order", "enabled", "handoff", "team", "priority", "evaluated", "firings", "test_link"]
    list_display_links = ["name"]
    list_editable = ["order", "enabled"]
    list_filter = ["enabled", "handoff", "team"]
    search_fields = ["name", "reason_label", "description"]
    ordering = ["order", "id"]
    save_on_top = True
    fieldsets = [
        (None, {"fields": ["name", "description", "order", "enabled"]}),
        ("When", {"fields": ["match", "conditions"]}),
        (
            "Then",
            {
                "fields": [
                    "handoff",
                    "when_answerable",
                    "team",
                    "priority",
                    "reason_label",
                    "tags",
                    "notify_team",
                    "visitor_message",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("team").annotate(firing_count=Count("firings"))

    def render_change_form(self, request, context, *args, **kwargs):
        context["rule_builder_menu"] = condition_menu()
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description="Firings", ordering="firing_count")
    def firings(self, rule: TriggerRule):
        url = reverse("admin:triggers_triggerfiring_changelist") + f"?rule__id__exact={rule.pk}"
        return format_html('<a href="{}">{}</a>', url, rule.firing_count)

    @admin.display(description="Evaluated")
    def evaluated(self, rule: TriggerRule) -> str:
        uses_sentiment = any(
            c.get("kind") == "sentiment" for c in _flatten(rule.conditions if isinstance(rule.conditions, list) else [])
        )
        return "on arrival and after scoring" if uses_sentiment else "on arrival"

    @admin.display(description="")
    def test_link(self, rule: TriggerRule):
        return format_html('<a href="{}">Test</a>', reverse("admin:triggers_triggerrule_test_rule", args=[rule.pk]))

    def get_urls(self):
        urls = [
            path("replay/", self.admin_site.admin_view(self.replay_view), name="triggers_triggerrule_replay"),
            path(
                "replay/<str:job_id>/",
                self.admin_site.admin_view(self.replay_job_view),
                name="triggers_triggerrule_replay_job",
            ),
            path("test/", self.admin_site.admin_view(self.test_view), name="triggers_triggerrule_test"),
            path(
                "<int:rule_id>/test/",
                self.admin_site.admin_view(self.test_view),
                name="triggers_triggerrule_test_rule",
            ),
        ]
        return urls + super().get_urls()

    def replay_view(self, request):
        """ "What would this rule have done in the last 30 days?": the form as it is now, not as saved.

        In a worker when there is one (REDIS_URL), with its progress shown; otherwise here, bounded.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:triggers_triggerrule_changelist")
        form = TriggerRuleForm(request.POST)
        if not form.is_valid():
            return self._replay_page(request, form=form)
        draft = form.save(commit=False)
        if settings.REDIS_URL:
            job_id = replay_job_start(rule=draft)
            return redirect("admin:triggers_triggerrule_replay_job", job_id=job_id)
        return self._replay_page(request, form=form, summary=replay_summary(rule_replay(rule=draft)))

    def replay_job_view(self, request, job_id: str):
        if not self.has_view_permission(request):
            raise PermissionDenied
        summary = replay_job_read(job_id=job_id)
        if summary is None:
            raise Http404("This replay has expired; run it again from the rule.")
        return self._replay_page(request, summary=summary)

    def _replay_page(self, request, *, form=None, summary=None):
        context = {
            **self.admin_site.each_context(request),
            "title": "What this rule would have done in the last 30 days",
            "opts": self.model._meta,
            "form": form,
            "summary": summary,
            "running": summary is not None and summary.get("state") != "done",
        }
        return TemplateResponse(request, "admin/triggers/triggerrule/replay.html", context)

    def test_view(self, request, rule_id: int | None = None):
        """Paste a message, pick a customer, see which rules fire and why (nothing is stored)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        rule = get_object_or_404(TriggerRule, pk=rule_id) if rule_id is not None else None
        picked = request.GET.get("conversation", "")
        form = RuleTestForm(request.POST or None, initial={"conversation": picked} if picked.isdigit() else {})
        outcome = rows = replayed = None
        if request.method == "POST" and form.is_valid() and form.cleaned_data["conversation"]:
            replayed = triggers_test_conversation(conversation=form.cleaned_data["conversation"], rule=rule)
        elif request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            attributes = dict(data["customer"].attributes or {}) if data["customer"] else {}
            attributes.update(data["attributes"] or {})
            outcome = triggers_test_message(
                text=data["message"],
                attributes=attributes,
                rule=rule,
                channel=data["channel"],
                business_hours=data["business_hours"],
                previous_texts=data["previous_messages"].splitlines(),
                bot_confidences=data["bot_confidences"],
                score_sentiment=data["score_sentiment"],
            )
            handoff_id = outcome.result.handoff.rule_id if outcome.result.handoff else None
            rows = [
                {
                    "trace": trace,
                    "rule": outcome.rules.get(trace.rule_id),
                    "wins": trace.rule_id == handoff_id,
                    "is_tested": rule is not None and trace.rule_id == rule.pk,
                    "conditions": [
                        {"c": c, "details": json.dumps(c.details, ensure_ascii=False) if c.details else ""}
                        for c in trace.conditions
                    ],
                }
                for trace in outcome.result.traces
            ]
            if outcome.errors:
                messages.warning(
                    request,
                    "Skipped (invalid conditions): "
                    + "; ".join(f"rule {rule_id}: {error}" for rule_id, error in outcome.errors.items()),
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Test rule: {rule}" if rule else "Test the trigger rules",
            "opts": self.model._meta,
            "rule": rule,
            "form": form,
            "outcome": outcome,
            "rows": rows,
            "replayed": replayed,
        }
        return TemplateResponse(request, "admin/triggers/triggerrule/test.html", context)


def _flatten(conditions: list) -> list[dict]:
    found = []
    for condition in conditions:
        if isinstance(condition, dict):
            found.append(condition)
            if condition.get("kind") == "group" and isinstance(condition.get("conditions"), list):
                found.extend(_flatten(condition["conditions"]))
    return found


class OptionalJSONField(forms.JSONField):
    """Empty shows empty: Django's JSONField writes a missing value as the literal `null`."""

    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)


class RuleTestForm(forms.Form):
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=4000, required=False)
    conversation = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=2**62,
        label="Or replay a conversation",
        help_text="A stored conversation's id (the firing log links here): each of its visitor messages runs "
        "through the rules as it arrived, with the history signals of that moment, beside what fired live.",
    )
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(),
        required=False,
        help_text="Their attributes (plan, tier, lifetime_value, ...) are used. The 200 most recent are listed.",
    )
    attributes = OptionalJSONField(
        required=False,
        widget=forms.TextInput(attrs={"size": 80, "placeholder": '{"plan": "enterprise", "lifetime_value": 12000}'}),
        help_text="Customer attributes to use, or to override the picked customer's.",
    )
    channel = forms.ChoiceField(choices=Conversation.Channel.choices, initial=Conversation.Channel.WEB)
    business_hours = forms.ChoiceField(
        choices=[("now", "As they are now"), ("open", "Open"), ("closed", "Closed")], initial="now"
    )
    previous_messages = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="The visitor's earlier messages, one per line, oldest first (for trends and rephrasing).",
    )
    bot_confidences = forms.CharField(
        required=False,
        help_text="The bot's earlier answers' confidences, comma-separated, oldest first, e.g. 0.3, 0.2.",
    )
    score_sentiment = forms.BooleanField(required=False, initial=True, label="Score sentiment with the model")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        recent = Customer.objects.order_by("-last_seen_at").values("pk")[:200]
        self.fields["customer"].queryset = Customer.objects.filter(pk__in=recent).order_by("-last_seen_at")

    def clean_conversation(self):
        pk = self.cleaned_data.get("conversation")
        if pk is None:
            return None
        conversation = Conversation.objects.filter(pk=pk).select_related("customer").first()
        if conversation is None:
            raise forms.ValidationError(f"There is no conversation {pk}.")
        return conversation

    def clean(self):
        data = super().clean()
        if not data.get("message", "").strip() and not data.get("conversation") and not self.errors:
            raise forms.ValidationError("Write a message to test, or give a conversation to replay.")
        return data

    def clean_attributes(self):
        value = self.cleaned_data.get("attributes")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError('Give a JSON object, e.g. {"plan": "enterprise"}.')
        return value

    def clean_bot_confidences(self):
        raw = self.cleaned_data.get("bot_confidences", "")
        try:
            values = [float(part) for part in raw.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("Give numbers between 0 and 1 separated by commas, e.g. 0.3, 0.2.") from None
        if any(not 0 <= value <= 1 for value in values):
            raise forms.ValidationError("Confidences are between 0 and 1.")
        return values


@admin.register(TriggerFiring)
class TriggerFiringAdmin(admin.ModelAdmin):
    """The log: read-only, it is the record of why conversations were handed off or tagged."""

    list_display = ["created_at", "rule_name", "conversation", "message_excerpt", "phase", "decided_handoff", "replay"]
    list_filter = ["phase", "decided_handoff", "rule"]
    search_fields = ["rule_name", "message__text"]
    date_hierarchy = "created_at"
    list_select_related = ["conversation", "message"]
    readonly_fields = [
        "rule", "rule_name", "conversation", "message", "phase", "matched", "actions", "decided_handoff", "created_at",
    ]  # fmt: skip

    @admin.display(description="")
    def replay(self, firing: TriggerFiring):
        url = reverse("admin:triggers_triggerrule_test") + f"?conversation={firing.conversation_id}"
        return format_html('<a href="{}">Replay in the test panel</a>', url)

    @admin.display(description="Message")
    def message_excerpt(self, firing: TriggerFiring) -> str:
        return firing.message.text[:80] if firing.message else ""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
