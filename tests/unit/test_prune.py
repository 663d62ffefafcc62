"""Which old images of a build go, and what says which build an image is (no Docker needed)."""

from __future__ import annotations

from pathlib import Path

from pytest_lambda_container.build.prune import LABEL_BUILD, Candidate, build_labels, select
from pytest_lambda_container.engine.hygiene import LABEL

NOW = 1_000_000.0


def image(name: str, age: float, *, tags: tuple[str, ...] | None = None) -> Candidate:
    return Candidate(id=name, tags=(f"pytest-lambda-container/fn:{name}",) if tags is None else tags, created=NOW - age)


def ids(images: list[Candidate]) -> list[str]:
    return [i.id for i in images]


def test_the_current_image_and_the_newest_others_stay():
    images = [image(n, age) for n, age in (("a", 5000), ("b", 4000), ("c", 3000), ("d", 2000), ("e", 1000))]
    # "a" is the one in use now (an unchanged old version came back): it stays, with the two newest others.
    chosen = select(images, current="a", in_use=set(), built_here=set(), now=NOW)
    assert ids(chosen) == ["c", "b"]


def test_images_a_container_uses_stay():
    images = [image(n, age) for n, age in (("a", 5000), ("b", 4000), ("c", 3000), ("d", 2000))]
    assert ids(select(images, current="d", in_use=set(), built_here=set(), now=NOW)) == ["a"]
    assert ids(select(images, current="d", in_use={"a"}, built_here=set(), now=NOW)) == []


def test_an_image_another_process_just_built_stays_but_our_own_go():
    images = [image(n, age) for n, age in (("a", 60), ("b", 50), ("c", 40), ("d", 30))]
    assert ids(select(images, current="d", in_use=set(), built_here=set(), now=NOW)) == []
    assert ids(select(images, current="d", in_use=set(), built_here={"a"}, now=NOW)) == ["a"]


def test_an_image_only_the_user_tagged_is_never_taken():
    images = [image("a", 9000, tags=()), image("b", 3000), image("c", 2000), image("d", 1000)]
    assert ids(select(images, current="d", in_use=set(), built_here=set(), now=NOW)) == []
    dangling = Candidate(id="a", tags=(), created=NOW - 9000, dangling=True)
    assert ids(select([dangling, *images[1:]], current="d", in_use=set(), built_here=set(), now=NOW)) == ["a"]


def test_the_build_is_named_by_its_labels_not_its_folder(tmp_path: Path):
    one, two = tmp_path / "one" / "fn", tmp_path / "two" / "fn"  # two projects, one folder name
    labels = build_labels(one / "Dockerfile", one, {"A": "1"}, None)
    assert labels[LABEL] == "1"
    assert labels[LABEL_BUILD] != build_labels(two / "Dockerfile", two, {"A": "1"}, None)[LABEL_BUILD]
    assert labels[LABEL_BUILD] != build_labels(one / "Dockerfile.aws", one, {"A": "1"}, None)[LABEL_BUILD]
    assert labels[LABEL_BUILD] != build_labels(one / "Dockerfile", one, {"A": "2"}, None)[LABEL_BUILD]
    assert labels[LABEL_BUILD] != build_labels(one / "Dockerfile", one, {"A": "1"}, "linux/arm64")[LABEL_BUILD]
    assert labels[LABEL_BUILD] == build_labels(one / "Dockerfile", one, {"A": "1"}, None)[LABEL_BUILD]
    secret = build_labels(one / "Dockerfile", one, {"TOKEN": "s3cret"}, None)
    assert not [value for value in secret.values() if "s3cret" in value]
