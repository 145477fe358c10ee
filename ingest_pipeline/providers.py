"""The names of the parsers and embedders, which also name their circuits, pools and embedding sets."""

# The services called over the network.
OPENAI, LLAMAPARSE = "openai", "llamaparse"
# Their offline stand-ins, the defaults.
LOCAL, HASHING = "local", "hashing"
PARSERS = (LOCAL, LLAMAPARSE)
EMBEDDERS = (HASHING, OPENAI)
