#!/usr/bin/env python3
"""Serving throughput for bench/gpu/run.sh: starts `deepcart serve` with a SASRec recommender and
the CNN image classifier, loads POST /v1/recommend and POST /v1/images/classify with C concurrent
keep-alive connections for S seconds each (wrk when it is installed, else Python threads, one
connection each), and prints one JSON object: per route, requests/s, p50 and p99 latency in ms,
non-2xx answers and errors. Standard library only."""
import argparse, gzip, http.client, json, os, re, shutil, signal, socket, struct, subprocess, sys, tempfile, threading, time, urllib.request, zlib


def png_from_fashion_mnist(path, index=0):
    """PNG bytes (8-bit grey) of test image `index` of Fashion-MNIST's t10k-images .gz file."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    rows, cols = struct.unpack(">II", data[8:16])
    start = 16 + index * rows * cols
    pixels = data[start:start + rows * cols]
    raw = b"".join(b"\0" + pixels[r * cols:(r + 1) * cols] for r in range(rows))
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", cols, rows, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def python_load(port, method, path, bodies, headers, seconds, conns):
    """Each of `conns` threads sends requests back to back on its own connection."""
    lat, errors, non2xx, lock = [], [0], [0], threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(k):
        mine, errs, bad, n = [], 0, 0, k

        def connect():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.connect()
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return c

        conn = connect()
        while time.perf_counter() < stop_at:
            body = bodies[n % len(bodies)]
            n += conns
            t = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                res = conn.getresponse()
                res.read()
                if not 200 <= res.status < 300:
                    bad += 1
                mine.append(time.perf_counter() - t)
            except Exception:
                errs += 1
                conn.close()
                try:
                    conn = connect()
                except OSError:
                    time.sleep(0.01)
        conn.close()
        with lock:
            lat.extend(mine)
            errors[0] += errs
            non2xx[0] += bad

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    lat.sort()
    pct = lambda q: 1000 * lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
    return {"client": f"python threads ({conns} connections; the GIL may cap the rate)", "requests": len(lat),
            "seconds": took, "requests_per_second": len(lat) / took, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "non_2xx": non2xx[0], "errors": errors[0]}


def wrk_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1000.0}[m.group(2)]


def wrk_load(port, script, seconds, conns, env):
    out = subprocess.run(["wrk", "-t4", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", script,
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, env=env,
                         timeout=seconds + 30).stdout

    def grab(pattern, default=None):
        m = re.search(pattern, out, re.M)
        return m.group(1) if m else default

    return {"client": f"wrk -t4 -c{conns}", "requests": int(grab(r"^\s*(\d+) requests in", "0")),
            "seconds": seconds, "requests_per_second": float(grab(r"^Requests/sec:\s*([\d.]+)", "nan")),
            "p50_ms": wrk_ms(grab(r"^\s*50%\s+(\S+)", "")), "p99_ms": wrk_ms(grab(r"^\s*99%\s+(\S+)", "")),
            "non_2xx": int(grab(r"Non-2xx or 3xx responses:\s*(\d+)", "0")),
            "errors": grab(r"^\s*Socket errors:\s*(.*)$", 0)}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--deepcart", required=True)
    p.add_argument("--sasrec", required=True, help="SASRec ModelFile trained on --users-file")
    p.add_argument("--cnn", required=True, help="image classifier ModelFile (Fashion-MNIST)")
    p.add_argument("--users-file", required=True, help="the user-sequence file SASRec was trained on")
    p.add_argument("--fashion-mnist", required=True, help="folder holding t10k-images-idx3-ubyte.gz")
    p.add_argument("--port", type=int, default=8399)
    p.add_argument("--seconds", type=int, default=8)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--device", default="cuda")
    p.add_argument("--log", default=os.devnull)
    args = p.parse_args()

    users = []
    with open(args.users_file) as f:
        for line in f:
            if line.split():
                users.append(line.split()[0])
            if len(users) >= 2000:
                break
    image = png_from_fashion_mnist(os.path.join(args.fashion_mnist, "t10k-images-idx3-ubyte.gz"))
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "image.png"), "wb") as f:
        f.write(image)

    log = open(args.log, "w")
    cmd = [args.deepcart, "serve", "--model", f"rec-sasrec={args.sasrec}", "--model", f"vision-cnn={args.cnn}",
           "--device", args.device, "--port", str(args.port), "--no-log", "--quiet"]
    log.write(" ".join(cmd) + "\n")
    log.flush()
    t_start = time.perf_counter()
    server = subprocess.Popen(cmd, stdout=log, stderr=log)
    result = {"server": " ".join(cmd[1:]), "routes": {}}
    try:
        for _ in range(600):
            if server.poll() is not None:
                raise SystemExit(f"deepcart serve exited with {server.returncode} (see {args.log})")
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{args.port}/readyz", timeout=1).status == 200:
                    break
            except Exception:
                time.sleep(0.1)
        else:
            raise SystemExit("deepcart serve was not ready within 60 s")
        result["ready_seconds"] = time.perf_counter() - t_start
        routes = {
            "/v1/recommend (sasrec, k 10)": ("POST", "/v1/recommend",
                                             [json.dumps({"model": "rec-sasrec", "user": u, "k": 10}).encode() for u in users],
                                             {"Content-Type": "application/json"}),
            "/v1/images/classify (cnn, one PNG)": ("POST", "/v1/images/classify?model=vision-cnn", [image],
                                                   {"Content-Type": "image/png"}),
        }
        for name, (method, path, bodies, headers) in routes.items():
            python_load(args.port, method, path, bodies, headers, 1, 4)  # warm-up: first CUDA calls
            if shutil.which("wrk"):
                script = os.path.join(tmp, "route.lua")
                with open(script, "w") as f:
                    if path.startswith("/v1/recommend"):
                        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal n = 0\n'
                                "local users = {" + ",".join(json.dumps(u) for u in users) + "}\n"
                                "request = function()\n  n = n + 1\n"
                                "  local body = string.format('{\"model\": \"rec-sasrec\", \"user\": \"%s\", \"k\": 10}', users[(n % #users) + 1])\n"
                                '  return wrk.format(nil, "/v1/recommend", nil, body)\nend\n')
                    else:
                        f.write('local f = assert(io.open(os.getenv("IMAGE"), "rb"))\nwrk.method = "POST"\n'
                                f'wrk.path = "{path}"\nwrk.headers["Content-Type"] = "image/png"\n'
                                "wrk.body = f:read(\"*a\")\nf:close()\n")
                env = dict(os.environ, IMAGE=os.path.join(tmp, "image.png"))
                result["routes"][name] = wrk_load(args.port, script, args.seconds, args.connections, env)
            else:
                result["routes"][name] = python_load(args.port, method, path, bodies, headers, args.seconds, args.connections)
                result["routes"][name]["note"] = "wrk not installed: Python client"
            print(f"serve: {name}: {result['routes'][name]['requests_per_second']:.0f} req/s, "
                  f"p99 {result['routes'][name]['p99_ms']:.2f} ms", file=sys.stderr)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
