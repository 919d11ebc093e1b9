"""A gRPC server whose one method makes one OpenAI call, for tests/test_service.py.

No generated code: the method takes and returns raw bytes (the question, the answer).
"""

from __future__ import annotations

import os
import sys
from concurrent import futures

import grpc
import openai

client = openai.OpenAI(base_url=os.environ["FAKE_OPENAI_URL"], api_key="test", max_retries=0)


def ask(question: bytes, context: grpc.ServicerContext) -> bytes:
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": question.decode()}]
    )
    return (answer.choices[0].message.content or "").encode()


def main() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(ask)  # no (de)serializers: bytes in, bytes out
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("llm.Chat", {"Ask": handler})])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.readline()  # until the test is done
    server.stop(grace=None)


if __name__ == "__main__":
    main()
