"""Worked solution of exercise 3: a sync loop that survives a crash at any write."""

from cqrs_lab import EventStore, InMemoryReadModel, Projection


def sync(
    store: EventStore, model: InMemoryReadModel[int], projection: Projection[int], limit: int = 100
) -> int:
    """Apply up to ``limit`` events after the checkpoint, each committed with its position."""
    records = store.read_all(model.checkpoint, limit)
    for record in records:
        if record.event_type in projection.handles:
            changes = projection.project(record, model)
        else:
            changes = {}  # not ours, but the checkpoint still moves past it
        # rows and checkpoint in one atomic step: a crash leaves both or neither
        model.commit(record.position, changes)
    return len(records)
