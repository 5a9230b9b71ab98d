from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api import views
from api.channel import views as channel_views
from api.email_channel.views import inbound_email

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("knowledge/articles", views.ArticleViewSet, basename="article")
router.register("knowledge/sources", views.SourceViewSet, basename="source")
router.register("trigger-rules", views.TriggerRuleViewSet, basename="trigger-rule")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("conversations", views.ConversationViewSet, basename="conversation")
router.register("ratings", views.RatingViewSet, basename="rating")

v1 = [
    path("knowledge/search/", views.KnowledgeSearchView.as_view(), name="knowledge-search"),
    path("reports/", views.ReportView.as_view(), name="reports"),
    path("channel/conversations/", channel_views.ChannelConversationsView.as_view(), name="channel-conversations"),
    path(
        "channel/conversations/<int:conversation_id>/messages/",
        channel_views.ChannelMessagesView.as_view(),
        name="channel-messages",
    ),
    path(
        "channel/conversations/<int:conversation_id>/handoff/",
        channel_views.ChannelHandoffView.as_view(),
        name="channel-handoff",
    ),
    *router.urls,
]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="v1")),
    path("email/inbound/", inbound_email, name="email-inbound"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("docs/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
