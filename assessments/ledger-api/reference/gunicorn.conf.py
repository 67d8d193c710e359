# gunicorn settings for the ledger service: one worker process with threads, bound to $PORT.
#
# One process on purpose: the login rate-limit counters live in memory and must be shared
# by all requests. Threads give concurrency (the work is mostly waiting on PostgreSQL).
import os

bind = f"0.0.0.0:{int(os.environ.get('PORT') or 8080)}"
wsgi_app = "ledger.wsgi:app"
worker_class = "gthread"
workers = 1
threads = int(os.environ.get("THREADS", "16"))
keepalive = 5
# SIGTERM: stop accepting, finish in-flight requests for at most 5 s, then exit.
graceful_timeout = 5
timeout = 30
# The worker heartbeat file on tmpfs: a slow overlay filesystem cannot stall it.
worker_tmp_dir = "/dev/shm"
accesslog = None
errorlog = "-"
loglevel = "info"
