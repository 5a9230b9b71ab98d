"""A PostgreSQL backend that starts the embedded server on its first connection.

Starting lazily keeps commands that never touch the database (`help`, `check`,
`makemigrations --check`) instant, while every command that does needs no manual step.
"""

from pathlib import Path

from django.db.backends.postgresql import base

from config import embedded_postgres


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["host"] = embedded_postgres.ensure_server(
            Path(self.settings_dict["EMBEDDED_DATA_DIR"]),
            durable=self.settings_dict.get("EMBEDDED_DURABLE", True),
        )
        params["user"] = "postgres"
        return params
