"""scripts/standins.py's pure parts: the images' pip.conf, the rebuild decision, the rootfs rewrite (no Docker,
no network)."""

from __future__ import annotations

import importlib.util
import io
import sys
import tarfile
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name: str):
    """scripts/NAME.py as the module NAME, without putting scripts/ on sys.path for every later test."""
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there; standins imports its neighbours by name
    spec.loader.exec_module(module)
    return module


host_pip = load_script("host_pip")
standin_recipe = load_script("standin_recipe")
standins = load_script("standins")


def pip_conf(listing: str = "", **environ: str) -> str:
    return host_pip.image_pip_conf(host_pip.host_pip_settings(listing, environ), environ)


def settings_lines(conf: str) -> list[str]:
    return [line for line in conf.splitlines() if not line.startswith("#")]


# ---------------------------------------------------------------- pip.conf


def test_nothing_configured_gives_pip_defaults_and_the_host_ca_bundle():
    assert settings_lines(pip_conf()) == ["[global]", "cert = /etc/ssl/certs/ca-certificates.crt"]


def test_remote_indexes_are_kept_and_file_indexes_left_out():
    listing = (
        "global.index-url='https://mirror.example/simple'\n"
        "global.extra-index-url='file:///opt/pypi/simple https://extra.example/simple file:///opt/more'\n"
        "global.find-links='/opt/wheels'\n"
        "global.constraint='/etc/xdg/pip/constraints.txt'\n"
    )
    lines = settings_lines(pip_conf(listing))
    assert "index-url = https://mirror.example/simple" in lines
    assert "extra-index-url = https://extra.example/simple" in lines
    assert not any("file:" in line or "/opt/" in line or "constraint" in line for line in lines)


def test_a_file_index_url_leaves_pips_default_index():
    assert not any(line.startswith("index-url") for line in settings_lines(pip_conf("global.index-url='file:///srv'")))


def test_this_kind_of_machine_host_only_indexes_and_the_timeout_from_the_environment():
    # What `pip config list` says where the package index is on disk: only the timeout travels.
    listing = (
        ":env:.cert='/etc/ssl/certs/ca-certificates.crt'\n"
        ":env:.default-timeout='180'\n"
        ":env:.find-links='/opt/wheels'\n"
        "global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'\n"
    )
    assert settings_lines(pip_conf(listing)) == [
        "[global]",
        "cert = /etc/ssl/certs/ca-certificates.crt",
        "timeout = 180",
    ]


def test_trusted_hosts_proxy_and_timeout():
    listing = "global.trusted-host='a.example b.example'\nglobal.proxy='http://proxy:3128'\nglobal.timeout='42.5'\n"
    lines = settings_lines(pip_conf(listing))
    assert "trusted-host = a.example b.example" in lines
    assert "proxy = http://proxy:3128" in lines
    assert "timeout = 42" in lines


def test_stronger_sources_win_install_over_global_environment_over_both():
    listing = "global.index-url='https://global.example/simple'\ninstall.index-url='https://install.example/simple'\n"
    assert "index-url = https://install.example/simple" in settings_lines(pip_conf(listing))
    env = pip_conf(listing, PIP_INDEX_URL="https://env.example/simple", PIP_TIMEOUT="7")
    assert "index-url = https://env.example/simple" in settings_lines(env)
    assert "timeout = 7" in settings_lines(env)


def test_sections_other_commands_read_are_ignored():
    assert settings_lines(pip_conf("download.index-url='https://download.example/simple'")) == settings_lines(
        pip_conf()
    )


def test_aliases_and_empty_or_odd_values():
    listing = "global.pypi-url='https://alias.example/simple'\nglobal.timeout='soon'\n:env:.proxy=''\nnot a setting\n"
    lines = settings_lines(pip_conf(listing))
    assert "index-url = https://alias.example/simple" in lines
    assert not any(line.startswith(("timeout", "proxy")) for line in lines)


def test_the_proxy_falls_back_on_the_https_proxy_variable():
    assert "proxy = http://squid:3128" in settings_lines(pip_conf(https_proxy="http://squid:3128"))
    pip_proxy = pip_conf("global.proxy='http://pip:1'", https_proxy="http://squid:3128")
    assert "proxy = http://pip:1" in settings_lines(pip_proxy)


# ---------------------------------------------------------------- the rebuild decision

REF = "python:3.11-slim"


@pytest.mark.parametrize(
    ("labels", "rebuild", "build", "says"),
    [
        (None, False, True, "missing"),
        ({}, False, False, "not a stand-in"),
        ({"maintainer": "someone"}, True, False, "not a stand-in"),
        ({standin_recipe.STANDIN_LABEL: ""}, True, False, "not a stand-in"),
        ({standin_recipe.STANDIN_LABEL: "abc"}, False, False, "up to date"),
        ({standin_recipe.STANDIN_LABEL: "abc"}, True, True, "BOOTSTRAP_REBUILD=1"),
        ({standin_recipe.STANDIN_LABEL: "old"}, False, True, "out of date"),
    ],
    ids=["missing", "real image", "real image, rebuild asked", "empty label", "up to date", "forced", "stale"],
)
def test_plan(labels, rebuild, build, says):
    decision = standin_recipe.plan(REF, labels, "abc", rebuild)
    assert decision.build is build
    assert REF in decision.reason and says in decision.reason


