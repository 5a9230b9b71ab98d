"""The REST API's views: thin, each validates its input and calls the same services as admin and the inbox."""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from agents.selectors import user_is_manager
from api.permissions import IsInboxUser, IsManager, IsManagerOrReadOnly, TokenHasScope
from api.serializers import (
    ArticleSerializer,
    CustomerSerializer,
    ErrorSerializer,
    SearchHitSerializer,
    SearchQuerySerializer,
    SourceSerializer,
    TriggerRuleSerializer,
)
from chat.models import Customer
from chat.services import customer_update
from inbox.selectors import conversations_visible_to
from knowledge import services as knowledge_services
from knowledge.models import Article, Source
from knowledge.retrieval import retrieve
from triggers.models import TriggerRule
from triggers.services import trigger_rule_save

ERRORS = {
    400: OpenApiResponse(description="Invalid input; the body names each problem."),
    404: OpenApiResponse(ErrorSerializer, description="Not found, or not visible to this token's user."),
}
CONFLICT = {
    409: OpenApiResponse(ErrorSerializer, description="The current state does not allow it; `detail` says why.")
}


class ManagerViewSet(viewsets.ModelViewSet):
    permission_classes = [TokenHasScope, IsManager]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]


# --- Knowledge base ----------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(responses={201: ArticleSerializer, **ERRORS}),
    partial_update=extend_schema(responses={200: ArticleSerializer, **ERRORS}),
)
@extend_schema(tags=["knowledge base"])
class ArticleViewSet(ManagerViewSet):
    """Articles the bot answers from. A write queues re-embedding; the bot uses it once embedded."""

    serializer_class = ArticleSerializer
    queryset = Article.objects.prefetch_related("example_questions").order_by("id")

    def perform_create(self, serializer):
        serializer.instance = self._save(Article(), serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = self._save(serializer.instance, serializer.validated_data)

    def _save(self, article: Article, data: dict) -> Article:
        data = dict(data)
        questions = data.pop("questions", None)
        article = knowledge_services.article_save(article=article, changes=data, questions=questions)
        return Article.objects.prefetch_related("example_questions").get(pk=article.pk)

    def perform_destroy(self, instance):
        knowledge_services.article_delete(article=instance)


@extend_schema(tags=["knowledge base"])
class SourceViewSet(ManagerViewSet):
    serializer_class = SourceSerializer
    queryset = Source.objects.order_by("id")

    @extend_schema(request=None, responses={202: SourceSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def ingest(self, request, pk=None):
        """Import, crawl or read the source again, then embed it (in a worker; poll `status`)."""
        source = self.get_object()
        with transaction.atomic():
            knowledge_services.source_request_ingestion(source=source)
        source.refresh_from_db()
        return Response(SourceSerializer(source).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["knowledge base"])
class KnowledgeSearchView(GenericAPIView):
    """The passages the bot would answer from, best first (the same hybrid retrieval)."""

    permission_classes = [TokenHasScope, IsInboxUser]
    serializer_class = SearchHitSerializer
    pagination_class = None

    @extend_schema(parameters=[SearchQuerySerializer], responses={200: SearchHitSerializer(many=True), **ERRORS})
    def get(self, request):
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        passages = retrieve(query=query.validated_data["q"], limit=query.validated_data["limit"])
        return Response(SearchHitSerializer(passages, many=True).data)


# --- Trigger rules ---------------------------------------------------------------------------------------


@extend_schema(tags=["trigger rules"])
class TriggerRuleViewSet(ManagerViewSet):
    """Rules that hand conversations to people; validated exactly as in admin."""

    serializer_class = TriggerRuleSerializer
    queryset = TriggerRule.objects.order_by("order", "id")

    def perform_create(self, serializer):
        serializer.instance = trigger_rule_save(rule=TriggerRule(**serializer.validated_data))

    def perform_update(self, serializer):
        rule = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(rule, name, value)
        serializer.instance = trigger_rule_save(rule=rule)


# --- Customers ---------------------------------------------------------------------------------------------


@extend_schema(tags=["customers"])
class CustomerViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Agents read the customers of conversations they can see; managers read and update every one."""

    serializer_class = CustomerSerializer
    permission_classes = [TokenHasScope, IsInboxUser, IsManagerOrReadOnly]
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        customers = Customer.objects.order_by("id")
        if not user_is_manager(self.request.user):
            visible = conversations_visible_to(user=self.request.user).values("customer_id")
            customers = customers.filter(pk__in=visible)
        params = self.request.query_params
        for name in ("email", "external_id"):
            if value := params.get(name, "").strip():
                if "\x00" in value:
                    return customers.none()
                customers = customers.filter(**{f"{name}__iexact" if name == "email" else name: value})
        return customers

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        attributes = data.pop("attributes", None)
        serializer.instance = customer_update(customer=serializer.instance, changes=data, attributes=attributes)


def get_visible_conversation(request, conversation_id: int):
    return get_object_or_404(conversations_visible_to(user=request.user).select_related("customer"), pk=conversation_id)
