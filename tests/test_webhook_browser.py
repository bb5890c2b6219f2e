"""The upload form in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by .ci/run) driven by Selenium, against the app served by
uvicorn on 127.0.0.1. Open the page, choose a real photo, submit, read the breed. The API docs
pages (/docs, /redoc) must render from the app's own files: the browser cannot resolve any
other host, as on a machine without internet access.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
PHONE = (390, 844)  # CSS pixels of a common phone


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    import uvicorn

    from webhook.main import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="uvicorn-browser-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "headless Chromium is not installed (apt-get install chromium chromium-driver; "
            ".ci/run does this)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="breedbot-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        # Offline: every host name but the test server's loopback address fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
        f"--window-size={PHONE[0]},{PHONE[1]}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _upload(browser, server: str, photo: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/breed-classifier")
    assert "breed" in browser.title.lower()
    browser.find_element(By.ID, "file").send_keys(str(photo))
    browser.find_element(By.ID, "submit").click()
    wait = WebDriverWait(browser, 30)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#answer, #error")))
    return browser


def test_upload_a_photo_and_see_the_breed(browser, server):
    from selenium.webdriver.common.by import By

    _upload(browser, server, PHOTOS / "dog_beagle.jpg")
    assert browser.find_element(By.ID, "answer").text.strip() == "Beagle"
    top = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#top li")]
    assert len(top) == 3 and top[0].startswith("Beagle")
    preview = browser.find_element(By.ID, "preview")
    assert browser.execute_script("return arguments[0].naturalWidth", preview) > 0
    # Phone-sized viewport: nothing wider than the screen.
    scroll, client = browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll <= client
    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    browser.save_screenshot(str(out / "form-beagle.png"))


def test_a_photo_without_a_pet_says_so(browser, server):
    from selenium.webdriver.common.by import By

    _upload(browser, server, PHOTOS / "nonpet_food.jpg")
    assert browser.find_element(By.ID, "answer").text == "No cat or dog found in this photo."


def test_a_file_that_is_not_an_image_gets_a_friendly_error(browser, server, tmp_path):
    from selenium.webdriver.common.by import By

    notes = tmp_path / "notes.jpg"
    notes.write_text("this is not a photo")
    _upload(browser, server, notes)
    error = browser.find_element(By.ID, "error").text
    assert "not an image" in error


def test_an_iphone_heic_photo_gets_a_breed(browser, server):
    from selenium.webdriver.common.by import By

    _upload(browser, server, PHOTOS / "dog_beagle_rotated.heic")
    assert browser.find_element(By.ID, "answer").text.strip() == "Beagle"
    preview = browser.find_element(By.ID, "preview")
    width, height = browser.execute_script(
        "return [arguments[0].naturalWidth, arguments[0].naturalHeight]", preview
    )
    assert width > height  # turned upright: the HEIC stores the landscape photo sideways


def _resources_from_elsewhere(browser, server: str) -> list[str]:
    names = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return [name for name in names if not name.startswith(server)]


@pytest.mark.parametrize(
    ("path", "ready", "title"),
    [
        ("/docs", ".swagger-ui .info .title", "Breed Bot"),
        ("/redoc", ".api-info h1", "Breed Bot"),
    ],
)
def test_api_docs_render_offline(browser, server, path, ready, title):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(f"{server}{path}")
    heading = WebDriverWait(browser, 30).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ready))
    )
    assert heading.text.startswith(title)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "/api/classify" in body and "Classify a photo of a cat or a dog" in body
    # Nothing was fetched from another host: the one foreign URL (ReDoc's vendor logo) was
    # refused by the page's Content-Security-Policy before any request, and nothing else failed.
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    refused = [m for m in errors if "Content Security Policy" in m and "has been blocked" in m]
    for url in _resources_from_elsewhere(browser, server):
        assert any(url in message for message in refused), url
    assert [m for m in errors if m not in refused] == []
    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    browser.save_screenshot(str(out / f"api-docs{path.replace('/', '-')}.png"))


def test_the_forms_link_opens_the_api_docs(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/breed-classifier")
    browser.find_element(By.LINK_TEXT, "JSON API").click()
    WebDriverWait(browser, 30).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, ".swagger-ui .opblock"))
    )
    assert browser.current_url == f"{server}/docs"


def test_boxes_are_drawn_on_the_preview_for_each_pet(browser, server):
    from selenium.webdriver.common.by import By

    _upload(browser, server, PHOTOS / "scene_cat_and_dog.jpg")
    preview = browser.find_element(By.ID, "preview")
    frame = preview.rect
    boxes = browser.find_elements(By.CSS_SELECTOR, "#preview-frame .box")
    assert len(boxes) == 2
    labels = [b.find_element(By.CSS_SELECTOR, ".box-label").text for b in boxes]
    # The Siamese is unsure between Siamese and Birman, as its close-up is.
    cat = next(i for i, label in enumerate(labels) if "Siamese" in label or "Birman" in label)
    dog = next(i for i, label in enumerate(labels) if "Beagle" in label)
    by_label = {"cat": boxes[cat].rect, "dog": boxes[dog].rect}
    # Drawn over the photo: the cat's box on its left half, the dog's on its right half.
    centre = frame["x"] + frame["width"] / 2
    assert by_label["cat"]["x"] + by_label["cat"]["width"] / 2 < centre
    assert by_label["dog"]["x"] + by_label["dog"]["width"] / 2 > centre
    for rect in by_label.values():
        assert frame["y"] - 1 <= rect["y"] <= frame["y"] + frame["height"]
        assert rect["width"] > 20 and rect["height"] > 20


def test_an_ordinary_cat_is_a_domestic_cat_on_the_form(browser, server):
    from selenium.webdriver.common.by import By

    _upload(browser, server, PHOTOS / "cat_domestic_tabby.jpg")
    assert "domestic cat, no particular breed" in browser.find_element(By.ID, "answer").text
    assert "look-alikes" in browser.find_element(By.ID, "look-alikes").text
