"""The database router: reads inside the "may lag" scope of core.replica go to the replica, all else to the primary."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS

from core import replica

_SAME_DATA = {DEFAULT_DB_ALIAS, replica.REPLICA}


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        # Explicitly the primary outside the scope: an object read from the replica must not drag the reads of its
        # relations there once the scope has ended.
        return replica.read_alias()

    def db_for_write(self, model, **hints) -> str:
        replica.note_write()  # the scope's later reads must see this write
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The replica holds the primary's rows: an object read there may be linked to one read on the primary.
        if obj1._state.db in _SAME_DATA and obj2._state.db in _SAME_DATA:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS  # the replica gets its schema by streaming
