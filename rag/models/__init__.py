"""The models: embedders (sentence-transformers, ONNX Runtime int8) and answer generators (llama.cpp,
transformers), their weights fetched and checked by ``provision``. Imports only the core modules.
"""
