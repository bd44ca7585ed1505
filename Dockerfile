# trainsim in a container: `docker build -t trainsim . && docker run -p 8300:8300 -v trainsim-data:/data trainsim`
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TRAINSIM_HOST=0.0.0.0 TRAINSIM_PORT=8300 TRAINSIM_DB=/data/state.db

WORKDIR /app
COPY pyproject.toml README.md ./
COPY simulators ./simulators
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /data trainsim \
    && mkdir -p /data && chown trainsim /data

USER trainsim
VOLUME ["/data"]
EXPOSE 8300
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8300/_sim/health', timeout=2).status == 200 else 1)"
CMD ["trainsim", "serve", "--host", "0.0.0.0"]
