"""The registry's tables, as the newest migration leaves them (see ``migrations/versions``)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

models = Table(
    "models", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

versions = Table(
    "versions", metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("source", Text, nullable=False),
    Column("metrics", Text, nullable=False),  # JSON
    Column("data_sha256", String(64)),
    Column("schema", Text),  # JSON
    Column("description", Text),
    UniqueConstraint("model_id", "version", name="one_number_per_version"),
)

aliases = Table(
    "aliases", metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("alias", String(100), primary_key=True),
    Column("version_id", Integer, ForeignKey("versions.id"), nullable=False),
    Column("set_at", DateTime(timezone=True)),
    Column("set_by", String(200)),
)

predictions = Table(
    "predictions", metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("row", Integer, nullable=False),
    Column("logged_at", DateTime(timezone=True), nullable=False),
    Column("inputs", Text, nullable=False),  # JSON: {feature: value}
    Column("outputs", Text, nullable=False),  # JSON: {"prediction": ..., "probabilities": {...}}
    UniqueConstraint("model_id", "request_id", "row", name="one_log_per_row"),
    Index("predictions_by_time", "model_id", "logged_at"),
)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("row", Integer, nullable=False),
    Column("label", Text, nullable=False),  # JSON: the true outcome
    Column("received_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("model_id", "request_id", "row", name="one_label_per_row"),
)
