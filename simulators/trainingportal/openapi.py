"""OpenAPI placeholder, replaced below."""
CONTROL_PATHS: dict = {}


def api_document() -> dict:
    return {}
