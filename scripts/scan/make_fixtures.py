#!/usr/bin/env python3
"""Write the model-artifact scanner fixtures into testdata/scan/.

Benign pickles come from pickle.dumps of plain data. Malicious and corrupt
pickles are assembled opcode by opcode as bytes. Zip fixtures are written with
zipfile and then patched byte by byte where a header must lie.

This script only writes bytes. Nothing here loads or unpickles a fixture, and
nothing else may: the malicious fixtures run shell commands when unpickled.
Run it from anywhere: python3 scripts/scan/make_fixtures.py
"""

import io
import os
import pickle
import pickletools
import struct
import sys
import types
import zipfile
import zlib
from collections import OrderedDict

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "testdata", "scan")

# Credential-shaped strings that belong to no account. They are built from
# pieces so that the script itself does not hold a complete token.
GITHUB_TOKEN = "ghp_" + "Zx9Qw3Er7Ty1Ui5Op2As6Df0Gh4Jk8Lz3Xc7V"
AWS_KEY_ID = "AKIA" + "Z7QW3ER5TY1UI8OP"
HIGH_ENTROPY = "q8V" + "zL2mR7xK4pW9sT1bN6cJ3hF5"


def u32(n):
    return struct.pack("<I", n)


def u64(n):
    return struct.pack("<Q", n)


def short_unicode(text):
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def binunicode(text):
    raw = text.encode()
    return b"X" + u32(len(raw)) + raw


def framed(body):
    """Return PROTO 4 followed by one FRAME that holds body exactly."""
    return b"\x80\x04\x95" + u64(len(body)) + body


def fake_module(name, **attributes):
    """Register a module object so that pickle.dumps can name its globals.

    Pickling looks a global up in sys.modules to check that it is importable;
    it never imports or runs the real package.
    """
    module = types.ModuleType(name)
    for attribute, value in attributes.items():
        if callable(value):
            value.__module__ = name
            value.__qualname__ = attribute
            value.__name__ = attribute
        setattr(module, attribute, value)
    sys.modules[name] = module
    return module


def _rebuild_tensor_v2(*args):
    raise RuntimeError("stand-in for pickling only")


class FloatStorage:
    pass


fake_module("torch")
fake_module("torch._utils", _rebuild_tensor_v2=_rebuild_tensor_v2)
FloatStorage.__module__ = "torch"
sys.modules["torch"].FloatStorage = FloatStorage


class Tensor:
    """Pickles like a CPU float tensor: _rebuild_tensor_v2 over a persistent storage."""

    def __init__(self, key, numel):
        self.key, self.numel = key, numel

    def __reduce__(self):
        storage = StorageRef(self.key, self.numel)
        return (_rebuild_tensor_v2, (storage, 0, (self.numel,), (1,), False, OrderedDict()))


class StorageRef:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            return ("storage", FloatStorage, obj.key, "cpu", obj.numel)
        return None


def torch_data_pickle(tensors):
    buffer = io.BytesIO()
    TorchPickler(buffer, protocol=2).dump(OrderedDict((name, Tensor(str(i), 4)) for i, name in enumerate(tensors)))
    return buffer.getvalue()


TENSOR_BYTES = struct.pack("<4f", 0.5, -1.25, 2.0, 3.75)


def torch_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            archive.writestr(info, data)


def torch_members(data_pkl=None, root="archive"):
    members = []
    if data_pkl is not None:
        members.append((f"{root}/data.pkl", data_pkl))
    members += [
        (f"{root}/byteorder", b"little"),
        (f"{root}/data/0", TENSOR_BYTES),
        (f"{root}/version", b"3\n"),
        (f"{root}/.data/serialization_id", b"1234567890123456789012345678901234567890"),
    ]
    return members


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def patch(name, old, new, count=-1):
    path = os.path.join(OUT, name)
    with open(path, "rb") as f:
        data = f.read()
    assert old in data, (name, old)
    with open(path, "wb") as f:
        f.write(data.replace(old, new, count))


def benign_pickles():
    data = OrderedDict(name="model", weights=[0.5, 2.25], shape=(3, 4), tags={"a"}, blob=b"\x00\x01")
    for protocol in range(6):
        write(f"benign_proto{protocol}.pkl", pickle.dumps(data, protocol=protocol))


