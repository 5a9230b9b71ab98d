"""The answer settings page: the manager picks cautious, balanced or eager, seeing what each costs on their
own knowledge base ("of 100 questions you can't answer, the bot would wrongly answer N; of 100 it can,
it would decline M")."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from knowledge import conf
from knowledge.models import AnswerSettings
from knowledge.policy import (
    EstimateUnavailable,
    answer_settings_choose,
    answer_settings_estimate,
    answer_settings_get,
    answer_threshold,
)
from knowledge.tradeoff import PRESETS


@admin.register(AnswerSettings)
class AnswerSettingsAdmin(admin.ModelAdmin):
    """One page instead of a list: the row is created on first visit and never deleted."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:knowledge_answersettings_changelist"))

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            return self._post(request)
        settings = answer_settings_get()
        estimate = settings.estimate or {}
        choices = []
        for value, label in AnswerSettings.Preset.choices:
            threshold = PRESETS[value][0] if value in PRESETS else conf.get("ANSWER_THRESHOLD")
            point = estimate.get("presets", {}).get(value) if value in PRESETS else None
            if point is None and estimate:
                point = _nearest(estimate["sweep"], threshold)
            choices.append(
                {
                    "value": value,
                    "label": label,
                    "threshold": threshold,
                    "wrong_cost": PRESETS[value][1] if value in PRESETS else None,
                    "checked": settings.preset == value,
                    "oos_answered": _per_100(point, "oos_answered"),
                    "in_scope_declined": _per_100(point, "in_scope_declined"),
                    "in_scope_wrong": _per_100(point, "in_scope_wrong"),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "When the bot answers",
            "opts": self.model._meta,
            "settings": settings,
            "threshold": answer_threshold(),
            "choices": choices,
            "estimate": estimate,
            "sweep": [
                {
                    **point,
                    **{key: _per_100(point, key) for key in ("oos_answered", "in_scope_declined", "in_scope_wrong")},
                }
                for point in estimate.get("sweep", [])
            ],
            "can_change": self.has_change_permission(request),
        }
        return TemplateResponse(request, "admin/knowledge/answersettings/tradeoff.html", context)

    def _post(self, request):
        url = reverse("admin:knowledge_answersettings_changelist")
        if "estimate" in request.POST:
            try:
                settings = answer_settings_estimate()
            except EstimateUnavailable as error:
                self.message_user(request, f"Cannot estimate yet: {error}", messages.WARNING)
            else:
                self.message_user(
                    request,
                    f"Estimated on {settings.estimate['in_scope']} example questions and "
                    f"{settings.estimate['foreign']} foreign questions.",
                )
            return HttpResponseRedirect(url)
        preset = request.POST.get("preset", "")
        try:
            answer_settings_choose(preset=preset)
        except ValueError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, f"The bot now answers at a confidence of {answer_threshold():.2f} or more.")
        return HttpResponseRedirect(url)


def _per_100(point: dict | None, key: str) -> int | None:
    return None if point is None else round(point[key] * 100)


def _nearest(points: list[dict], threshold: float) -> dict | None:
    return min(points, key=lambda p: abs(p["threshold"] - threshold)) if points else None
