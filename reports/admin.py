"""The managers' report page in admin: filters, charts, tables, ROI; the same numbers as CSV and JSON."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from agents.selectors import user_is_manager
from reports.charts import report_charts
from reports.forms import ReportForm
from reports.models import Report
from reports.report import report_as_dict, report_build
from reports.roi import ROI_FORMULA
from reports.tables import COHORT_DEFINITIONS, TABLE_NAMES, headline_cards, report_tables, table_csv


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """It reads every team's conversations, so it is for managers (user_is_manager), whatever model
    permissions a staff user holds; changelist_view is ours, so it checks itself."""

    def has_module_permission(self, request) -> bool:
        return user_is_manager(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return user_is_manager(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ReportForm(request.GET)
        export = request.GET.get("export", "")
        # A table's CSV has no comparison column: the previous period is not read for it.
        compare = form.wants_comparison() and export in ("", "json")
        report = report_build(period=form.period(), roi_inputs=form.roi_inputs(), compare=compare)
        if export == "json":
            return JsonResponse(report_as_dict(report))
        tables = report_tables(report)
        if export:
            table = next((t for t in tables if t.name == export), None)
            if table is None:
                return HttpResponse(
                    f"Choose a table to export: {', '.join(TABLE_NAMES)}, or json.",
                    status=400,
                    content_type="text/plain",
                )
            response = HttpResponse(table_csv(table), content_type="text/csv; charset=utf-8")
            stamp = timezone.localdate(report.period.end).isoformat()
            response["Content-Disposition"] = f'attachment; filename="handoff-{table.name}-{stamp}.csv"'
            return response
        query = request.GET.copy()
        query.pop("export", None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Reports",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "charts": report_charts(report),
            "tables": tables,
            "cards": headline_cards(report),
            "query": query.urlencode(),
            "cohort_definitions": COHORT_DEFINITIONS,
            "roi_formula": ROI_FORMULA,
        }
        return TemplateResponse(request, "admin/reports/report.html", context)
