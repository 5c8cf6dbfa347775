# Container image for the advisory-monitor daemon. Not built or tested in this project's CI (no
# container engine runs there); kept simple so that it builds anywhere with `docker build .`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 XDG_CACHE_HOME=/var/cache/advisory-monitor
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor/ monitor/
COPY rules/ rules/
RUN pip install --no-cache-dir . \
    && useradd --system --home /var/lib/advisory-monitor --create-home monitor \
    && mkdir -p /var/cache/advisory-monitor && chown monitor /var/cache/advisory-monitor
USER monitor
WORKDIR /var/lib/advisory-monitor
VOLUME ["/var/lib/advisory-monitor", "/etc/advisory-monitor"]
EXPOSE 8765
# The config should bind the health server to 0.0.0.0 inside the container (server: {host: 0.0.0.0}).
ENTRYPOINT ["advisory-monitor"]
CMD ["run", "--config", "/etc/advisory-monitor/config.yaml", "--log-format", "json"]
