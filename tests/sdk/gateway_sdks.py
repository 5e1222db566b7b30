"""The official OpenAI and Anthropic Python SDKs against a running `hermes serve`.

Run by tests/it/serve.rs with GATEWAY_URL and GATEWAY_KEY set; the gateway's upstream is a mock
on 127.0.0.1 that answers "hello from the pool" (OpenAI chat, Anthropic Messages, and their
streams). Every check prints one line; any failure raises and exits non-zero.
"""
import os

import anthropic
import openai

URL = os.environ["GATEWAY_URL"]
KEY = os.environ["GATEWAY_KEY"]
WANT = "hello from the pool"

oa = openai.OpenAI(base_url=URL + "/v1", api_key=KEY, max_retries=0)
r = oa.chat.completions.create(model="custom:mock:m1", messages=[{"role": "user", "content": "hi"}])
assert r.choices[0].message.content == WANT, r
print("openai chat: ok")

parts = []
for chunk in oa.chat.completions.create(
    model="custom:mock:m1", messages=[{"role": "user", "content": "hi"}], stream=True
):
    if chunk.choices and chunk.choices[0].delta.content:
        parts.append(chunk.choices[0].delta.content)
assert "".join(parts) == WANT, parts
print("openai chat stream: ok")

try:
    openai.OpenAI(base_url=URL + "/v1", api_key="hsk-wrong", max_retries=0).chat.completions.create(
        model="custom:mock:m1", messages=[{"role": "user", "content": "hi"}]
    )
    raise SystemExit("a wrong client key was accepted")
except openai.AuthenticationError:
    print("openai wrong key: 401")

an = anthropic.Anthropic(base_url=URL, api_key=KEY, max_retries=0)
m = an.messages.create(model="claude-sonnet-4", max_tokens=20, messages=[{"role": "user", "content": "hi"}])
assert m.content[0].text == WANT, m
print("anthropic messages: ok")

with an.messages.stream(
    model="claude-sonnet-4", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
) as stream:
    text = "".join(stream.text_stream)
assert text == WANT, text
print("anthropic messages stream: ok")

try:
    anthropic.Anthropic(base_url=URL, api_key="hsk-wrong", max_retries=0).messages.create(
        model="claude-sonnet-4", max_tokens=20, messages=[{"role": "user", "content": "hi"}]
    )
    raise SystemExit("a wrong client key was accepted")
except anthropic.AuthenticationError:
    print("anthropic wrong key: 401")
