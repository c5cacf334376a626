"""The Open Inference Protocol's gRPC messages and service, generated from
``grpc_predict_v2.proto`` by ``tools/generate_oip.py``; served by ``serving/v2_grpc.py``."""
