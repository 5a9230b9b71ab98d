"""The REST API's views: thin, each validates its input and calls the same services as admin and the inbox."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from agents.selectors import agent_for_user, user_is_manager
from api.errors import Conflict
from api.pagination import Pagination
from api.permissions import IsInboxUser, IsManager, IsManagerOrReadOnly, TokenHasScope
from api.serializers import (
    ArticleSerializer,
    ConversationQuerySerializer,
    ConversationSerializer,
    CustomerSerializer,
    ErrorSerializer,
    HandoffAssignSerializer,
    HandoffRequestSerializer,
    HandoffTransferSerializer,
    MessagePageSerializer,
    MessageQuerySerializer,
    MessageSerializer,
    NoteSerializer,
    RatingSerializer,
    ReasonSerializer,
    SearchHitSerializer,
    SearchQuerySerializer,
    SourceSerializer,
    TextSerializer,
    TriggerRuleSerializer,
)
from chat.models import Conversation, Customer
from chat.selectors import message_with_client_id
from chat.services import customer_update
from handoff.models import Handoff, SatisfactionRating
from handoff.selectors import handoff_open
from handoff.services import (
    handoff_assign,
    handoff_hand_back,
    handoff_request,
    handoff_resolve,
    handoff_return_to_queue,
    handoff_transfer,
)
from inbox.selectors import conversations_visible_to
from inbox.services import agent_reply, note_add
from knowledge import services as knowledge_services
from knowledge.models import Article, Source
from knowledge.retrieval import retrieve
from reports.forms import ReportForm
from reports.report import report_as_dict, report_build
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


# --- Reports ------------------------------------------------------------------------------------------------

REPORT_PARAMETERS = [
    OpenApiParameter("days", str, enum=["7", "30", "90", "custom"], description="The period (default 30 days)."),
    OpenApiParameter("start", OpenApiTypes.DATE, description="With days=custom: the first day."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="With days=custom: the last day (inclusive)."),
    OpenApiParameter("team", int, description="A team's id: its conversations and handoffs only."),
    OpenApiParameter("compare", bool, description="Also the previous period's headline numbers (default true)."),
    *(
        OpenApiParameter(name, OpenApiTypes.DECIMAL, description=f"ROI input: {label}.")
        for name, label in (
            ("cost_per_enquiry", "cost per human-handled enquiry"),
            ("hourly_cost", "hourly agent cost"),
            ("assistant_monthly_cost", "assistant cost per month"),
        )
    ),
    OpenApiParameter("monthly_volume", int, description="ROI input: conversations a month (default: measured)."),
]


@extend_schema(tags=["reports"])
class ReportView(GenericAPIView):
    """The report page's numbers (admin → Reports), as JSON: managers only, as the page is."""

    permission_classes = [TokenHasScope, IsManager]
    pagination_class = None

    @extend_schema(
        parameters=REPORT_PARAMETERS,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Every section of the report."), **ERRORS},
    )
    def get(self, request):
        query = request.query_params.copy()
        query.setdefault("compare", "true")  # on unless compare=false (a form's unticked box is absent)
        form = ReportForm(query)
        if form.submitted and not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        report = report_build(period=form.period(), roi_inputs=form.roi_inputs(), compare=form.wants_comparison())
        return Response(report_as_dict(report))


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


# --- Conversations: what the agent sees in the inbox, through the inbox's own selector ---------------------


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Up to 64 characters; a retried POST with the same key returns the stored message (200) "
    "instead of storing it twice.",
)


