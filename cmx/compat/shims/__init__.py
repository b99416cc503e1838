"""Stand-ins for cmind and mlc, put on sys.path (last) by cmx.compat.hooks."""
