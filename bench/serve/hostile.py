#!/usr/bin/env python3
"""Slow and greedy clients against a running `deepcart serve`, measured from outside.

1. slow: N connections that each drip one header byte per second (reconnecting when the server
   cuts them, as an attacker would) plus N idle connections, while one well-behaved client
   calls /healthz and /v1/recommend back to back on a keep-alive connection. Reports that
   client's latency percentiles and errors.
2. upload: M parallel chunked uploads of SIZE bytes each, to a route, and the server's RSS
   (VmRSS sampled every 20 ms) before, at its peak, and after.

Usage: hostile.py --port P --pid PID [--token T] [--slow 300] [--seconds 30]
                  [--uploads 10] [--upload-mb 300] [--upload-path /healthz] [--only slow|upload]
Python's asyncio only; run it alone (it shares the 2 cores with the server).
"""
import argparse
import asyncio
import json
import statistics
import time


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def drip(port, stop, counters):
    """One header byte per second, forever; reconnects when the server closes the connection."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            counters["connects"] += 1
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Drip: ")
            await writer.drain()
            while not stop.is_set():
                await asyncio.sleep(1)
                if reader.at_eof():
                    break
                writer.write(b"a")
                await writer.drain()
            writer.close()
        except (ConnectionError, OSError):
            counters["cut"] += 1
            await asyncio.sleep(0.1)


async def idle(port, stop, counters):
    """Connects and sends nothing; reconnects when cut."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            counters["connects"] += 1
            try:
                await asyncio.wait_for(reader.read(1), timeout=3600)
            except asyncio.TimeoutError:
                pass
            writer.close()
        except (ConnectionError, OSError):
            await asyncio.sleep(0.1)


async def request(reader, writer, method, path, body=b"", token=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    writer.write(head.encode() + b"\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def normal_client(port, token, seconds, results):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for path, method, body in (("/healthz", "GET", b""),
                                   ("/v1/recommend", "POST", json.dumps({"model": "rec-sasrec", "user": f"u{n % 1500 + 1:05d}", "k": 10}).encode())):
            t0 = time.monotonic()
            try:
                status = await asyncio.wait_for(request(reader, writer, method, path, body, token), timeout=30)
            except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                results[path]["errors"] += 1
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            results[path]["ms"].append((time.monotonic() - t0) * 1000)
            if status != 200:
                results[path]["errors"] += 1
        n += 1
        await asyncio.sleep(0.01)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


async def slow_phase(args):
    stop = asyncio.Event()
    counters = {"connects": 0, "cut": 0}
    tasks = [asyncio.create_task(drip(args.port, stop, counters)) for _ in range(args.slow)]
    tasks += [asyncio.create_task(idle(args.port, stop, counters)) for _ in range(args.slow)]
    await asyncio.sleep(3)  # let them all connect
    rss_before = rss_mb(args.pid)
    results = {p: {"ms": [], "errors": 0} for p in ("/healthz", "/v1/recommend")}
    await normal_client(args.port, args.token, args.seconds, results)
    rss_after = rss_mb(args.pid)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(f"slow: {args.slow} dripping (1 byte/s, reconnecting) + {args.slow} idle connections, "
          f"{counters['connects']} connects in all, {args.seconds} s; server RSS {rss_before:.1f} -> {rss_after:.1f} MB")
    print("| route | requests | p50 ms | p99 ms | max ms | errors |")
    print("|---|---|---|---|---|---|")
    for path, r in results.items():
        ms = r["ms"]
        print(f"| {path} | {len(ms)} | {percentile(ms, 50):.2f} | {percentile(ms, 99):.2f} | "
              f"{max(ms) if ms else float('nan'):.2f} | {r['errors']} |")


async def upload(port, path, total, token, statuses):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        writer.write(head.encode() + b"\r\n")
        chunk = b" " * (1 << 16)
        frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
        sent = 0
        answer = asyncio.create_task(reader.readline())
        while sent < total and not answer.done():
            writer.write(frame)
            await writer.drain()
            sent += len(chunk)
        if not answer.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        line = await asyncio.wait_for(answer, timeout=60)
        statuses.append((int(line.split()[1]) if line else 0, sent))
        writer.close()
    except (ConnectionError, OSError, asyncio.TimeoutError) as e:
        statuses.append((f"connection: {type(e).__name__}", 0))


async def upload_phase(args):
    peak = [rss_mb(args.pid)]
    before = peak[0]
    done = asyncio.Event()

    async def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(args.pid))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    statuses = []
    t0 = time.monotonic()
    await asyncio.gather(*[upload(args.port, args.upload_path, args.upload_mb << 20, args.upload_token, statuses)
                           for _ in range(args.uploads)])
    seconds = time.monotonic() - t0
    done.set()
    await sampler
    await asyncio.sleep(0.5)
    after = rss_mb(args.pid)
    answered = sorted(set(str(s) for s, _ in statuses))
    sent = max(b for _, b in statuses) / (1 << 20)
    print(f"upload: {args.uploads} parallel chunked uploads of up to {args.upload_mb} MB to {args.upload_path} "
          f"({'with' if args.upload_token else 'without'} the token): answers {answered}, at most {sent:.1f} MB sent "
          f"before the answer, {seconds:.1f} s; server RSS {before:.1f} MB before, {peak[0]:.1f} peak "
          f"(+{peak[0] - before:.1f}), {after:.1f} after")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--token")
    ap.add_argument("--slow", type=int, default=300)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--uploads", type=int, default=10)
    ap.add_argument("--upload-mb", type=int, default=300)
    ap.add_argument("--upload-path", default="/healthz")
    ap.add_argument("--upload-with-token", action="store_true", help="send the token with the uploads")
    ap.add_argument("--only", choices=["slow", "upload"])
    args = ap.parse_args()
    args.upload_token = args.token if args.upload_with_token else None
    if args.only != "upload":
        asyncio.run(slow_phase(args))
    if args.only != "slow":
        asyncio.run(upload_phase(args))


if __name__ == "__main__":
    main()
