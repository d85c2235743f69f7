"""Container health check: exit 0 when this container's service answers GET /health.

Copied into the base image (deploy/Dockerfile) so that every service image checks health the
same way. Standard library only, and no shell: it runs as the image's non-root user on a
read-only file system. The port is BENSYS_HTTP_PORT, which each service image sets; the base
image run on its own falls back to the port of the service named by BENSYS_SERVICE.
"""

import os
import sys
import urllib.request

DEFAULT_PORTS = {
    "registry": 8001,
    "cards": 8002,
    "distribution": 8003,
    "helpline": 8004,
    "reporting": 8005,
}


def main() -> int:
    port = os.environ.get("BENSYS_HTTP_PORT") or DEFAULT_PORTS[os.environ["BENSYS_SERVICE"]]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4) as answer:
            return 0 if answer.status == 200 else 1
    except OSError as error:  # refused, timed out, or an HTTP error status
        print(f"GET /health on port {port}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
