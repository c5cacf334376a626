"""Regenerate the Open Inference Protocol gRPC modules from their .proto.

    python -m venv /tmp/protoc && /tmp/protoc/bin/pip install grpcio-tools==1.80.0
    /tmp/protoc/bin/python tools/generate_oip.py

grpcio-tools 1.80.0 bundles protoc 31.1, whose gencode needs protobuf >= 6.31 at run
time (pyproject pins ``protobuf>=6.31,<7``). The message classes are built in a
private descriptor pool, not protobuf's default one: Triton's client defines the same
``inference.*`` names in the default pool, and a process that imports both (a test, a
gateway) would otherwise fail with "duplicate symbol".
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from grpc_tools import protoc

SRC = Path(__file__).resolve().parent.parent / "src"
PROTO = "riskops/serving/oip/grpc_predict_v2.proto"
DEFAULT_POOL = "_descriptor_pool.Default().AddSerializedFile("
PRIVATE_POOL = ("# A private pool: Triton's client defines the same names in the default one.\n"
                "_POOL = _descriptor_pool.DescriptorPool()\n")


def main() -> int:
    status = protoc.main(["protoc", f"-I{SRC}", f"--python_out={SRC}", f"--pyi_out={SRC}",
                          f"--grpc_python_out={SRC}", str(SRC / PROTO)])
    if status != 0:
        return status
    module = SRC / PROTO.replace(".proto", "_pb2.py")
    text = module.read_text()
    if text.count(DEFAULT_POOL) != 1:
        print(f"{module}: expected one {DEFAULT_POOL!r}; protoc's output changed", file=sys.stderr)
        return 1
    text = text.replace(DEFAULT_POOL, "_POOL.AddSerializedFile(")
    text = re.sub(r"^DESCRIPTOR = ", PRIVATE_POOL + "DESCRIPTOR = ", text, count=1, flags=re.M)
    module.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
