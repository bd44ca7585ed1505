"""The bare peers measured in every run on the same server stack (granian WSGI, same workers/threads)."""