def idempotency_key(request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 64 or not key.isprintable():
        raise ValidationError({"Idempotency-Key": "At most 64 printable characters."})
    return key


def _open_handoffs() -> Prefetch:
    open_handoffs = Handoff.objects.filter(status__in=Handoff.OPEN_STATUSES).select_related("team")
    return Prefetch("handoffs", queryset=open_handoffs, to_attr="open_handoffs")


@extend_schema(tags=["conversations"])
class ConversationViewSet(viewsets.ReadOnlyModelViewSet):
    """Conversations the token's user may open in the inbox: every one for a manager, their teams' for an
    agent (another team's is a 404, as in the inbox). Actions call the inbox's services; a state that does
    not allow them is a 409 with the reason."""

    serializer_class = ConversationSerializer
    permission_classes = [TokenHasScope, IsInboxUser]

    def get_queryset(self):
        conversations = (
            conversations_visible_to(user=self.request.user)
            .select_related("customer")
            .prefetch_related(_open_handoffs())
            .order_by("-last_activity_at", "-id")
        )
        if self.action != "list":
            return conversations
        query = ConversationQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        if "status" in filters:
            conversations = conversations.filter(status=filters["status"])
        if "channel" in filters:
            conversations = conversations.filter(channel=filters["channel"])
        if "team" in filters:
            conversations = conversations.filter(handoffs__team__slug=filters["team"])
        if "tag" in filters:
            conversations = conversations.filter(tags__contains=[filters["tag"]])
        if "updated_since" in filters:
            conversations = conversations.filter(updated_at__gte=filters["updated_since"])
        return conversations.distinct() if "team" in filters else conversations

    @extend_schema(parameters=[ConversationQuerySerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _conversation(self):
        return self.get_object()

    def _agent(self):
        agent = agent_for_user(self.request.user)
        if agent is None:
            raise Conflict("Only agents can do this (a manager without an agent profile can watch and resolve).")
        return agent

    def _body(self, serializer_class) -> dict:
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data

    def _open_handoff(self, conversation, missing: str) -> Handoff:
        handoff = handoff_open(conversation=conversation)
        if handoff is None:
            raise Conflict(missing)
        return handoff

    def _fresh(self, conversation) -> Response:
        """The conversation after the action, even if it left the user's sight (a transfer to another team)."""
        conversation = (
            Conversation.objects.select_related("customer").prefetch_related(_open_handoffs()).get(pk=conversation.pk)
        )
        return Response(ConversationSerializer(conversation).data)

    @extend_schema(parameters=[MessageQuerySerializer], responses={200: MessagePageSerializer, **ERRORS})
    @action(detail=True, methods=["get"], url_path="messages", serializer_class=MessageSerializer)
    def messages(self, request, pk=None):
        """The transcript in `seq` order, a page at a time: pass `next_after` back as `after`."""
        conversation = self._conversation()
        query = MessageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        page = list(
            conversation.messages.filter(seq__gt=after).select_related("author__agent").order_by("seq")[: limit + 1]
        )
        more = len(page) > limit
        page = page[:limit]
        return Response(
            {"results": MessageSerializer(page, many=True).data, "next_after": page[-1].seq if more else None}
        )

    @extend_schema(
        request=TextSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: MessageSerializer, 200: MessageSerializer, **ERRORS, **CONFLICT},
    )
    @messages.mapping.post
    def reply(self, request, pk=None):
        """An agent's reply to the visitor, as from the inbox (the conversation must be with a person)."""
        conversation = self._conversation()
        body = self._body(TextSerializer)
        key = idempotency_key(request)
        if key and (existing := message_with_client_id(conversation_id=conversation.pk, client_id=key)):
            return Response(MessageSerializer(existing).data, status=status.HTTP_200_OK)
        message = agent_reply(agent_user=request.user, conversation=conversation, text=body["text"], client_id=key)
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: NoteSerializer(many=True), **ERRORS})
    @action(detail=True, methods=["get"], serializer_class=NoteSerializer, pagination_class=Pagination)
    def notes(self, request, pk=None):
        """Internal notes agents left for each other (never shown to the visitor)."""
        conversation = self._conversation()
        notes = self.paginate_queryset(
            conversation.internal_notes.select_related("author").order_by("created_at", "id")
        )
        return self.get_paginated_response(NoteSerializer(notes, many=True).data)

    @extend_schema(request=TextSerializer, responses={201: NoteSerializer, **ERRORS, **CONFLICT})
    @notes.mapping.post
    def add_note(self, request, pk=None):
        conversation = self._conversation()
        body = self._body(TextSerializer)
        note = note_add(author=request.user, conversation=conversation, text=body["text"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=HandoffRequestSerializer, responses={200: ConversationSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"], url_path="handoff/request", serializer_class=HandoffRequestSerializer)
    def handoff_request(self, request, pk=None):
        """Queue the conversation for a person (asking again while it waits changes nothing)."""
        conversation = self._conversation()
        body = self._body(HandoffRequestSerializer)
        handoff_request(
            conversation=conversation,
            reason=body["reason"],
            source=Handoff.Source.AGENT,
            team=body.get("team"),
            priority=body["priority"],
            actor=request.user,
        )
        return self._fresh(conversation)

    @extend_schema(request=HandoffAssignSerializer, responses={200: ConversationSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"], url_path="handoff/assign", serializer_class=HandoffAssignSerializer)
    def handoff_assign(self, request, pk=None):
        """Take a waiting conversation (a manager may give it to any agent). Of two at once, one wins."""
        conversation = self._conversation()
        body = self._body(HandoffAssignSerializer)
        agent = body.get("agent")
        if agent is None:
            agent = self._agent()
        elif agent.user_id != request.user.pk and not user_is_manager(request.user):
            raise PermissionDenied("Only managers can assign a conversation to someone else.")
        handoff = self._open_handoff(conversation, f"Conversation {conversation.pk} is not waiting for a person.")
        handoff_assign(handoff=handoff, agent=agent, actor=request.user, reason="Assigned over the API")
        return self._fresh(conversation)

    @extend_schema(request=HandoffTransferSerializer, responses={200: ConversationSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"], url_path="handoff/transfer", serializer_class=HandoffTransferSerializer)
    def handoff_transfer(self, request, pk=None):
        """Pass the conversation to another agent, or to another team's queue."""
        conversation = self._conversation()
        body = self._body(HandoffTransferSerializer)
        handoff = self._open_handoff(conversation, f"Conversation {conversation.pk} has no open handoff to transfer.")
        handoff_transfer(
            handoff=handoff,
            to_agent=body.get("agent"),
            to_team=body.get("team"),
            note=body["note"],
            actor=request.user,
        )
        return self._fresh(conversation)

    @extend_schema(request=ReasonSerializer, responses={200: ConversationSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"], url_path="handoff/return", serializer_class=ReasonSerializer)
    def handoff_return(self, request, pk=None):
        """Put a conversation with an agent back in its team's queue."""
        conversation = self._conversation()
        body = self._body(ReasonSerializer)
        handoff = self._open_handoff(conversation, f"Conversation {conversation.pk} is not with an agent.")
        handoff_return_to_queue(handoff=handoff, reason=body["reason"] or "Returned over the API", actor=request.user)
        return self._fresh(conversation)

    @extend_schema(request=None, responses={200: ConversationSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"], serializer_class=ConversationSerializer)
    def resolve(self, request, pk=None):
        """Close the conversation; the visitor is asked to rate it."""
        conversation = self._conversation()
        handoff_resolve(conversation=conversation, actor=request.user, reason="Resolved over the API")
        return self._fresh(conversation)

    @extend_schema(request=None, responses={200: ConversationSerializer, **ERRORS, **CONFLICT})
    @action(detail=True, methods=["post"], url_path="hand-back", serializer_class=ConversationSerializer)
    def hand_back(self, request, pk=None):
        """Give the conversation back to the bot."""
        conversation = self._conversation()
        handoff_hand_back(conversation=conversation, actor=request.user)
        return self._fresh(conversation)


@extend_schema(tags=["conversations"])
class RatingViewSet(viewsets.ReadOnlyModelViewSet):
    """CSAT answers on the conversations the token's user can see."""

    serializer_class = RatingSerializer
    permission_classes = [TokenHasScope, IsInboxUser]

    def get_queryset(self):
        visible = conversations_visible_to(user=self.request.user).values("pk")
        return SatisfactionRating.objects.filter(conversation__in=visible).order_by("-created_at", "-id")
