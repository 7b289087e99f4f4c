"""Schemathesis hooks for `scripts/schemathesis.sh`: the checks Docent adds to the built-in ones.

`problem_json_errors`: every 4xx/5xx response is an RFC 9457 problem (`application/problem+json`)
carrying Docent's `code` and `request_id` (the request id also in `X-Request-Id`). The health
routes' 503 reports are the one documented exception.
"""
import json

import schemathesis

PROBLEM_FIELDS = ("type", "title", "status", "detail", "code", "request_id")


@schemathesis.check
def problem_json_errors(ctx, response, case):
    """Every error response is application/problem+json with Docent's fields."""
    if response.status_code < 400:
        return None
    if case.operation.path.startswith("/health") and response.status_code == 503:
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if content_type.split(";")[0].strip() != "application/problem+json":
        raise AssertionError(f"{response.status_code} answered as {content_type!r}, not application/problem+json")
    body = json.loads(response.content)
    missing = [field for field in PROBLEM_FIELDS if field not in body]
    if missing:
        raise AssertionError(f"problem body lacks {missing}: {body}")
    if body["status"] != response.status_code:
        raise AssertionError(f"problem status {body['status']} differs from the response's {response.status_code}")
    if body["type"] != f"urn:docent:problem:{body['code']}":
        raise AssertionError(f"problem type {body['type']!r} does not match code {body['code']!r}")
    request_id = response.headers.get("x-request-id", [""])
    request_id = request_id[0] if isinstance(request_id, list) else request_id
    if body["request_id"] != request_id:
        raise AssertionError(f"request_id {body['request_id']!r} differs from X-Request-Id {request_id!r}")
    return None
