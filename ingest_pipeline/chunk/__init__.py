"""Clean text to chunks: blocks, then packing, then the stage and its resource."""
