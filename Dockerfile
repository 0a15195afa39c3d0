# clearway: the API (and, with another command, a worker) as one image.
# Build: docker build -t clearway .   Run: docker run -p 8000:8000 clearway   (docs/operations.md)

# --- build: the package and its data as a wheel, with its pinned dependencies ---
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- run: a slim base, the wheels installed, nothing else of the source tree ---
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin clearway \
    && mkdir -p /var/lib/clearway && chown clearway:clearway /var/lib/clearway
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER clearway
ENV CLEARWAY_HOME=/var/lib/clearway \
    CLEARWAY_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/clearway"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3).status != 200)"]
ENTRYPOINT ["clearway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
