"""``atomic_write``: what a replace keeps and what it refuses (reliability.md scenarios 49-52).

A replace writes through a symlink to its target, keeps the old file's mode, owner and group,
refuses a read-only file and anything that is not a regular file, and reports a symlink loop;
each refusal leaves the file and its folder as they were.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from nb2prod.atomic import TEMP_SUFFIX, PendingWrite, atomic_write, atomic_write_all
from nb2prod.errors import WriteError

posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo") or not hasattr(os, "chown"), reason="POSIX files only")


def leftovers(folder: Path) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(TEMP_SUFFIX)]


def test_scenario_49_symlink_written_through_to_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real" / "nb.ipynb"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.ipynb"
    link.symlink_to(Path("real") / "nb.ipynb")  # relative, as `ln -s` makes it
    atomic_write(link, b"new")
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "nb.ipynb"), "the link stays a link"
    assert real.read_bytes() == b"new", "its target has the new content"
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []


def test_scenario_49_chain_of_links_reaches_the_file(tmp_path: Path) -> None:
    real = tmp_path / "nb.ipynb"
    real.write_bytes(b"old")
    (tmp_path / "one.ipynb").symlink_to(real)
    (tmp_path / "two.ipynb").symlink_to(tmp_path / "one.ipynb")
    atomic_write(tmp_path / "two.ipynb", b"new")
    assert real.read_bytes() == b"new"
    assert (tmp_path / "one.ipynb").is_symlink() and (tmp_path / "two.ipynb").is_symlink()


def test_scenario_49_link_in_several_writes(tmp_path: Path) -> None:
    real = tmp_path / "a.py"
    real.write_bytes(b"old")
    (tmp_path / "link.py").symlink_to(real)
    atomic_write_all([PendingWrite(tmp_path / "link.py", b"new"), PendingWrite(tmp_path / "b.py", b"b")])
    assert (tmp_path / "link.py").is_symlink() and real.read_bytes() == b"new" and (tmp_path / "b.py").read_bytes() == b"b"


def test_scenario_52_symlink_loop_is_a_write_error(tmp_path: Path) -> None:
    (tmp_path / "a.ipynb").symlink_to(tmp_path / "b.ipynb")
    (tmp_path / "b.ipynb").symlink_to(tmp_path / "a.ipynb")
    with pytest.raises(WriteError, match="symbolic link loop") as raised:
        atomic_write(tmp_path / "a.ipynb", b"new", display_path="a.ipynb")
    assert raised.value.path == "a.ipynb"
    assert (tmp_path / "a.ipynb").is_symlink() and leftovers(tmp_path) == []


def test_scenario_50_read_only_file_is_refused_even_for_root(tmp_path: Path) -> None:
    """No write bit at all: refused whoever runs it (root could write it; an editor would not)."""
    path = tmp_path / "nb.ipynb"
    path.write_bytes(b"old")
    path.chmod(0o444)
    with pytest.raises(WriteError, match="read-only") as raised:
        atomic_write(path, b"new", display_path="nb.ipynb")
    assert "chmod" in (raised.value.hint or "")
    assert path.read_bytes() == b"old" and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert leftovers(tmp_path) == []


def test_scenario_50_file_the_user_may_not_write_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writable by its owner but not by this user (another user's 0644 file in a shared folder).

    The folder lets the user replace it; the file's permissions say no. ``os.access`` answers as
    it would for that user (root is always allowed, so the answer is simulated).
    """
    path = tmp_path / "nb.ipynb"
    path.write_bytes(b"old")
    path.chmod(0o644)
    real_access = os.access

    def access(target, mode, **kwargs):
        if Path(target) == path and mode == os.W_OK:
            return False
        return real_access(target, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(WriteError, match="read-only"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_new_file_is_written(tmp_path: Path) -> None:
    atomic_write(tmp_path / "new.json", b"{}")
    assert (tmp_path / "new.json").read_bytes() == b"{}"


@posix_only
def test_scenario_50_owner_group_and_mode_kept(tmp_path: Path) -> None:
    """The replaced file keeps the old one's owner, group and mode, set-id bits included."""
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another owner to set the test up")
    path = tmp_path / "nb.ipynb"
    path.write_bytes(b"old")
    os.chown(path, 4321, 8765)
    path.chmod(0o2664)  # group-writable, setgid: a chown after the chmod would clear the bit
    atomic_write(path, b"new")
    after = path.stat()
    assert path.read_bytes() == b"new"
    assert (after.st_uid, after.st_gid) == (4321, 8765)
    assert stat.S_IMODE(after.st_mode) == 0o2664


@posix_only
def test_scenario_50_owner_that_cannot_be_kept_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user who may write another user's file but may not give a new file to that user: refused, not re-owned."""
    path = tmp_path / "nb.ipynb"
    path.write_bytes(b"old")
    real_stat = os.stat
    me = os.geteuid()

    def stat_as_if_owned_by_someone_else(target, *args, **kwargs):
        result = real_stat(target, *args, **kwargs)
        if Path(target) == path:
            fields = list(result)
            fields[stat.ST_UID] = me + 1
            return os.stat_result(fields)
        return result

    def chown(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "stat", stat_as_if_owned_by_someone_else)
    monkeypatch.setattr(os, "chown", chown)
    with pytest.raises(WriteError, match="owner and group"):
        atomic_write(path, b"new")
    monkeypatch.undo()
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []


@posix_only
def test_scenario_51_fifo_is_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.ipynb"
    os.mkfifo(fifo)
    with pytest.raises(WriteError, match="not a regular file"):
        atomic_write(fifo, b"new")
    assert stat.S_ISFIFO(fifo.lstat().st_mode), "the FIFO is still there"
    assert leftovers(tmp_path) == []


# --- extended attributes and POSIX ACLs ----------------------------------------------------------


def _user_xattrs_or_skip(folder: Path) -> None:
    """Skip (saying why) where the platform or the file system of ``folder`` has no user extended attributes."""
    if not hasattr(os, "setxattr"):
        pytest.skip("no os.setxattr on this platform")
    probe = folder / "probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.nb2prod_probe", b"1")
    except OSError as exc:
        pytest.skip(f"the temporary folder's file system refuses user extended attributes ({exc.strerror})")
    finally:
        probe.unlink()


def test_a_replace_keeps_the_files_extended_attributes(tmp_path: Path) -> None:
    _user_xattrs_or_skip(tmp_path)
    target = tmp_path / "nb.ipynb"
    target.write_bytes(b"old")
    os.setxattr(target, "user.nb2prod_test", b"kept value")
    os.setxattr(target, "user.nb2prod_other", b"")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.getxattr(target, "user.nb2prod_test") == b"kept value"
    assert os.getxattr(target, "user.nb2prod_other") == b""
    assert leftovers(tmp_path) == []


def _acl(entries: list[tuple[int, int, int]]) -> bytes:
    """The ``system.posix_acl_access`` value Linux stores: version 2, then (tag, permissions, id) per entry."""
    import struct

    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, ident) for tag, perm, ident in entries)


