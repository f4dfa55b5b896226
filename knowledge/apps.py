from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _tune_connection(sender, connection, **kwargs):
    """Once per database connection rather than per search: saves three round trips a question."""
    from knowledge.retrieval import HNSW_EF_SEARCH

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET hnsw.ef_search = {int(HNSW_EF_SEARCH)}")


class KnowledgeConfig(AppConfig):
    name = "knowledge"

    def ready(self):
        connection_created.connect(_tune_connection, dispatch_uid="knowledge-tune-connection")
