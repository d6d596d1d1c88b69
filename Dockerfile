# One image for every RepSeq process (services, job workers, gateway, migrations); docker-compose.yml picks the
# command. Build: docker build -t repseq-server .
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 REPSEQ_VAR_DIR=/var/lib/repseq
WORKDIR /app

# Dependencies first (cached while only the code changes).
# flash and vsearch: the shipped pre-processes (paired-end merging) run by the job workers.
RUN apt-get update && apt-get install -y --no-install-recommends flash vsearch && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
RUN mkdir -p services gateway repseq vdj && touch services/__init__.py gateway/__init__.py repseq/__init__.py \
        vdj/__init__.py && pip install ".[germline]" && pip uninstall -y repseq-server

COPY services ./services
COPY gateway ./gateway
COPY repseq ./repseq
COPY vdj ./vdj
RUN pip install --no-deps -e . \
    && python -m vdj.germline build && python -c "import vdj; vdj.warm_up()" \
    && useradd --system --home-dir /var/lib/repseq --create-home repseq

USER repseq
EXPOSE 8080
CMD ["python", "-m", "services.common.runner", "auth"]
