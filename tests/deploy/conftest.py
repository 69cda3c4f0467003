"""What the deployment tests share: the image (images.py builds it with podman) and a fresh `Pod` (pods.py) per
test."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import images  # noqa: E402
from pods import Pod  # noqa: E402


@pytest.fixture(scope="session")
def image():
    """The repository's Dockerfile built on a Debian base (cached by content: images.py)."""
    try:
        return images.rlocust_image()
    except images.Missing as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def pod(image):
    """`pod(names)`: a new Pod whose namespace resolves `names` (the launcher's Service names) to 127.0.0.1."""
    made = []

    def make(names):
        p = Pod(image, names)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def files(tmp_path):
    """`files(dict)`: a directory with these files (a ConfigMap's keys), readable by the image's user."""

    def make(contents: dict[str, str], name="cm"):
        d = tmp_path / name
        d.mkdir()
        d.chmod(0o755)
        for rel, text in contents.items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.parent.chmod(0o755)
            p.write_text(text)
            p.chmod(0o644)
        return d

    return make
