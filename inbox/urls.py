from django.urls import path

from inbox import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("status/", views.status_update, name="inbox-status"),
    path("canned/", views.canned_search, name="inbox-canned"),
    path("history/", views.handoff_history, name="inbox-history"),
    path("c/<int:conversation_id>/", views.conversation_detail, name="inbox-conversation"),
    path("c/<int:conversation_id>/accept/", views.conversation_accept, name="inbox-accept"),
    path("c/<int:conversation_id>/reply/", views.conversation_reply, name="inbox-reply"),
    path("c/<int:conversation_id>/note/", views.conversation_note, name="inbox-note"),
    path("c/<int:conversation_id>/transfer/", views.conversation_transfer, name="inbox-transfer"),
    path("c/<int:conversation_id>/resolve/", views.conversation_resolve, name="inbox-resolve"),
    path("c/<int:conversation_id>/verdict/", views.conversation_verdict, name="inbox-verdict"),
    path("c/<int:conversation_id>/hand-back/", views.conversation_hand_back, name="inbox-hand-back"),
    path("bulk/", views.conversations_bulk_view, name="inbox-bulk"),
    path("c/<int:conversation_id>/take-over/", views.conversation_take_over_view, name="inbox-take-over"),
    path("c/<int:conversation_id>/snooze/", views.conversation_snooze_view, name="inbox-snooze"),
    path("c/<int:conversation_id>/tags/", views.conversation_tags, name="inbox-tags"),
    path("c/<int:conversation_id>/draft/", views.conversation_draft, name="inbox-draft"),
    path("c/<int:conversation_id>/suggestions/", views.conversation_suggestions, name="inbox-suggestions"),
]
