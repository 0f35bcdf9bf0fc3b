# The headless OrderDesk services (producer, tracker, `dlq` commands), without Qt.
#   docker build -t orderdesk-headless .
#   docker run --rm orderdesk-headless --producer --bootstrap-servers HOST:9092
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The core's own dependencies only: the headless services never import PySide6 or
# pyqtgraph, which would add some 300 MB to the image.
RUN pip install "confluent-kafka>=2.6" "pydantic>=2.7" "pydantic-settings>=2.7" "PyYAML>=6.0" \
    "platformdirs>=4.0" "numpy>=1.26" "prometheus-client>=0.20"
COPY pyproject.toml README.md ./
COPY orderdesk ./orderdesk
COPY resources ./resources
RUN pip install --no-deps . && useradd --create-home orderdesk && mkdir -p /data/logs \
    && chown orderdesk /data/logs
USER orderdesk
ENTRYPOINT ["orderdesk"]
CMD ["--help"]
