# gunicorn settings for Conduit: one worker process with threads, bound to $PORT.
#
# Threads give concurrency: a request mostly waits on PostgreSQL. One process keeps the
# connection pool small and the memory low; add workers (WORKERS) on a machine with more cores.
import os

bind = f"0.0.0.0:{int(os.environ.get('PORT') or 8080)}"
wsgi_app = "conduit.wsgi:app"
worker_class = "gthread"
workers = int(os.environ.get("WORKERS", "1"))
threads = int(os.environ.get("THREADS", "16"))
keepalive = 5
# SIGTERM: stop accepting, finish in-flight requests for at most 5 s, then exit 0.
graceful_timeout = 5
timeout = 30
# The worker heartbeat file on tmpfs: a slow overlay filesystem cannot stall it.
worker_tmp_dir = "/dev/shm"
accesslog = None
errorlog = "-"
loglevel = "info"
