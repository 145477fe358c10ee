"""Chunks to vectors: model facts and limits, batching, the embedder protocol, local hashing vectors, the
OpenAI requester under the shared rate budget, the stage, publishing, and the resources."""
