"""REST endpoints of the API channel (scope "channel", managers' tokens: a bridge speaks for customers)."""

import uuid

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from api.channel.services import (
    CHANNEL,
    channel_conversation_start,
    channel_handoff_request,
    channel_message_receive,
)
from api.fields import AttributesField, StrictTypes
from api.models import ApiToken
from api.permissions import IsManager, TokenHasScope
from api.serializers import ConversationSerializer, ErrorSerializer, MessageSerializer
from api.views import idempotency_key
from chat.models import Conversation

CONFLICT = OpenApiResponse(ErrorSerializer, description="Not possible now; `detail` says what to fix.")


class ChannelCustomerSerializer(StrictTypes, serializers.Serializer):
    external_id = serializers.CharField(
        max_length=200, help_text="Your id for this customer (a phone number, a user id)."
    )
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    attributes = AttributesField(
        required=False, help_text="Merged into the customer's attributes (trigger rules read them)."
    )


class ChannelConversationSerializer(StrictTypes, serializers.Serializer):
    customer = ChannelCustomerSerializer()


class ChannelMessageSerializer(StrictTypes, serializers.Serializer):
    text = serializers.CharField(max_length=4000, help_text="What the customer wrote.")
    client_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="Your id for this message; sending it again returns the stored message (200), stored once.",
    )


class ChannelView(GenericAPIView):
    permission_classes = [TokenHasScope, IsManager]
    required_scope = ApiToken.Scope.CHANNEL

    def conversation(self, conversation_id: int) -> Conversation:
        return get_object_or_404(Conversation.objects.select_related("customer"), pk=conversation_id, channel=CHANNEL)


@extend_schema(tags=["API channel"])
class ChannelConversationsView(ChannelView):
    serializer_class = ChannelConversationSerializer

    @extend_schema(request=ChannelConversationSerializer, responses={201: ConversationSerializer, 409: CONFLICT})
    def post(self, request):
        """Start a conversation for one of your customers. Everything the bot and agents write in it is
        delivered to your webhook endpoint as `message.created`; handoffs as `handoff.*`."""
        body = ChannelConversationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        customer = dict(body.validated_data["customer"])
        external_id = customer.pop("external_id")
        attributes = customer.pop("attributes", None) or {}
        conversation = channel_conversation_start(external_id=external_id, details=customer, attributes=attributes)
        return Response(ConversationSerializer(conversation).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["API channel"])
class ChannelMessagesView(ChannelView):
    serializer_class = ChannelMessageSerializer

    @extend_schema(
        request=ChannelMessageSerializer,
        responses={202: MessageSerializer, 200: MessageSerializer, 409: CONFLICT},
    )
    def post(self, request, conversation_id: int):
        """The customer wrote. Stored at once (202); trigger rules and the bot run in a worker, and their
        outcome reaches you by webhook. A resolved conversation reopens, as in the widget."""
        conversation = self.conversation(conversation_id)
        body = ChannelMessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # Without an id of the client's, the message gets one: an empty id would match earlier messages.
        client_id = body.validated_data.get("client_id") or idempotency_key(request) or uuid.uuid4().hex
        result = channel_message_receive(
            conversation=conversation, text=body.validated_data["text"], client_id=client_id
        )
        code = status.HTTP_202_ACCEPTED if result.created else status.HTTP_200_OK
        return Response(MessageSerializer(result.message).data, status=code)


@extend_schema(tags=["API channel"])
class ChannelHandoffView(ChannelView):
    serializer_class = ConversationSerializer

    @extend_schema(request=None, responses={200: ConversationSerializer, 409: CONFLICT})
    def post(self, request, conversation_id: int):
        """The customer asked for a person; asking again while they wait changes nothing."""
        conversation = self.conversation(conversation_id)
        channel_handoff_request(conversation=conversation)
        conversation.refresh_from_db()
        return Response(ConversationSerializer(conversation).data)
