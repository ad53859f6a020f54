"""Per-network adapters for tools/make_zoo_fixtures.py: where a reference forward returns something other than the
zoo's logits at input resolution (feature maps at 1/8, lists, log-softmax), a module here turns it into what the C#
network returns, in one place per network. See the make_zoo_fixtures.py docstring."""