def test_a_replace_keeps_a_posix_acl(tmp_path: Path) -> None:
    _user_xattrs_or_skip(tmp_path)
    target = tmp_path / "nb.ipynb"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    undefined = 0xFFFFFFFF
    # owner rw-, user 4242 rw-, group r--, mask rw-, other ---: what `setfacl -m u:4242:rw` makes of mode 640
    acl = _acl([(0x01, 6, undefined), (0x02, 6, 4242), (0x04, 4, undefined), (0x10, 6, undefined), (0x20, 0, undefined)])
    try:
        os.setxattr(target, "system.posix_acl_access", acl)
    except OSError as exc:
        pytest.skip(f"the temporary folder's file system refuses POSIX ACLs ({exc.strerror})")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.getxattr(target, "system.posix_acl_access") == acl, "user 4242 keeps its access"


def test_an_attribute_the_new_file_refuses_does_not_fail_the_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    _user_xattrs_or_skip(tmp_path)
    target = tmp_path / "nb.ipynb"
    target.write_bytes(b"old")
    os.setxattr(target, "user.refused", b"x")
    os.setxattr(target, "user.kept", b"y")
    real = os.setxattr

    def refuse_one(path: object, name: str, value: bytes, *args: object) -> None:
        if name == "user.refused":
            raise OSError(errno.ENOTSUP, os.strerror(errno.ENOTSUP))
        real(path, name, value, *args)

    monkeypatch.setattr(os, "setxattr", refuse_one)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listxattr(target) == ["user.kept"]


# --- hard links -----------------------------------------------------------------------------------


def test_a_hard_linked_file_is_written_in_place_and_every_name_sees_the_new_content(tmp_path: Path) -> None:
    target = tmp_path / "nb.ipynb"
    target.write_bytes(b"old content")
    other = tmp_path / "shared" / "same.ipynb"
    other.parent.mkdir()
    os.link(target, other)
    inode = target.stat().st_ino
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and other.read_bytes() == b"new", "the link is kept"
    assert target.stat().st_ino == inode == other.stat().st_ino and target.stat().st_nlink == 2
    atomic_write(other, b"much longer new content than before")
    assert target.read_bytes() == b"much longer new content than before"
    assert leftovers(tmp_path) == [] and leftovers(other.parent) == []


def test_a_hard_linked_file_is_left_untouched_when_a_check_refuses(tmp_path: Path) -> None:
    target = tmp_path / "nb.ipynb"
    target.write_bytes(b"old")
    os.link(target, tmp_path / "twin.ipynb")

    def refuse() -> None:
        raise WriteError("changed meanwhile", path="nb.ipynb")

    with pytest.raises(WriteError, match="changed meanwhile"):
        atomic_write(target, b"new", check=refuse)
    assert target.read_bytes() == b"old" and (tmp_path / "twin.ipynb").read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_a_hard_linked_file_that_cannot_grow_is_left_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    if not hasattr(os, "posix_fallocate"):
        pytest.skip("no posix_fallocate on this platform")
    target = tmp_path / "nb.ipynb"
    target.write_bytes(b"old")
    os.link(target, tmp_path / "twin.ipynb")

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(WriteError, match="No space left on device"):
        atomic_write(target, b"a longer new content")
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_failed_in_place_write_keeps_the_new_content_and_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    target = tmp_path / "nb.ipynb"
    target.write_bytes(b"old")
    os.link(target, tmp_path / "twin.ipynb")

    def broken(*args: object) -> int:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "pwrite", broken)
    with pytest.raises(WriteError) as caught:
        atomic_write(target, b"new")
    kept = leftovers(tmp_path)
    assert len(kept) == 1 and (tmp_path / kept[0]).read_bytes() == b"new"
    assert kept[0] in (caught.value.hint or "") and "partly written" in caught.value.message