def malicious_pickles():
    # GLOBAL os.system, protocol 0 and 2.
    write("evil_global_proto0.pkl", b"cos\nsystem\n(S'echo pwned'\ntR.")
    write("evil_global_proto2.pkl", b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.")
    # STACK_GLOBAL whose module and name come back from the memo via BINGET.
    body = (short_unicode("os") + b"\x94" + b"0" + short_unicode("system") + b"\x94" + b"0"
            + b"h\x00h\x01\x93" + short_unicode("echo pwned") + b"\x85R.")
    write("evil_stack_global_memo.pkl", framed(body))
    # Protocol 5: LONG_BINPUT/LONG_BINGET, BYTEARRAY8 and READONLY_BUFFER around builtins.exec.
    body = (b"\x96" + u64(3) + b"abc" + b"\x98" + b"0"
            + short_unicode("builtins") + b"r" + u32(7) + short_unicode("exec") + b"r" + u32(9)
            + b"\x93" + binunicode("print(1)") + b"\x85R.")
    write("evil_stack_global_proto5.pkl", b"\x80\x05" + body)
    # INST subprocess.Popen, protocol 0.
    write("evil_inst_subprocess.pkl", b"(S'id'\nisubprocess\nPopen\np0\n.")
    # OBJ with builtins.eval as the class, protocol 1.
    write("evil_obj_eval.pkl", b"(cbuiltins\neval\nS'1+1'\no.")
    # A PROTO in the middle of the stream, then posix.system.
    write("evil_protocol_bump.pkl", b"\x80\x02N0\x80\x04cposix\nsystem\nX\x02\x00\x00\x00id\x85R.")
    # A dotted protocol 4 name that walks from an allowed module to os.system.
    write("evil_dotted_name.pkl", framed(short_unicode("collections") + short_unicode("os.system") + b"\x93"
                                         + short_unicode("id") + b"\x85R."))


def corrupt_pickles():
    write("truncated.pkl", b"\x80\x04" + short_unicode("abc")[:3])
    write("unknown_opcode.pkl", b"\x80\x02N\xff.")
    write("memo_missing.pkl", b"\x80\x02h\x05.")
    write("missing_stop.pkl", pickle.dumps([1, 2, 3], protocol=2)[:-1])
    write("stack_underflow.pkl", b"\x80\x02R.")
    write("data_after_stop.pkl", pickle.dumps([1, 2], protocol=2) + b"not a pickle at all, just bytes")
    write("second_pickle.pkl", pickle.dumps([1], protocol=2) + b"\x80\x02cos\nsystem\n.")
    # The frame declares 20 bytes but holds 12.
    body = short_unicode("x") + b"0" + b"N" + b"."
    write("frame_mismatch.pkl", b"\x80\x04\x95" + u64(20) + body + b"\x95" + u64(1) + b"N")


def secret_pickles():
    write("secret_github_token.pkl", pickle.dumps({"note": "deploy with " + GITHUB_TOKEN}, protocol=4))
    write("secret_dict_entry.pkl", pickle.dumps({"api_key": HIGH_ENTROPY}, protocol=2))
    # Protocol 0 UNICODE with \u escapes: the raw bytes never contain the key id.
    escaped = "".join("\\u%04x" % ord(c) for c in AWS_KEY_ID[:4]) + AWS_KEY_ID[4:]
    write("secret_escaped_proto0.pkl", b"V" + escaped.encode() + b"\np0\n.")


def joblib_like():
    """A joblib 1.2+ style file: a dict whose value is a NumpyArrayWrapper,
    followed inside the stream by one padding-length byte, padding and the
    raw float64 array bytes, then the rest of the pickle."""
    dtype = (b"cnumpy\ndtype\n" + binunicode("f8") + b"\x89\x88\x87R"
             + b"(K\x03" + binunicode("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    state = (b"}(" + binunicode("subclass") + b"cnumpy\nndarray\n" + binunicode("shape") + b"K\x02K\x03\x86"
             + binunicode("order") + binunicode("C") + binunicode("dtype") + dtype
             + binunicode("allow_mmap") + b"\x88" + binunicode("numpy_array_alignment_bytes") + b"K\x10ub")
    head = (b"\x80\x02}" + binunicode("coef") + b"cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81" + state)
    padding = 16 - ((len(head) + 1) % 16)
    # The array holds bytes that look like opcodes ("cos\nsystem\n") to show that it is skipped.
    array = b"cos\nsystem\n" + b"\x00" * 37
    write("joblib_like.joblib", head + bytes([padding]) + b"\xff" * padding + array + b"s.")


def legacy_torch():
    magic = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b"."
    version = pickle.dumps(1001, protocol=2)
    sys_info = pickle.dumps({"protocol_version": 1001, "little_endian": True,
                             "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2)
    main = (b"\x80\x02" + b"ctorch._utils\n_rebuild_tensor_v2\n"
            + b"((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ"
            + b"K\x00K\x04\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR.")
    keys = pickle.dumps(["0"], protocol=2)
    write("legacy_torch.pt", magic + version + sys_info + main + keys + u64(4) + TENSOR_BYTES)


def zips():
    torch_zip(os.path.join(OUT, "torch_benign.pt"), torch_members(torch_data_pickle(["weight", "bias"])))
    evil = b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00idq\x00\x85R."
    torch_zip(os.path.join(OUT, "torch_evil.pt"), torch_members(evil))

    torch_zip(os.path.join(OUT, "zip_bad_crc.pt"), torch_members(torch_data_pickle(["w"])))
    crc = struct.pack("<I", zlib.crc32(TENSOR_BYTES))
    patch("zip_bad_crc.pt", crc, struct.pack("<I", zlib.crc32(TENSOR_BYTES) ^ 1))

    torch_zip(os.path.join(OUT, "zip_encrypted_flag.pt"), torch_members(torch_data_pickle(["w"])))
    # Set the encryption bit of archive/byteorder in the local and central headers.
    path = os.path.join(OUT, "zip_encrypted_flag.pt")
    data = bytearray(open(path, "rb").read())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while True:
            at = data.find(signature, start)
            if at < 0:
                break
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + 17] == b"archive/byteorder":
                data[at + flag_at] |= 1
            start = at + 4
    open(path, "wb").write(bytes(data))

    torch_zip(os.path.join(OUT, "zip_name_mismatch.pt"), torch_members(torch_data_pickle(["w"])))
    path = os.path.join(OUT, "zip_name_mismatch.pt")
    data = open(path, "rb").read()
    first = data.find(b"archive/data.pkl")  # the first occurrence is the local header
    data = data[:first] + b"archive/data.pkx" + data[first + 16:]
    open(path, "wb").write(data)

    with zipfile.ZipFile(os.path.join(OUT, "zip_duplicate_names.pt"), "w") as archive:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, member in torch_members(torch_data_pickle(["w"])):
                archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), member)
            archive.writestr(zipfile.ZipInfo("archive/data.pkl", (2024, 1, 1, 0, 0, 0)), evil)

    notes = b"# deployment notes\nregion = eu-west-1\naws_access_key_id = " + AWS_KEY_ID.encode() + b"\n"
    torch_zip(os.path.join(OUT, "zip_deflated_aws_key.zip"), [("notes/config.txt", notes * 3)], zipfile.ZIP_DEFLATED)

    torch_zip(os.path.join(OUT, "zip_missing_data_pkl.pt"), torch_members(None))
    torch_zip(os.path.join(OUT, "zip_multiple_pkl.pt"),
              torch_members(torch_data_pickle(["w"])) + [("archive/extra.pkl", b"\x80\x02cbuiltins\nexec\n.")])
    torch_zip(os.path.join(OUT, "zip_unsafe_names.zip"), [("../escape.txt", b"x"), ("dir\\file.txt", b"y"), ("/abs.txt", b"z")])
    with zipfile.ZipFile(os.path.join(OUT, "zip_bomb.zip"), "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("zeros.bin", (2024, 1, 1, 0, 0, 0)), b"\x00" * (4 << 20), zipfile.ZIP_DEFLATED)
    zip_overlap()


def zip_overlap():
    """Two central directory entries that point at the same local header."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("a.txt", (2024, 1, 1, 0, 0, 0)), b"shared bytes")
    data = buffer.getvalue()
    end = data.rfind(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack("<II", data[end + 12:end + 20])
    record = data[cd_offset:cd_offset + cd_size]
    twin = record.replace(b"a.txt", b"b.txt")
    eocd = bytearray(data[end:])
    struct.pack_into("<HHI", eocd, 8, 2, 2, cd_size * 2)
    write("zip_overlap.zip", data[:cd_offset] + record + twin + bytes(eocd))


def secrets_text():
    pem = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA7example\n-----END RSA PRIVATE KEY-----\n"
    text = ("# service configuration\n"
            f"aws_access_key_id = {AWS_KEY_ID}\n"
            f"client_secret = \"{HIGH_ENTROPY}\"\n"
            f"{pem}"
            "slack_url = https://hooks.slack.com/services/" + "T0123ABCD/B0456EFGH/" + "abcdEFGHijklMNOPqrstUVWX\n"
            "password = \"changeme\"\n")
    write("secrets.txt", text.encode())
    write("plain_data.bin", bytes((i * 37 + 11) % 256 for i in range(4096)))


def print_globals():
    """Print pickletools' offsets of the import opcodes, to cross-check the Go tests."""
    for name in sorted(os.listdir(OUT)):
        if not name.endswith(".pkl"):
            continue
        data = open(os.path.join(OUT, name), "rb").read()
        try:
            ops = [(op.name, pos, arg) for op, arg, pos in pickletools.genops(data)
                   if op.name in ("GLOBAL", "INST", "STACK_GLOBAL")]
        except Exception as error:  # corrupt fixtures stop pickletools too
            ops = [("error", 0, str(error))]
        print(f"{name}: {ops}")


def main():
    os.makedirs(OUT, exist_ok=True)
    benign_pickles()
    malicious_pickles()
    corrupt_pickles()
    secret_pickles()
    joblib_like()
    legacy_torch()
    zips()
    secrets_text()
    if "-v" in sys.argv:
        print_globals()


if __name__ == "__main__":
    main()
