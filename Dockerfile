# wecom-oidc-bridge: the OpenID Connect Provider behind WeCom, served by gunicorn.
#
#   docker build -t wecom-oidc-bridge .
#   docker run -v ./oidc-bridge.toml:/etc/oidc-bridge/oidc-bridge.toml:ro \
#              -v oidc-bridge-keys:/var/lib/oidc-bridge/keys -p 8000:8000 wecom-oidc-bridge
#
# See docs/deployment.md; docker-compose.yml runs it with Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The package only (no test extras), built from this checkout.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY oidc_bridge ./oidc_bridge
RUN pip install . && rm -rf /src

# A fixed, unprivileged user. The keys directory belongs to it, so a fresh named volume mounted
# there starts out writable (Docker copies the image's ownership into an empty volume).
RUN groupadd --system --gid 10001 oidc-bridge \
    && useradd --system --uid 10001 --gid oidc-bridge --home-dir /var/lib/oidc-bridge \
       --shell /usr/sbin/nologin oidc-bridge \
    && mkdir -p /etc/oidc-bridge /var/lib/oidc-bridge/keys \
    && chown -R oidc-bridge:oidc-bridge /var/lib/oidc-bridge \
    && chmod 0700 /var/lib/oidc-bridge/keys

# The config is mounted here read-only; it should set keys_dir = "/var/lib/oidc-bridge/keys".
ENV OIDC_BRIDGE_CONFIG=/etc/oidc-bridge/oidc-bridge.toml \
    OIDC_BRIDGE_BIND=0.0.0.0:8000
VOLUME ["/var/lib/oidc-bridge/keys"]
WORKDIR /var/lib/oidc-bridge
USER oidc-bridge:oidc-bridge
EXPOSE 8000

# Ready = the store answers and a signing key is loaded. No curl in slim: Python's urllib, which
# raises (exit status 1) on a connection error or any status but 2xx/3xx.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('OIDC_BRIDGE_BIND', '0.0.0.0:8000').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4)"]

# SIGTERM (docker stop) lets the workers finish the requests in flight: see gunicorn_conf.py.
CMD ["gunicorn", "-c", "python:oidc_bridge.gunicorn_conf", "oidc_bridge.wsgi:app"]
