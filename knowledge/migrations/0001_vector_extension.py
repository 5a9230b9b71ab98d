from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """CREATE EXTENSION vector, before any model uses the vector type."""

    dependencies: list = []
    operations = [VectorExtension()]
