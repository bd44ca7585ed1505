"""The bare peers measured in every run on the same server stack (gunicorn gthread, same workers/threads)."""