def test_the_label_is_the_content_tags_hash(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    (tmp_path / "Dockerfile").chmod(0o644)
    first = standin_recipe.recipe_hash(tmp_path / "Dockerfile", tmp_path, {}, "linux/amd64", ["sha256:base"])
    assert len(first) == 16 and ":" not in first and "/" not in first
    assert first == standin_recipe.recipe_hash(tmp_path / "Dockerfile", tmp_path, {}, "linux/amd64", ["sha256:base"])
    assert first != standin_recipe.recipe_hash(tmp_path / "Dockerfile", tmp_path, {}, "linux/amd64", ["sha256:new"])


def test_the_base_label_follows_the_pip_settings_the_host_cas_and_debootstrap(tmp_path, monkeypatch):
    bundle, extra = tmp_path / "host" / "ca-certificates.crt", tmp_path / "host" / "extra"
    extra.mkdir(parents=True)
    bundle.write_text("bundle 1")
    monkeypatch.setattr(standins, "HOST_CA_BUNDLE", bundle)
    monkeypatch.setattr(standins, "HOST_EXTRA_CAS", extra)
    made = []

    def label(pip_conf: str = "[global]\n", debootstrap: str = "bookworm") -> str:
        folder = tmp_path / f"recipe{len(made)}"  # a fresh folder each time, as the script has
        folder.mkdir()
        made.append(folder)
        recipe = standins.write_base_recipe(folder, pip_conf)
        return standin_recipe.recipe_hash(recipe, folder, {"debootstrap": debootstrap}, "linux/amd64", ())

    first = label()
    assert label() == first
    assert (made[0] / "rootfs" / "etc" / "pip.conf").read_text() == "[global]\n"
    assert label("[global]\ntimeout = 60\n") != first
    assert label(debootstrap="trixie") != first
    bundle.write_text("bundle 2")
    second = label()
    assert second != first
    (extra / "corporate.crt").write_text("another CA")
    assert label() != second


# ---------------------------------------------------------------- the rootfs


def make_rootfs(path: Path) -> None:
    members = {
        "./etc/ssl/certs/ca-certificates.crt": b"debian's bundle",
        "./usr/lib/python3.11/EXTERNALLY-MANAGED": b"[externally-managed]",
        "./var/lib/apt/lists/deb_dists_bookworm_InRelease": b"lists",
        "./var/cache/apt/archives/x.deb": b"deb",
        "./usr/bin/python3": b"\x7fELF",
    }
    with tarfile.open(path, "w") as out:
        for name in ("./", "./var/lib/apt/lists/", "./usr/local/bin/"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            out.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.uid, info.mode = len(data), 0, 0o755 if name.endswith("python3") else 0o644
            out.addfile(info, io.BytesIO(data))


def test_rewrite_rootfs(tmp_path):
    make_rootfs(tmp_path / "in.tar")
    overlay = tmp_path / "overlay"
    (overlay / "etc/ssl/certs").mkdir(parents=True)
    (overlay / "etc/ssl/certs/ca-certificates.crt").write_bytes(b"the host's bundle")
    (overlay / "etc/pip.conf").write_text("[global]\n")
    copied, added = standin_recipe.rewrite_rootfs(
        tmp_path / "in.tar", tmp_path / "out.tar", overlay, standin_recipe.BASE_LINKS, standin_recipe.BASE_DROP
    )
    with tarfile.open(tmp_path / "out.tar") as result:
        names = [m.name.removeprefix("./").rstrip("/") for m in result.getmembers()]
        by_name = {m.name.removeprefix("./").rstrip("/"): m for m in result.getmembers()}

        def read(name: str) -> bytes:
            f = result.extractfile(by_name[name])
            assert f is not None
            return f.read()

        assert read("etc/ssl/certs/ca-certificates.crt") == b"the host's bundle"
        assert read("etc/pip.conf") == b"[global]\n"
        assert read("usr/bin/python3") == b"\x7fELF" and by_name["usr/bin/python3"].mode == 0o755
        python = by_name["usr/local/bin/python"]
        assert python.issym() and python.linkname == "/usr/bin/python3"
        assert by_name["usr/local/bin/pip"].linkname == "/usr/bin/pip3"
        assert all(m.uid == 0 and m.gid == 0 for m in result.getmembers())
    assert "var/lib/apt/lists" in names  # the folder stays, emptied, as in the slim image
    for gone in ("EXTERNALLY-MANAGED", "InRelease", ".deb"):
        assert not any(name.endswith(gone) for name in names)
    assert names.count("etc/ssl/certs/ca-certificates.crt") == 1
    assert (copied, added) == (4, 2 + len(standin_recipe.BASE_LINKS))  # 3 folders and python3; 2 files and the links
