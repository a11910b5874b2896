#!/usr/bin/env python3
"""Text that must not silently disappear, through the native CLI (issue #8, items 6, 7, 8, and
14's CGI part). Run by tests/run-all.sh as the `cli-text` suite:

    EDGEQ=build/native/edgeq python3 tests/cli/text.py

- A token longer than any fixed buffer (tests/tools/long_token.py gives SmolLM2's " Paris" a
  3000-byte text with a NUL inside): `run`, `chat` and `serve` (JSON and SSE) print all of it.
- NUL characters in request strings: kept in contents (tokenized as their byte), matched by
  length in stop strings, refused (400 naming the field) in roles, the model name and keys.
- Invalid UTF-8: every response is valid UTF-8 JSON (the model name echoed with U+FFFD, error
  messages cut between characters).
- CGI: CONTENT_LENGTH must be digits (400), announce no more than the limit (413) and no more
  than the body holds (400); a 405 says `Allow: POST`.

Environment: EDGEQ (default build/native/edgeq), EQ_MODEL (default scripts/get-model.sh).
Prints one line per check and "cli-text: N passed, N failed"; exits 1 on any failure.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EDGEQ = os.environ.get("EDGEQ", os.path.join(ROOT, "build/native/edgeq"))
MODEL = os.environ.get("EQ_MODEL") or subprocess.run(["bash", os.path.join(ROOT, "scripts/get-model.sh")],
                                                     capture_output=True, text=True, check=True).stdout.strip()
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}" + (f"\n     {detail}" if detail else ""))
    sys.stdout.flush()


def edgeq(args, stdin=b"", env=None):
    e = {k: v for k, v in os.environ.items() if k not in ("REQUEST_METHOD", "CONTENT_LENGTH", "EDGEQ_MODEL")}
    e.update(env or {})
    return subprocess.run([EDGEQ] + args, input=stdin, capture_output=True, env=e, timeout=300)


def serve(body, model=MODEL, env=None):
    """(rc, raw stdout, parsed JSON or SSE events or None, decode error or None)"""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    p = edgeq(["serve", "-m", model, "-c", "512"], body, env)
    raw = p.stdout
    try:
        text = raw.decode("utf-8")   # strict: every response must be valid UTF-8
    except UnicodeDecodeError as ex:
        return p.returncode, raw, None, f"invalid UTF-8: {ex}"
    if env and "REQUEST_METHOD" in env:
        text = text.partition("\n\n")[2]
    try:
        if text.startswith("data: "):
            blocks = [b[len("data: "):] for b in text.split("\n\n") if b]
            assert blocks[-1] == "[DONE]", blocks[-1]
            return p.returncode, raw, [json.loads(b) for b in blocks[:-1]], None
        return p.returncode, raw, json.loads(text), None
    except Exception as ex:  # noqa: BLE001
        return p.returncode, raw, None, f"not JSON: {ex}: {text[:200]!r}"


def content(j):
    if isinstance(j, list):   # SSE events
        return "".join(e["choices"][0]["delta"].get("content", "") for e in j if e.get("choices"))
    return j["choices"][0]["message"]["content"]


def error_of(j):
    return j.get("error", {}) if isinstance(j, dict) else {}


tmp = tempfile.mkdtemp(prefix="edgeq-text-")
lt_model = os.path.join(tmp, "long-token.gguf")


def long_token():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tests/tools/long_token.py"), MODEL, lt_model],
                         capture_output=True, text=True)
    if out.returncode:
        check("long_token.py makes the model", False, out.stderr[-300:])
        return
    long = json.loads(out.stdout)["text"]
    lb = long.encode()
    check(f"the long token: {len(lb)} bytes with a NUL inside", len(lb) > 2048 and "\0" in long)

    p = edgeq(["run", "-m", lt_model, "-p", "The capital of France is", "-n", "4", "--temp", "0"])
    check("run: the whole long token on stdout", p.returncode == 0 and lb in p.stdout,
          f"rc {p.returncode}, {len(p.stdout)} bytes: {p.stdout[:80]!r}...{p.stdout[-40:]!r}")
    p = edgeq(["chat", "-m", lt_model, "-n", "24", "--temp", "0"], b"What is the capital of France?\n\n")
    check("chat: the whole long token in the reply", p.returncode == 0 and lb in p.stdout,
          f"rc {p.returncode}, {len(p.stdout)} bytes: {p.stdout[:80]!r}...{p.stdout[-40:]!r}")

    q = {"messages": [{"role": "user", "content": "What is the capital of France?"}], "max_tokens": 12, "temperature": 0}
    rc, raw, j, bad = serve(q, lt_model)
    text = content(j) if j else ""
    check("serve: the whole long token in the completion (NUL included)", rc == 0 and long in text,
          bad or f"rc {rc}: {text[:80]!r}...")
    rc, raw, evs, bad = serve(dict(q, stream=True), lt_model)
    check("serve, streamed: the deltas hold the whole long token, the same text",
          rc == 0 and evs and content(evs) == text and long in content(evs), bad or f"rc {rc}: {raw[:200]!r}")


Q = {"messages": [{"role": "user", "content": "Hi there"}], "max_tokens": 1, "temperature": 0}


def prompt_tokens(body):
    rc, raw, j, bad = serve(body)
    return j["usage"]["prompt_tokens"] if rc == 0 and j and "usage" in j else f"rc {rc} {bad or raw[:200]!r}"


def nul():
    base = prompt_tokens(Q)
    hi = prompt_tokens(dict(Q, messages=[{"role": "user", "content": "Hi"}]))
    got = prompt_tokens(dict(Q, messages=[{"role": "user", "content": "Hi\0 there"}]))
    check(f"content 'Hi\\u0000 there': tokenized whole ({got} tokens; 'Hi there' {base}, 'Hi' {hi})",
          isinstance(base, int) and got == base + 1, str(got))
    got = prompt_tokens(dict(Q, messages=[{"role": "user", "content": [{"type": "text", "text": "Hi\0 there"}]}]))
    check("text part 'Hi\\u0000 there': tokenized whole", isinstance(base, int) and got == base + 1, str(got))
    raw = json.dumps(Q).replace("Hi there", "Hi\\u0000 there").encode().replace(b"\\u0000", b"\0")
    got = prompt_tokens(raw)
    check("a raw 0 byte inside a string: the same as \\u0000", isinstance(base, int) and got == base + 1, str(got))

    for name, body, param in (
        ("role 'user\\u0000evil'", dict(Q, messages=[{"role": "user\0evil", "content": "Hi"}]), "messages[0].role"),
        ("model 'a\\u0000b'", dict(Q, model="a\0b"), "model"),
        ("key 'messages\\u0000x'", json.dumps(Q).replace('"messages"', '"messages\\u0000x"', 1), None),
    ):
        rc, raw, j, bad = serve(body)
        e = error_of(j)
        check(f"{name}: 400 invalid_value naming it", rc == 1 and e.get("code") == "invalid_value" and e.get("param") == param
              and "NUL" in e.get("message", ""), bad or f"rc {rc} {raw[:300]!r}")
    rc, raw, j, bad = serve(dict(Q, messages=[{"role": "user", "content": [{"type": "text\0x", "text": "Hi"}]}]))
    check("part type 'text\\u0000x' is not 'text'", rc == 1 and error_of(j).get("code") == "unsupported_value", bad or raw[:200])
    rc, raw, j, bad = serve(json.dumps(Q).replace("Hi there", "Hi \\uzz12 there"))
    check("a \\u escape without hex digits: invalid_json (not a NUL)", rc == 1 and error_of(j).get("code") == "invalid_json"
          and "\\u escape" in error_of(j).get("message", ""), bad or raw[:200])

    q = {"messages": [{"role": "user", "content": "What is 2+2?"}], "max_tokens": 16, "temperature": 0}
    rc, raw, j, bad = serve(q)
    full = content(j) if j else ""
    stop = next((c for c in full[1:] if c.isalpha()), None)
    if not stop:
        check("greedy completion to take a stop character from", False, full)
        return
    for stream in (False, True):
        rc, raw, j, bad = serve(dict(q, stop=[stop + "\0"], stream=stream))
        got = content(j) if j else None
        check(f"stop {stop!r}+'\\u0000' ({'streamed' if stream else 'whole'}): matched whole, so never here (not as {stop!r})",
              rc == 0 and got == full, bad or f"{got!r} vs {full!r}")


def utf8():
    body = json.dumps(dict(Q, model="MODEL")).encode().replace(b"MODEL", b"\xff\xfe caf\xc3 ok")
    for stream in (False, True):
        b = body if not stream else body[:-1] + b', "stream": true}'
        rc, raw, j, bad = serve(b)
        model = (j[0] if isinstance(j, list) else j or {}).get("model")
        check(f"model with invalid UTF-8 ({'SSE' if stream else 'JSON'}): valid UTF-8, echoed with U+FFFD",
              rc == 0 and model == "\ufffd\ufffd caf\ufffd ok", bad or f"{model!r}")
    role = "x" + "\u03b1" * 50
    rc, raw, j, bad = serve(dict(Q, messages=[{"role": role, "content": "Hi"}]))
    msg = error_of(j).get("message", "")
    check("unknown 51-character role: the error quotes 40 whole characters then '...'",
          rc == 1 and f"'{role[:40]}...'" in msg and "\ufffd" not in msg, bad or msg)
    rc, raw, j, bad = serve(b'{"messages": [{"role": "us\xffer", "content": "Hi"}]}')
    msg = error_of(j).get("message", "")
    check("role with invalid UTF-8: valid UTF-8 error quoting it with U+FFFD", rc == 1 and "'us\ufffder'" in msg, bad or msg)
    rc, raw, j, bad = serve(b'{"messages": [{"role": "user", "content": "caf\xe9 \xff\xfe bad utf-8"}], "max_tokens": 4}')
    check("content with invalid UTF-8: answered, valid UTF-8", rc == 0 and j and j.get("object") == "chat.completion", bad or raw[:200])
    rc, raw, j, bad = serve(Q, env={"REQUEST_METHOD": "G\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9T"})
    check("CGI method with non-ASCII: valid UTF-8 405", rc == 0 and error_of(j).get("code") == "method_not_allowed", bad or raw[:200])


def cgi():
    body = json.dumps(Q).encode()
    env = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json"}

    def head_and(res):
        raw = res[1]
        head = raw.partition(b"\n\n")[0].decode("utf-8", "replace").lower().split("\n")
        return head, error_of(res[2])

    for cl, status, code in (("99999999999999999999999", "413", "request_too_large"),
                             ("18446744073709551617", "413", "request_too_large"),
                             ("abc", "400", "invalid_content_length"), ("12abc", "400", "invalid_content_length"),
                             ("-5", "400", "invalid_content_length"), (" 40", "400", "invalid_content_length"),
                             (str(len(body) + 100), "400", "incomplete_body")):
        res = serve(body, env=dict(env, CONTENT_LENGTH=cl))
        head, e = head_and(res)
        check(f"CGI: CONTENT_LENGTH {cl!r} -> {status} {code}", res[0] == 0 and f"status: {status}" in " ".join(head)
              and e.get("code") == code, res[3] or f"{head} {e}")
    res = serve(body, env=dict(env, CONTENT_LENGTH=str(len(body))))
    check("CGI: an exact CONTENT_LENGTH still answers", res[0] == 0 and res[2] and res[2].get("object") == "chat.completion",
          res[3] or res[1][:200])
    res = serve(body, env={"REQUEST_METHOD": "GET"})
    head, e = head_and(res)
    check("CGI: GET -> 405 with 'Allow: POST'", "status: 405 method not allowed" in head and "allow: post" in head
          and e.get("code") == "method_not_allowed", f"{head} {e}")


def main():
    for f in (EDGEQ, MODEL):
        if not os.path.exists(f):
            print(f"missing {f}")
            print("cli-text: 0 passed, 1 failed")
            return 1
    try:
        long_token()
        nul()
        utf8()
        cgi()
    finally:
        if os.path.exists(lt_model):
            os.remove(lt_model)
        os.rmdir(tmp)
    print(f"cli-text: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
