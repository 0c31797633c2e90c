#!/usr/bin/python3
"""The shop page in real headless Chromium (Debian's chromium + chromium-driver, driven by
python3-selenium): loads the page from `deepcart serve`, uses all four panels and checks that
each shows its result. Saves a screenshot with --screenshot.

Usage: browser_test.py --deepcart BIN [--demo DIR | --demo-cache DIR] [--screenshot PNG]
Without --demo it runs `deepcart demo --epochs 2` first: into --demo-cache once (shared with the
serve tests, under a lock), or else into a temporary folder.
Exit 0 = passed, 1 = failed, 77 = skipped (Chromium missing, outside CI).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fail(message):
    print("FAILED: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--deepcart", required=True)
    p.add_argument("--demo")
    p.add_argument("--demo-cache", help="a demo folder shared with the serve tests: made once, under a lock")
    p.add_argument("--screenshot")
    args = p.parse_args()

    missing = [path for path in ("/usr/bin/chromium", "/usr/bin/chromedriver") if not os.path.exists(path)]
    try:
        from selenium import webdriver
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        missing.append("python3-selenium")
    if missing:
        message = "missing " + ", ".join(missing) + " (scripts/setup.sh installs them)"
        if os.environ.get("CI") == "true":
            fail(message)
        print("SKIPPED: " + message)
        sys.exit(SKIP)

    work = tempfile.mkdtemp(prefix="deepcart_browser_")
    server = None
    driver = None
    try:
        demo = args.demo
        if not demo and args.demo_cache:
            import fcntl
            demo = args.demo_cache
            with open(demo + ".lock", "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                # "done" holds the binary's modification time: a rebuilt deepcart makes the demo again.
                stamp = str(os.stat(args.deepcart).st_mtime_ns)
                done_path = os.path.join(demo, "done")
                current = open(done_path).read() if os.path.exists(done_path) else ""
                if current != stamp:
                    shutil.rmtree(demo, ignore_errors=True)
                    with open(demo + ".log", "w") as log:
                        subprocess.run([args.deepcart, "demo", "--quiet", "--epochs", "2", "--out", demo], check=True,
                                       stdout=log, stderr=log)
                    with open(done_path, "w") as done:
                        done.write(stamp)
        if not demo:
            demo = os.path.join(work, "demo")
            subprocess.run([args.deepcart, "demo", "--quiet", "--epochs", "2", "--out", demo], check=True,
                           stdout=subprocess.DEVNULL)
        token = "browser-test-token"
        server = subprocess.Popen([args.deepcart, "serve", "--models", os.path.join(demo, "models"), "--port", "0",
                                   "--token", token, "--no-log"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        m = re.search(r"http://[\d.]+:(\d+)/", line)
        if not m:
            fail("the server did not start: " + line + server.stderr.read())
        url = m.group(0)

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                     "--window-size=1400,1700", "--user-data-dir=" + os.path.join(work, "profile")):
            options.add_argument(flag)
        service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver") if hasattr(webdriver, "ChromeService") \
            else webdriver.chrome.service.Service(executable_path="/usr/bin/chromedriver")
        driver = webdriver.Chrome(service=service, options=options)
        wait = WebDriverWait(driver, 30)
        driver.get(url + "#token=" + token)
        wait.until(lambda d: "rec-sasrec" in d.find_element(By.ID, "models").text)

        # 1. A customer's recommendations, with "because you bought" reasons.
        user = driver.find_element(By.ID, "user")
        user.clear()
        user.send_keys("u00001")
        driver.find_element(By.ID, "recommend-go").click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#recommend-out .rec-item")) > 0)
        recs = driver.find_elements(By.CSS_SELECTOR, "#recommend-out .rec-item")
        if "because you bought" not in recs[0].text:
            fail("no reason on the first recommendation: " + recs[0].text)
        wait.until(lambda d: d.execute_script(
            "const imgs = document.querySelectorAll('#recommend-out img');"
            "return imgs.length > 0 && Array.from(imgs).every(i => i.complete && i.naturalWidth > 0)"))

        # 2. A catalogue product: category, and look-alikes with pictures.
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#catalogue .product")) > 0)
        driver.find_elements(By.CSS_SELECTOR, "#catalogue .product")[0].click()
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#lookalikes .card")) > 0)
        product = driver.find_element(By.ID, "product-out").text
        if "%" not in product:
            fail("no category confidence in the product panel: " + product)
        # Pictures load after the cards appear: wait for every one to have decoded.
        wait.until(lambda d: d.execute_script(
            "return Array.from(document.querySelectorAll('#lookalikes img')).every(i => i.complete && i.naturalWidth > 0)"))

        # 3. A review: sentiment, stars, highlighted words.
        driver.find_element(By.ID, "review-go").click()
        wait.until(lambda d: d.find_elements(By.ID, "sentiment"))
        sentiment = driver.find_element(By.ID, "sentiment").text
        # The demo names the clothing model's labels (--label-names), so the page shows them.
        if "recommended" not in sentiment or "stars" not in sentiment or len(driver.find_elements(By.CSS_SELECTOR, "#review-out .tok")) < 3:
            fail("review panel incomplete: " + sentiment)

        # 4. A question: its intent and the answer.
        driver.find_element(By.ID, "question-go").click()
        wait.until(lambda d: d.find_elements(By.ID, "intent"))
        intent = driver.find_element(By.ID, "intent").text
        if "track_order" not in intent:
            fail("expected the track_order intent, found: " + intent)

        if args.screenshot:
            driver.execute_script("window.scrollTo(0, 0)")
            driver.save_screenshot(args.screenshot)
        print("browser test passed: recommendations (%d), product '%s', review '%s', question '%s'"
              % (len(recs), product.splitlines()[0], sentiment, intent))
    finally:
        if driver:
            driver.quit()
        if server:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
