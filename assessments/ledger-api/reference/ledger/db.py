"""PostgreSQL access: a thread-safe connection pool, transactions, schema migrations.

The service starts before its database may accept connections. `Database.start()` brings
the schema up in a background thread, retrying with backoff, so the HTTP server is up at
once and `/healthz` reports 503 until the database answers and the migrations ran.
The database may also restart while the service runs, ending every session: a pooled
connection the server ended is replaced before it is used (`_fresh_connection`).
"""

import logging
import select
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import psycopg2.extras
import psycopg2.pool

from .errors import unavailable

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# Any constant: serialises migrations if several processes start at once.
_MIGRATION_LOCK_ID = 7_201_501


class Database:
    def __init__(self, dsn, max_connections=20, connect_timeout=5, statement_timeout_ms=15000):
        self._dsn = dsn
        self._connect_kwargs = {
            "connect_timeout": connect_timeout,
            "application_name": "ledger-api",
            "options": f"-c statement_timeout={statement_timeout_ms} -c TimeZone=UTC",
            # Rows readable both by position and by column name.
            "cursor_factory": psycopg2.extras.DictCursor,
        }
        self._max_connections = max_connections
        # psycopg2's pool raises when exhausted; the semaphore makes callers wait instead.
        self._slots = threading.BoundedSemaphore(max_connections)
        self._pool = None
        self._ready = threading.Event()
        self._init_lock = threading.Lock()

    # --- start-up -------------------------------------------------------------------

    def start(self):
        """Connect and migrate in a background thread; never raises."""
        threading.Thread(target=self._bring_up, name="db-bring-up", daemon=True).start()

    def _bring_up(self):
        delay = 0.2
        while not self._ready.is_set():
            try:
                self.ensure_ready()
            except Exception as exc:  # the database may refuse connections for a while
                log.warning("database not ready (%s); retrying in %.1f s",
                            type(exc).__name__, delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def ensure_ready(self):
        """Create the pool and apply pending migrations, once; raises while the DB is down."""
        if self._ready.is_set():
            return
        with self._init_lock:
            if self._ready.is_set():
                return
            if self._pool is None:
                # minconn == maxconn on purpose: psycopg2's pool *closes* any connection
                # returned while it holds `minconn` idle ones, so a smaller minconn would
                # mean a new connection (and SCRAM handshake) for most requests under load.
                self._pool = psycopg2.pool.ThreadedConnectionPool(
                    self._max_connections, self._max_connections, self._dsn,
                    **self._connect_kwargs)
            with self._transaction() as cur:
                apply_migrations(cur)
            self._ready.set()
            log.info("database ready")

    @property
    def ready(self):
        return self._ready.is_set()

    # --- use ------------------------------------------------------------------------

    def transaction(self):
        """A cursor inside one transaction: committed on success, rolled back on error.

        Raises a 503 ApiError until the schema is in place.
        """
        if not self._ready.is_set():
            raise unavailable()
        return self._transaction()

    @contextmanager
    def _transaction(self):
        with self._slots:
            conn = self._fresh_connection()
            broken = False
            try:
                with conn.cursor() as cur:
                    yield cur
                conn.commit()
            except BaseException:
                broken = conn.closed != 0
                if not broken:
                    try:
                        conn.rollback()
                    except psycopg2.Error:
                        broken = True
                raise
            finally:
                # A connection the server dropped goes away; the pool opens a new one.
                self._pool.putconn(conn, close=broken or conn.closed != 0)

    def _fresh_connection(self):
        """A pooled connection the server has not ended.

        When the database restarts, it ends every session: the idle connections in the pool
        are then dead although nothing has noticed yet. Each is checked before use and
        replaced, so no request fails for a connection that died while it sat in the pool.
        """
        for _ in range(self._max_connections):
            conn = self._pool.getconn()
            if not _ended_by_server(conn):
                return conn
            self._pool.putconn(conn, close=True)
        # Every pooled connection was dead: the pool opens a new one (or raises while the
        # database still refuses connections).
        return self._pool.getconn()

    def check(self):
        """True when the database answers a trivial query now."""
        if not self.ready:
            return False
        try:
            with self.transaction() as cur:
                cur.execute("SELECT 1")
                return cur.fetchone()[0] == 1
        except psycopg2.Error:
            return False

    def close(self):
        if self._pool is not None:
            self._pool.closeall()


def _ended_by_server(conn):
    """Whether an idle connection is dead: closed, or readable although we sent nothing
    (the server's goodbye, e.g. "terminating connection due to administrator command", or
    the end of the stream). A system call, no round trip to the database."""
    if conn.closed:
        return True
    try:
        readable, _, _ = select.select([conn], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def apply_migrations(cur, directory=MIGRATIONS_DIR):
    """Apply, in name order, every migrations/*.sql not yet recorded in schema_migrations.

    Runs in the caller's transaction under an advisory lock, so it is idempotent and safe
    when several instances start together.
    """
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_ID,))
    cur.execute("""
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    text PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )""")
    cur.execute("SELECT version FROM schema_migrations")
    applied = {row[0] for row in cur.fetchall()}
    for path in sorted(directory.glob("*.sql")):
        if path.stem in applied:
            continue
        log.info("applying migration %s", path.name)
        cur.execute(path.read_text(encoding="utf-8"))
        cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,))
