"""The full-text process of a large run (indexer/background_sync.py) outlasts what other processes do meanwhile."""

import sqlite3
import time

from db.store import Store
from indexer.background_sync import BackgroundSync
from tests.conftest import FakeCaptioner
from tests.helpers import index_with, paths_found


def test_the_fulltext_process_outlasts_an_edit_holding_the_catalog(photo_tree, data_dir, capfd):
    with Store.open(data_dir) as store:
        index_with(store, [photo_tree["root"]], FakeCaptioner())
        database = sqlite3.connect(data_dir / "captionary.db", isolation_level=None)
        # Whoosh is told it is behind the catalog, as it is while a run commits batches ...
        database.execute("UPDATE meta SET value = '0' WHERE key = 'fulltext_seq'")
        assert store.fulltext_sync.lag() > 0
        with BackgroundSync(data_dir, interval=0.2) as syncing:
            # ... and an edit in another process holds the catalog's write lock for several of its turns.
            database.execute("BEGIN IMMEDIATE")
            time.sleep(1.5)
            database.execute("COMMIT")
            deadline = time.monotonic() + 20
            while store.fulltext_sync.lag() and time.monotonic() < deadline:
                time.sleep(0.1)
            alive = syncing.process.is_alive()
        database.close()
        assert alive and store.fulltext_sync.lag() == 0  # it waited its turn, then caught up
        assert paths_found(store, "red") == {str(photo_tree["red"])}
    assert "Traceback" not in capfd.readouterr().err
