"""A stand-in chat model for `scripts/schemathesis.sh`, speaking the OpenAI-compatible wire format
(`POST /v1/chat/completions`, a `chat.completion` JSON body, or server-sent `chat.completion.chunk`
events when `stream` is true), so the fuzzed server exercises its LLM paths (answers, follow-up
rewrites, chapter translations) instead of answering 503 for want of a model.

It "translates" by upper-casing the last user message outside the ⟦P…⟧ placeholder tokens, which
keeps every protected span intact exactly as a faithful model would. A request that is not the
documented shape gets a 400, so a malformed call from Docent shows up as a failed fuzz case.

Usage: python3 schemathesis_llm.py PORT_FILE   (writes the port it listens on, then serves)
"""
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = re.compile(r"(⟦[^⟧]*⟧)")


def translate(text):
    return "".join(part if TOKEN.fullmatch(part) else part.upper() for part in TOKEN.split(text))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        try:
            body = json.loads(self.rfile.read(length))
            assert self.path == "/v1/chat/completions", self.path
            assert self.headers.get("authorization", "").startswith("Bearer "), "no bearer key"
            messages = body["messages"]
            assert isinstance(body["model"], str) and messages, "model and messages required"
            assert all(m["role"] in ("system", "user", "assistant") for m in messages), "unknown role"
            user = [m["content"] for m in messages if m["role"] == "user"][-1]
        except (AssertionError, KeyError, IndexError, TypeError, ValueError) as err:
            return self.send(400, "application/json", json.dumps({"error": {"message": str(err)}}))
        content = translate(user)
        usage = {"prompt_tokens": len(user) // 4 + 1, "completion_tokens": len(content) // 4 + 1}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if body.get("stream"):
            return self.send(200, "text/event-stream", self.events(body["model"], content, usage))
        completion = {
            "id": "chatcmpl-schemathesis", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": usage,
        }
        self.send(200, "application/json", json.dumps(completion))

    @staticmethod
    def events(model, content, usage):
        def event(choices, **extra):
            chunk = {"id": "chatcmpl-schemathesis", "object": "chat.completion.chunk", "model": model,
                     "choices": choices, **extra}
            return f"data: {json.dumps(chunk)}\n\n"
        return (event([{"index": 0, "delta": {"role": "assistant", "content": content}, "finish_reason": None}])
                + event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
                + event([], usage=usage)
                + "data: [DONE]\n\n")

    def send(self, status, content_type, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(sys.argv[1], "w") as port_file:
        port_file.write(str(server.server_address[1]))
    server.serve_forever()
