#!/usr/bin/env python3
"""Write the benchmark data sets of evidence/scan into a folder (not committed).

  big.pt     a PyTorch-style zip: data.pkl plus stored float32 tensor members
             whose values follow N(0, 0.02), like trained weights
  small/     10,000 small pickles (protocols 2 to 5) of plain data

Usage: python3 scripts/scan/make_bench_data.py OUTDIR [TENSOR_MIB]
TENSOR_MIB is the total tensor size in MiB (default 1024).
Nothing here loads a pickle.
"""

import os
import pickle
import random
import struct
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures  # noqa: E402  (registers the stand-in torch modules)

BLOCK_FLOATS = 1 << 20  # 4 MiB blocks


def weight_blocks(count):
    rng = random.Random(7)
    return [struct.pack(f"<{BLOCK_FLOATS}f", *(rng.gauss(0, 0.02) for _ in range(BLOCK_FLOATS))) for _ in range(count)]


def write_big(path, tensor_mib):
    blocks = weight_blocks(8)
    member_mib = 64
    members = max(1, tensor_mib // member_mib)
    data_pkl = make_fixtures.torch_data_pickle([f"layer{i}.weight" for i in range(members)])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        for index in range(members):
            with archive.open(zipfile.ZipInfo(f"archive/data/{index}", (2024, 1, 1, 0, 0, 0)), "w", force_zip64=True) as member:
                for block in range(member_mib // 4):
                    member.write(blocks[(index + block) % len(blocks)])
        archive.writestr("archive/version", b"3\n")


def write_small(folder, count=10000):
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(11)
    for index in range(count):
        obj = {
            "name": f"model-{index}",
            "metrics": {"loss": rng.random(), "accuracy": rng.random()},
            "params": [rng.random() for _ in range(rng.randint(10, 200))],
            "tags": ["prod", "v%d" % rng.randint(1, 9)],
        }
        with open(os.path.join(folder, f"p{index:05d}.pkl"), "wb") as f:
            f.write(pickle.dumps(obj, protocol=2 + index % 4))


def main():
    out = sys.argv[1]
    tensor_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    os.makedirs(out, exist_ok=True)
    write_small(os.path.join(out, "small"))
    write_big(os.path.join(out, "big.pt"), tensor_mib)


if __name__ == "__main__":
    main()
