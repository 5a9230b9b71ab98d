from django.apps import AppConfig
from django.db.backends.signals import connection_created

from handoff.signals import conversation_resolved
from knowledge.hnsw import ef_search_on_connect


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        # Every receiver of the knowledge base, in one list. handoff announces, knowledge listens:
        # the handoff app never imports the knowledge base.
        from knowledge.learning.generation import suggestions_request_generation  # noqa: PLC0415 - imports models: only once the app registry is ready

        def learn_from_resolution(sender, *, conversation_id: int, **kwargs) -> None:
            suggestions_request_generation(conversation_id=conversation_id)  # what the bot can learn, in a worker

        conversation_resolved.connect(learn_from_resolution, weak=False, dispatch_uid="knowledge.learn_from_resolution")
        # Retrieval's HNSW setting, on every database session as it opens rather than on every search.
        connection_created.connect(ef_search_on_connect, dispatch_uid="knowledge.ef_search_on_connect")
