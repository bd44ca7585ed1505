"""Load and scale measurements of the suite (``make bench``); not part of ``make test``. See BENCHMARKS.md."""
